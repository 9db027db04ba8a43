"""What the message log keeps of large and pointless frames: a reply that
answers no CALL is a short note, and no stored payload is larger than
OCPP_LOG_PAYLOAD_MAX_BYTES, its cut marked; redaction comes before any cut."""

import json

import pytest
from channels.layers import get_channel_layer

from ocpp_app.tests.helpers import (
    PASSWORD,
    call,
    charger_socket,
    flushed_log_rows,
    heartbeat_still_answered,
    operator_call,
    reply,
    strings,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_reply_that_answers_no_call_is_kept_as_a_short_note():
    frame = json.dumps([3, "nobody-asked", {"data": "x" * 100_000}])
    async with charger_socket() as comm:
        await comm.send_to(text_data=frame)
        await comm.send_to(text_data='[4,"nor-this","GenericError","' + "y" * 5000 + '",{}]')
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    result, error = rows[0], rows[1]
    assert (result.message_type, result.action, result.message_id) == (3, "unsolicited", "nobody-asked")
    assert result.payload["_truncated"] is True
    assert result.payload["unsolicited"] is True
    assert result.payload["bytes"] == len(frame)
    assert result.payload["head"] == frame[:200]
    assert (error.message_type, error.action, len(error.payload["head"])) == (4, "unsolicited", 200)


async def test_a_late_configuration_answer_never_leaves_the_key_in_its_note():
    late = {"configurationKey": [{"key": "AuthorizationKey", "readonly": False, "value": PASSWORD}]}
    async with charger_socket() as comm:
        await comm.send_to(text_data=json.dumps([3, "timed-out", late]))
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    assert rows[0].action == "unsolicited"
    assert PASSWORD not in json.dumps(rows[0].payload)
    assert "AuthorizationKey" in rows[0].payload["head"]


async def test_a_payload_over_the_cap_is_stored_cut_and_still_answered(settings):
    settings.OCPP_LOG_PAYLOAD_MAX_BYTES = 64 * 1024
    payload = {"vendorId": "acme", "data": "é" * 40_000}  # 80 000 bytes of UTF-8, 40 000 characters
    async with charger_socket() as comm:
        answer = await call(comm, "DataTransfer", payload, message_id="big")
        rows = await flushed_log_rows(charger_id="CP1", message_id="big")
    assert answer[:2] == [3, "big"]
    stored = rows[0].payload
    assert stored["_truncated"] is True
    assert stored["bytes"] == len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    assert stored["head"].startswith('{"vendorId":"acme","data":"éé')
    assert len(json.dumps(stored).encode()) < 64 * 1024
    assert rows[1].payload == {"status": "UnknownVendorId"}  # the answer is small: kept whole


async def test_a_payload_under_the_cap_is_kept_whole(settings):
    settings.OCPP_LOG_PAYLOAD_MAX_BYTES = 64 * 1024
    payload = {"vendorId": "acme", "data": "z" * 60_000}
    async with charger_socket() as comm:
        await call(comm, "DataTransfer", payload, message_id="fits")
        rows = await flushed_log_rows(charger_id="CP1", message_id="fits", direction="in")
    assert rows[0].payload == payload


async def test_the_key_is_redacted_before_a_payload_is_cut(settings):
    settings.OCPP_LOG_PAYLOAD_MAX_BYTES = 40
    async with charger_socket() as comm:
        reply_channel = await operator_call("ChangeConfiguration", {"key": "AuthorizationKey", "value": PASSWORD})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        await get_channel_layer().receive(reply_channel)
        rows = await flushed_log_rows(charger_id="CP1", message_id=sent[1], direction="out")
    assert rows[0].payload["_truncated"] is True
    assert not [text for text in strings(rows[0].payload) if PASSWORD[:10] in text]
