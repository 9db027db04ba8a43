"""One live connection per charger: a charger that connects again replaces its
old socket, in this process or another."""

import pytest
from channels.layers import get_channel_layer

from ocpp_app import consumers
from ocpp_app.tests.helpers import (
    PASSWORD,
    TIMEOUT,
    acreate_charger,
    aget_charger,
    basic,
    charger_socket,
    communicator,
    heartbeat_still_answered,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_closes_the_old_connection_when_the_same_charger_connects_again():
    first = communicator()
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    closing = await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    await second.disconnect()
    assert closing["type"] == "websocket.close"


async def test_it_keeps_the_new_connection_registered_when_the_old_one_closes():
    first = communicator()
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    new_connection_id = consumers.LIVE["CP1"].connection_id
    await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    stored = await aget_charger()
    still_live = consumers.LIVE.get("CP1")
    answered = await heartbeat_still_answered(second)
    await second.disconnect()
    assert (stored.connected, stored.connection_id) == (True, new_connection_id)
    assert still_live is not None and still_live.connection_id == new_connection_id
    assert answered


async def test_it_closes_a_connection_replaced_in_another_process():
    async with charger_socket() as comm:
        await get_channel_layer().send(
            consumers.LIVE["CP1"].channel_name,
            {"type": "ocpp.replaced", "charger_id": "CP1", "connection_id": "elsewhere"},
        )
        closing = await comm.receive_output(timeout=TIMEOUT)
    assert closing["type"] == "websocket.close"


async def test_it_ignores_a_replacement_notice_about_itself():
    async with charger_socket() as comm:
        live = consumers.LIVE["CP1"]
        await get_channel_layer().send(
            live.channel_name, {"type": "ocpp.replaced", "charger_id": "CP1", "connection_id": live.connection_id}
        )
        assert await heartbeat_still_answered(comm)


async def test_it_keeps_the_other_connection_when_a_replacement_fails_authentication(fast_hasher):
    await acreate_charger(password=PASSWORD)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as first:
        intruder = communicator(headers=basic("CP1", "wrong-password-wrong"))
        refused, _ = await intruder.connect(timeout=TIMEOUT)
        await intruder.disconnect()
        assert refused is False
        assert await heartbeat_still_answered(first)
        assert (await aget_charger()).connected is True
