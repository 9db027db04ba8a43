"""The process's one channel: every charger socket of the process is reached
through it, by charger id."""

import asyncio
from unittest import mock

import pytest
from channels.layers import get_channel_layer

from ocpp_app import consumers
from ocpp_app.runtime.mailbox import Mailbox
from ocpp_app.tests.helpers import TIMEOUT, answer_next_call, charger_socket, operator_call

pytestmark = pytest.mark.django_db(transaction=True)


async def test_every_socket_of_the_process_shares_one_channel():
    async with charger_socket("/ocpp/CP1"), charger_socket("/ocpp/CP2"):
        assert consumers.LIVE["CP1"].channel_name == consumers.LIVE["CP2"].channel_name != ""


async def test_a_call_reaches_the_socket_of_its_charger():
    async with charger_socket("/ocpp/CP1"), charger_socket("/ocpp/CP2") as second:
        reply_channel = await operator_call("Reset", {"type": "Soft"}, charger_id="CP2")
        await answer_next_call(second, lambda message_id: [3, message_id, {"status": "Accepted"}])
        reply = await asyncio.wait_for(get_channel_layer().receive(reply_channel), TIMEOUT)
    assert (reply["status"], reply["payload"]) == ("ok", {"status": "Accepted"})


async def test_a_call_for_a_charger_not_held_here_is_answered_not_connected_at_once():
    async with charger_socket("/ocpp/CP1"):
        layer = get_channel_layer()
        reply_channel = await layer.new_channel()
        await layer.send(
            consumers.LIVE["CP1"].channel_name,
            {"type": "ocpp.call", "charger_id": "GONE", "request_id": "r9", "reply_channel": reply_channel},
        )
        reply = await asyncio.wait_for(layer.receive(reply_channel), TIMEOUT)
    assert (reply["request_id"], reply["status"]) == ("r9", "not_connected")


async def test_the_receiver_survives_a_channel_layer_outage(monkeypatch):
    layer = get_channel_layer()
    real_receive = layer.receive
    failures = iter([ConnectionError("redis restarting")])

    async def flaky_receive(name):
        for error in failures:
            raise error
        return await real_receive(name)

    monkeypatch.setattr(layer, "receive", flaky_receive)
    delivered = asyncio.get_running_loop().create_future()

    async def deliver(message):
        delivered.set_result(message)

    mailbox = Mailbox()
    name = await mailbox.address(deliver)
    await layer.send(name, {"type": "ocpp.replaced", "charger_id": "X"})
    assert (await asyncio.wait_for(delivered, TIMEOUT))["charger_id"] == "X"


@pytest.mark.redis
async def test_on_redis_a_reply_channel_is_read_while_the_mailbox_receives(require_redis):
    """channels_redis reads a process's channels through one list per prefix,
    and the receive() that holds its lock reads only its own: a mailbox on
    another prefix than the reply channels would starve every reply."""
    from channels_redis.core import RedisChannelLayer

    layer = RedisChannelLayer(hosts=[require_redis])
    delivered = []

    async def deliver(message):
        delivered.append(message)

    mailbox = Mailbox()
    with mock.patch("ocpp_app.runtime.mailbox.get_channel_layer", return_value=layer):
        name = await mailbox.address(deliver)
    await asyncio.sleep(0.2)  # the mailbox's receive() now holds the layer's receive lock
    reply_channel = await layer.new_channel()
    await layer.send(reply_channel, {"type": "ocpp.reply", "status": "ok"})
    try:
        assert (await asyncio.wait_for(layer.receive(reply_channel), TIMEOUT))["status"] == "ok"
        await layer.send(name, {"type": "ocpp.replaced", "charger_id": "X"})
        for _ in range(50):
            if delivered:
                break
            await asyncio.sleep(0.05)
        assert delivered and delivered[0]["charger_id"] == "X"
    finally:
        mailbox._task.cancel()
        await layer.flush()
