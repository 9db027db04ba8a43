"""Operator CALLs through the channel layer to the consumer holding the socket,
and the library's dataclass API on top of call_action."""

import asyncio
import json

import pytest
from channels.layers import get_channel_layer

from ocpp_app import consumers
from ocpp_app.tests.helpers import (
    TIMEOUT,
    charger_socket,
    communicator,
    heartbeat_still_answered,
    operator_call,
    reply,
    strings,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_relays_an_operator_call_and_the_chargers_answer():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Soft"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (sent[0], sent[2], sent[3]) == (2, "Reset", {"type": "Soft"})
    assert (answer["request_id"], answer["status"], answer["payload"]) == ("r1", "ok", {"status": "Accepted"})


async def test_it_relays_a_chargers_callerror_answer():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([4, sent[1], "NotSupported", "no", {}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (answer["status"], answer["error_code"]) == ("call_error", "NotSupported")


async def test_it_reports_an_invalid_answer_to_an_operator_call():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Maybe"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert answer["status"] == "invalid_response"


async def test_it_refuses_an_operator_call_that_fails_the_schema_without_sending_it():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Gentle"})
        answer = await get_channel_layer().receive(reply_channel)
        assert await heartbeat_still_answered(comm)
    assert (answer["status"], answer["error_code"]) == ("invalid", "PropertyConstraintViolation")


async def test_it_reports_a_timeout_of_an_operator_call():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"}, timeout=0.05)
        await reply(comm)
        answer = await get_channel_layer().receive(reply_channel)
    assert answer["status"] == "timeout"


async def test_it_answers_the_chargers_calls_while_an_operator_call_is_open():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        answered = await heartbeat_still_answered(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (answered, answer["status"]) == (True, "ok")


async def test_it_reports_not_connected_when_the_charger_leaves_during_an_operator_call():
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    reply_channel = await operator_call("Reset", {"type": "Hard"})
    await reply(comm)
    await comm.disconnect()
    answer = await asyncio.wait_for(get_channel_layer().receive(reply_channel), TIMEOUT)
    assert answer["status"] == "not_connected"


async def test_it_relays_the_answer_of_a_charger_that_leaves_right_after_it():
    """A Reset is answered Accepted and the charger goes away to reboot: the
    operator gets the answer, never "not connected"."""
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    reply_channel = await operator_call("Reset", {"type": "Hard"})
    sent = await reply(comm)
    # The answer and the close arrive together, as they do from a socket.
    comm.input_queue.put_nowait({"type": "websocket.receive", "text": json.dumps([3, sent[1], {"status": "Accepted"}])})
    comm.input_queue.put_nowait({"type": "websocket.disconnect", "code": 1000})
    answer = await asyncio.wait_for(get_channel_layer().receive(reply_channel), TIMEOUT)
    await comm.wait(TIMEOUT)
    assert (answer["status"], answer["payload"]) == ("ok", {"status": "Accepted"})


async def test_a_call_queued_behind_one_open_when_the_charger_leaves_fails_at_once():
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    first = await operator_call("Reset", {"type": "Hard"})
    await reply(comm)
    second = await operator_call("ClearCache", {})
    await asyncio.sleep(0.05)  # queued behind the open Reset
    await comm.disconnect()
    layer = get_channel_layer()
    answers = [await asyncio.wait_for(layer.receive(channel), 2) for channel in (first, second)]
    assert [answer["status"] for answer in answers] == ["not_connected", "not_connected"]


@pytest.mark.parametrize(
    "answer",
    [
        '[3,"{id}",{{"configurationKey":[{{"key":"K","readonly":true,"value":"a\\u0000b"}}]}}]',
        '[3,"{id}",{{"configurationKey":[{{"key":"K","readonly":true,"value":"a\\ud800b"}}]}}]',
        '[4,"{id}","GenericError","bad\\u0000thing",{{"k":"\\u0000"}}]',
        '[4,"{id}","Generic\\u0000Error","",{{}}]',
    ],
    ids=["nul-result", "surrogate-result", "nul-description", "nul-code"],
)
async def test_it_never_relays_nul_or_surrogates_from_a_chargers_answer(answer):
    async with charger_socket() as comm:
        reply_channel = await operator_call("GetConfiguration", {})
        sent = await reply(comm)
        await comm.send_to(text_data=answer.format(id=sent[1]))
        relayed = await get_channel_layer().receive(reply_channel)
    texts = list(strings(relayed))
    assert relayed["status"] in ("ok", "call_error")
    assert not [text for text in texts if "\x00" in text]
    assert "".join(texts).encode("utf-8")  # no lone surrogate (would raise)


async def test_it_sends_one_call_at_a_time():
    async with charger_socket() as comm:
        cp = consumers.LIVE["CP1"].cp
        first = asyncio.ensure_future(cp.call_action("Reset", {"type": "Soft"}))
        second = asyncio.ensure_future(cp.call_action("ClearCache", {}))
        sent_first = await reply(comm)
        nothing_yet = await comm.receive_nothing(timeout=0.05)
        await comm.send_to(text_data=json.dumps([3, sent_first[1], {"status": "Accepted"}]))
        sent_second = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent_second[1], {"status": "Accepted"}]))
        await asyncio.wait_for(asyncio.gather(first, second), TIMEOUT)
    assert (sent_first[2], nothing_yet, sent_second[2]) == ("Reset", True, "ClearCache")
