"""One live connection per charger: a charger that connects again replaces its
old socket, in this process or another."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from ocpp_app import consumers
from ocpp_app.models import ChargerEvent
from ocpp_app.tests.helpers import (
    PASSWORD,
    TIMEOUT,
    acreate_charger,
    aget_charger,
    basic,
    charger_socket,
    communicator,
    heartbeat_still_answered,
    with_ping,
)

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def aevents(**filters) -> list[ChargerEvent]:
    return list(ChargerEvent.objects.filter(**filters))


async def test_it_closes_the_old_connection_when_the_same_charger_connects_again(fast_hasher):
    await acreate_charger(password=PASSWORD)
    first = communicator(headers=basic("CP1", PASSWORD))
    await first.connect(timeout=TIMEOUT)
    second = communicator(headers=basic("CP1", PASSWORD))
    await second.connect(timeout=TIMEOUT)
    closing = await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    await second.disconnect()
    assert closing["type"] == "websocket.close"


async def test_it_keeps_the_new_connection_registered_when_the_old_one_closes():
    first = with_ping(communicator(), answers=False)
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


async def test_a_newcomer_without_credentials_never_replaces_a_live_connection():
    async with charger_socket() as first:
        with_ping(first, answers=True)
        intruder = communicator()
        refused, _ = await intruder.connect(timeout=TIMEOUT)
        await intruder.disconnect()
        assert refused is False
        assert await heartbeat_still_answered(first)
        events = await aevents(kind="security")
    assert [(event.status, "cannot replace it" in event.payload["reason"]) for event in events] == [
        ("TakeoverRefused", True)
    ]


async def test_a_newcomer_without_credentials_replaces_a_socket_that_no_longer_answers():
    first = with_ping(communicator(), answers=False)
    await first.connect(timeout=TIMEOUT)
    async with charger_socket() as second:
        closing = await first.receive_output(timeout=TIMEOUT)
        assert await heartbeat_still_answered(second)
    await first.disconnect()
    assert closing["type"] == "websocket.close"
    assert await aevents(kind="security") == []


async def test_it_asks_the_process_holding_the_old_socket_whether_it_still_answers():
    """The database names another process's mailbox: a live answer from there
    keeps the newcomer out."""
    layer = get_channel_layer()
    # A channel as another process's mailbox has one (channels_redis serves
    # one process-channel prefix per layer: an invented one starves there).
    elsewhere = await layer.new_channel()
    await acreate_charger(connected=True, channel_name=elsewhere)

    async def other_process():
        probe = await layer.receive(elsewhere)
        await layer.send(probe["reply_channel"], {"type": "ocpp.probed", "alive": True})
        return probe

    answering = asyncio.create_task(other_process())
    intruder = communicator()
    refused, _ = await intruder.connect(timeout=TIMEOUT)
    await intruder.disconnect()
    probe = await answering
    assert refused is False
    assert (probe["type"], probe["charger_id"]) == ("ocpp.probe", "CP1")
    assert (await aget_charger()).channel_name == elsewhere


async def test_it_replaces_a_connection_whose_process_never_answers(settings):
    settings.OCPP_TAKEOVER_PING_TIMEOUT = 0.1
    await acreate_charger(connected=True, channel_name="gone!abc")
    async with charger_socket():
        stored = await aget_charger()
        assert stored.channel_name == consumers.LIVE["CP1"].channel_name


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


async def test_no_takeover_without_credentials_while_the_old_sockets_node_cannot_be_asked(monkeypatch, caplog):
    """The channel layer is away (a Redis restart): whether the old socket
    still answers cannot be told, so the newcomer is refused (503, try
    again) rather than let in on a guess."""
    layer = get_channel_layer()
    elsewhere = await layer.new_channel()
    await acreate_charger(connected=True, channel_name=elsewhere)

    async def unreachable(channel, message):
        raise ConnectionError("Error 111 connecting to the channel layer")

    monkeypatch.setattr(layer, "send", unreachable)
    intruder = communicator()
    with caplog.at_level("WARNING"):
        refused, _ = await intruder.connect(timeout=TIMEOUT)
    await intruder.disconnect()
    assert refused is False
    assert "the node holding the live connection cannot be asked now (503)" in caplog.text
    stored = await aget_charger()
    assert (stored.connected, stored.channel_name) == (True, elsewhere)  # the live connection stays
