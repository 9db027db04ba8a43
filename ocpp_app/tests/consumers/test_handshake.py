"""The WebSocket handshake: which charger a path names, which subprotocol is
selected, and what is refused before the upgrade."""

import pytest

from ocpp_app.models import (
    Charger,
)
from ocpp_app.tests.helpers import (
    TIMEOUT,
    acount,
    aget_charger,
    charger_socket,
    communicator,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_accepts_a_charger_and_selects_ocpp16():
    comm = communicator("/ocpp/CP1")
    assert await comm.connect(timeout=TIMEOUT) == (True, "ocpp1.6")
    await comm.disconnect()


async def test_it_registers_the_charger_as_connected_with_its_path():
    async with charger_socket("/ocpp16/CP001"):
        stored = await aget_charger("CP001")
        assert (stored.connected, stored.last_path, stored.subprotocol) == (True, "/ocpp16/CP001", "ocpp1.6")


@pytest.mark.parametrize("path", ["/ocpp/CP1", "/CP1/", "/foo/bar/CP1/", "/?chargePointId=CP1", "/ocpp/X?cid=CP1"])
async def test_it_registers_the_charger_named_by_path_or_query(path):
    async with charger_socket(path):
        assert (await aget_charger("CP1")).connected


async def test_it_selects_ocpp16_among_other_offered_protocols():
    comm = communicator(subprotocols=["ocpp2.0.1", "ocpp1.6", "ocpp1.5"])
    assert await comm.connect(timeout=TIMEOUT) == (True, "ocpp1.6")
    await comm.disconnect()


async def test_it_accepts_a_charger_offering_no_subprotocol():
    comm = communicator(subprotocols=[])
    assert await comm.connect(timeout=TIMEOUT) == (True, None)
    await comm.disconnect()


async def test_it_refuses_a_charger_offering_only_unknown_protocols_before_the_upgrade():
    comm = communicator(subprotocols=["ocpp2.0.1"])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_registers_no_charger_offering_only_unknown_protocols():
    comm = communicator(subprotocols=["ocpp2.0.1"])
    await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert await acount(Charger) == 0


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/ocpp/CP/1", b"/ocpp/CP%2F1"),
        ("/ocpp/..", b"/ocpp/%2E%2E"),
        ("/ocpp/" + "x" * 49, ("/ocpp/" + "x" * 49).encode()),
        ("/", b"/"),
        ("/ocpp/CP\x01", b"/ocpp/CP%01"),
    ],
    ids=["encoded-slash", "dotdot", "too-long", "no-id", "control"],
)
async def test_it_refuses_a_bad_charger_id_before_the_upgrade(path, raw_path):
    comm = communicator(path, raw_path=raw_path)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert (connected, await acount(Charger)) == (False, 0)
