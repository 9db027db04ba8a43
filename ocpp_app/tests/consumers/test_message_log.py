"""The message log over the socket: every frame in and out, stored safely
whatever the charger sent."""

import json

import pytest
from channels.layers import get_channel_layer

from ocpp_app.tests.helpers import (
    alog_rows,
    call,
    charger_socket,
    flushed_log_rows,
    heartbeat_still_answered,
    operator_call,
    reply,
    strings,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_logs_frames_in_and_out():
    async with charger_socket() as comm:
        await call(comm, "Heartbeat", {}, message_id="h1")
        rows = await flushed_log_rows(charger_id="CP1")
    assert [(r.direction, r.message_type, r.action, r.message_id) for r in rows] == [
        ("in", 2, "Heartbeat", "h1"),
        ("out", 3, "Heartbeat", "h1"),
    ]
    assert "currentTime" in rows[1].payload


async def test_it_logs_a_callerror_answer():
    async with charger_socket() as comm:
        await call(comm, "Teleport", {}, message_id="t1")
        rows = await flushed_log_rows(charger_id="CP1", direction="out")
    assert (rows[0].message_type, rows[0].payload["errorCode"]) == (4, "NotImplemented")


async def test_it_flushes_the_log_when_the_charger_disconnects():
    async with charger_socket() as comm:
        await call(comm, "Heartbeat", {}, message_id="h1")
    assert len(await alog_rows(charger_id="CP1")) == 2


async def test_it_logs_an_unreadable_frame():
    async with charger_socket() as comm:
        await comm.send_to(text_data="garbage")
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    assert rows[0].payload == {"raw": "garbage", "truncated": False}


@pytest.mark.parametrize(
    "frame",
    [
        '[2,"m1","Authorize",{"idTag":"A\\u0000B"}]',
        '[2,"m1","Authorize",{"idTag":"A\\ud800B"}]',
        '[3,"m1",{"x":"A\\u0000B"}]',
        '[3,"m1",{"x":"A\\udfffB"}]',
        '[2,"m1","Foo\\u0000",{}]',
    ],
    ids=["nul-call", "surrogate-call", "nul-result", "surrogate-result", "nul-action"],
)
async def test_it_stores_nul_and_surrogate_frames_safely_in_the_log(frame):
    async with charger_socket() as comm:
        await comm.send_to(text_data=frame)
        if frame.startswith("[2"):
            assert (await reply(comm))[:2] == [4, "m1"]
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    texts = list(strings([r.payload for r in rows]))
    assert len(rows) == 2
    assert not [text for text in texts if "\x00" in text]
    assert "".join(texts).encode("utf-8")  # no lone surrogate survives (would raise)


async def test_it_logs_the_operator_call_and_its_answer_with_the_action():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Soft"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        await get_channel_layer().receive(reply_channel)
        rows = await flushed_log_rows(charger_id="CP1", message_id=sent[1])
    assert [(r.direction, r.message_type, r.action) for r in rows] == [("out", 2, "Reset"), ("in", 3, "Reset")]


async def test_it_logs_a_reply_holding_a_number_that_overflows():
    async with charger_socket() as comm:
        reply_channel = await operator_call("Reset", {"type": "Soft"})
        sent = await reply(comm)
        await comm.send_to(text_data='[3,"' + sent[1] + '",{"status":"Accepted","v":1e999}]')
        await get_channel_layer().receive(reply_channel)
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    assert [r.message_id for r in rows] == [sent[1], "hb"]
    assert rows[0].payload["v"] != float("inf")


async def test_it_never_takes_a_message_id_with_control_characters_from_an_invalid_frame():
    async with charger_socket() as comm:
        await comm.send_to(text_data='[2,"a\x00b","Heartbeat",{')
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1")
    assert not [r.message_id for r in rows if "\x00" in r.message_id]
