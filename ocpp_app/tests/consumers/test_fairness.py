"""Fairness: what one frame may carry, and a large frame handled off the
event loop, so that one charger's big frame never stalls the others."""

import asyncio
import json
import threading

import pytest
from channels.db import database_sync_to_async

from ocpp_app.models import MeterReading, Transaction
from ocpp_app.ocpp import framing, intake
from ocpp_app.tests.helpers import (
    START,
    TIMEOUT,
    acount,
    call,
    charger_socket,
    flushed_log_rows,
    reply,
)

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "ocpp-large-frames"


def sampled_value(n: int) -> dict:
    # A sampled value with every field a charger fills in: ~150 bytes.
    return {
        "value": str(1000 + n),
        "context": "Sample.Periodic",
        "format": "Raw",
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unit": "Wh",
    }


def meter_value_entries(values: int, per_entry: int = 10) -> list[dict]:
    """`values` sampled values, `per_entry` to a timestamp (one minute apart:
    readings of one timestamp are stored once)."""
    entries = []
    for start in range(0, values, per_entry):
        minute = start // per_entry
        entries.append(
            {
                "timestamp": f"2024-05-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00Z",
                "sampledValue": [sampled_value(n) for n in range(start, min(start + per_entry, values))],
            }
        )
    return entries


def meter_values(values: int, per_entry: int = 10) -> dict:
    return {"connectorId": 1, "meterValue": meter_value_entries(values, per_entry)}


def frame(message_id: str, action: str, payload: dict) -> str:
    return json.dumps([2, message_id, action, payload])


async def answers_until_heartbeat(comm) -> list[list]:
    """Every answer to what was sent, up to the answer of a Heartbeat sent now
    (a frame that is ignored has none)."""
    await comm.send_to(text_data=frame("hb", "Heartbeat", {}))
    answers = []
    while (answer := await reply(comm))[1] != "hb":
        answers.append(answer)
    return answers


async def log_of(charger_id: str) -> list[tuple]:
    rows = await flushed_log_rows(charger_id=charger_id)
    return [(row.direction, row.message_type, row.action, row.message_id, row.payload) for row in rows]


@pytest.fixture
def parse_threads(monkeypatch) -> list[str]:
    """The name of the thread every frame was parsed on."""
    names: list[str] = []
    parse = framing.parse_frame

    def recording(raw, **kw):
        names.append(threading.current_thread().name)
        return parse(raw, **kw)

    monkeypatch.setattr(framing, "parse_frame", recording)
    return names


# -- the sampled-value limit ------------------------------------------------------------------


async def test_it_answers_occurrence_constraint_violation_for_too_many_sampled_values(settings):
    settings.OCPP_MAX_SAMPLED_VALUES = 20
    async with charger_socket() as comm:
        # 21 values over three entries: the limit counts all of them together.
        answer = await call(comm, "MeterValues", meter_values(21, per_entry=7))
    assert answer[:3] == [4, "m1", "OccurenceConstraintViolation"]
    assert await acount(MeterReading) == 0


async def test_it_stores_a_meter_values_at_the_sampled_value_limit(settings):
    settings.OCPP_MAX_SAMPLED_VALUES = 20
    async with charger_socket() as comm:
        answer = await call(comm, "MeterValues", meter_values(20, per_entry=7))
    assert answer == [3, "m1", {}]
    assert await acount(MeterReading) == 20


async def test_it_counts_an_entry_without_sampled_values_against_the_limit(settings):
    # Every entry costs a walk and a schema check, with or without values (the
    # schema would answer ProtocolError for these, after checking them all).
    settings.OCPP_MAX_SAMPLED_VALUES = 20
    entries = [{"timestamp": "2024-05-01T12:00:00Z"} for _ in range(21)]
    async with charger_socket() as comm:
        answer = await call(comm, "MeterValues", {"connectorId": 1, "meterValue": entries})
    assert answer[:3] == [4, "m1", "OccurenceConstraintViolation"]


async def test_it_refuses_a_stop_transaction_with_too_many_sampled_values_and_keeps_the_session_open(settings):
    settings.OCPP_MAX_SAMPLED_VALUES = 20
    async with charger_socket() as comm:
        tx_id = (await call(comm, "StartTransaction", START, message_id="a"))[2]["transactionId"]
        stop = {
            "transactionId": tx_id,
            "meterStop": 1500,
            "timestamp": "2024-05-01T12:10:00Z",
            "transactionData": meter_value_entries(21),
        }
        answer = await call(comm, "StopTransaction", stop, message_id="b")
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert answer[:3] == [4, "b", "OccurenceConstraintViolation"]
    assert (tx.stop_time, await acount(MeterReading)) == (None, 0)


async def test_it_refuses_too_many_sampled_values_by_default():
    async with charger_socket() as comm:
        answer = await call(comm, "MeterValues", meter_values(1001, per_entry=50))
    assert answer[:3] == [4, "m1", "OccurenceConstraintViolation"]


async def test_it_closes_a_frame_over_256_kib_by_default():
    payload = {"vendorId": "v", "data": "x" * (256 * 1024)}
    async with charger_socket() as comm:
        await comm.send_to(text_data=frame("m1", "DataTransfer", payload))
        closing = await comm.receive_output(timeout=TIMEOUT)
    assert (closing["type"], closing.get("code")) == ("websocket.close", 1009)


# -- large frames off the event loop ----------------------------------------------------------


async def test_it_answers_and_stores_a_large_meter_values_as_a_small_one(parse_threads, settings):
    settings.OCPP_LOG_PAYLOAD_MAX_BYTES = 256 * 1024  # the log keeps the whole frame
    large = meter_values(600)
    assert intake.OFFLOAD_CHARS < len(frame("m1", "MeterValues", large)) < 256 * 1024
    small = {"connectorId": 1, "meterValue": large["meterValue"][:1]}
    async with charger_socket("/ocpp/SMALL") as comm:
        small_answer = await call(comm, "MeterValues", small)
    async with charger_socket("/ocpp/LARGE") as comm:
        large_answer = await call(comm, "MeterValues", large)
    assert small_answer == large_answer == [3, "m1", {}]
    assert await acount(MeterReading, charger__charger_id="LARGE") == 600
    # Parsed on the worker thread, and logged as the payload that came in.
    assert parse_threads[-1].startswith(WORKER)
    assert (await log_of("LARGE"))[0][1:] == (2, "MeterValues", "m1", large)


def large(payload: dict) -> dict:
    """The payload made larger than OFFLOAD_CHARS by valid meter values in
    front of its own."""
    return {**payload, "meterValue": meter_value_entries(600) + payload["meterValue"]}


INVALID_METER_VALUES = [
    pytest.param({"connectorId": 1, "meterValue": [{"sampledValue": [{"value": "1"}]}]}, id="missing-field"),
    pytest.param({"connectorId": "one", "meterValue": meter_value_entries(1)}, id="wrong-type"),
    pytest.param(
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": "2024-06-01T00:00:00Z", "sampledValue": [{"value": "1", "unit": "kWhh"}]}],
        },
        id="bad-enum",
    ),
    pytest.param({"connectorId": 1, "meterValue": meter_value_entries(1), "extra": 1}, id="extra-field"),
]


@pytest.mark.parametrize("payload", INVALID_METER_VALUES)
async def test_it_answers_a_large_invalid_meter_values_with_the_code_of_a_small_one(payload, parse_threads):
    async with charger_socket("/ocpp/SMALL") as comm:
        small_answer = await call(comm, "MeterValues", payload)
    big = large(payload)
    async with charger_socket("/ocpp/LARGE") as comm:
        large_answer = await call(comm, "MeterValues", big)
    assert small_answer[0] == 4
    assert large_answer[:3] == small_answer[:3]
    assert len(frame("m1", "MeterValues", big)) > intake.OFFLOAD_CHARS
    assert parse_threads[-1].startswith(WORKER)
    assert await acount(MeterReading) == 0


# Frames of every kind a charger gets an answer (or none) for, small enough to
# be handled inline by default.
FRAMES = [
    pytest.param(frame("m1", "Heartbeat", {"extra": True}), id="extra-field"),
    pytest.param(frame("m1", "BootNotification", {"chargePointVendor": "ACME"}), id="missing-field"),
    pytest.param(frame("m1", "Authorize", {"idTag": 12345}), id="wrong-type"),
    pytest.param(
        frame("m1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}),
        id="bad-enum",
    ),
    pytest.param(frame("m1", "Teleport", {}), id="unknown-action"),
    pytest.param(frame("m1", "RemoteStartTransaction", {"idTag": "T"}), id="central-system-action"),
    pytest.param('[2,"m1","DataTransfer",{"vendorId":"v\\u0000"}]', id="nul"),
    pytest.param('[2,"m1","DataTransfer",{"vendorId":"v","data":"\\ud800"}]', id="lone-surrogate"),
    pytest.param('[2,"m1","DataTransfer",{"vendorId":"v","data":' + "[" * 40 + "]" * 40 + "}]", id="too-deep"),
    pytest.param('[2,"m1","DataTransfer",' + "[" * 10_000, id="recursion"),
    pytest.param('[2,"m1","Heartbeat",{"oops"]', id="bad-json"),
    pytest.param('[2,"m1","Heartbeat",{"n":1e999}]', id="infinity"),
    pytest.param("{{{ not json", id="unreadable"),
    pytest.param('[3,"nobody-asked",{}]', id="unsolicited-reply"),
    pytest.param(frame("m1", "MeterValues", meter_values(21, per_entry=7)), id="too-many-sampled-values"),
    pytest.param(
        frame("m1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}), id="valid"
    ),
]


@pytest.mark.parametrize("raw", FRAMES)
async def test_it_answers_and_logs_every_frame_on_the_worker_as_inline(raw, settings, monkeypatch, parse_threads):
    settings.OCPP_MAX_SAMPLED_VALUES = 20
    async with charger_socket("/ocpp/INLINE") as comm:
        await comm.send_to(text_data=raw)
        inline_answers = await answers_until_heartbeat(comm)
    inline_log = await log_of("INLINE")
    assert not any(name.startswith(WORKER) for name in parse_threads)

    monkeypatch.setattr(intake, "OFFLOAD_CHARS", 0)
    async with charger_socket("/ocpp/WORKER") as comm:
        await comm.send_to(text_data=raw)
        worker_answers = await answers_until_heartbeat(comm)
    worker_log = await log_of("WORKER")
    assert parse_threads[-1].startswith(WORKER)

    def without_heartbeat(log):  # its answer carries the current time
        return [row for row in log if row[3] != "hb"]

    assert worker_answers == inline_answers
    assert without_heartbeat(worker_log) == without_heartbeat(inline_log)


async def test_it_answers_another_charger_while_a_large_frame_is_handled(monkeypatch):
    """The worker is held inside the large frame's parse: the other charger's
    Heartbeat is still answered; the first charger's own next frame waits
    for its large one, and both are answered in order once it is released."""
    entered, release = threading.Event(), threading.Event()
    parse = framing.parse_frame

    def held(raw, **kw):
        if threading.current_thread().name.startswith(WORKER):
            entered.set()
            release.wait(TIMEOUT)
        return parse(raw, **kw)

    monkeypatch.setattr(framing, "parse_frame", held)
    try:
        async with charger_socket("/ocpp/BIG") as big, charger_socket("/ocpp/OTHER") as other:
            await big.send_to(text_data=frame("big", "MeterValues", meter_values(600)))
            await big.send_to(text_data=frame("next", "Heartbeat", {}))
            assert await asyncio.to_thread(entered.wait, TIMEOUT)

            assert (await call(other, "Heartbeat", {}, message_id="other"))[:2] == [3, "other"]
            assert await big.receive_nothing(timeout=0.1)

            release.set()
            assert [(await reply(big))[:2] for _ in range(2)] == [[3, "big"], [3, "next"]]
    finally:
        release.set()
    assert await acount(MeterReading, charger__charger_id="BIG") == 600
