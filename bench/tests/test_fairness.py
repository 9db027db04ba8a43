"""The fairness scenario: its frames at the server's limits, and its figures
against a small local server."""

import contextlib
import json

from ocpp.messages import get_validator
from websockets.asyncio.server import serve

from bench.client import Charger
from bench.fairness import MAX_FRAME_BYTES, MAX_SAMPLED_VALUES, fairness, large_meter_values


def wire(payload: dict) -> str:
    return json.dumps([2, "123456", "MeterValues", payload], separators=(",", ":"))


def schema_errors(payload: dict) -> list[str]:
    validator = get_validator(2, "MeterValues", "1.6")
    return [str(error.validator) for error in validator.iter_errors(payload)]


def test_it_builds_a_valid_frame_just_under_the_limits():
    payload = large_meter_values(Charger("C", None), invalid=False)
    timestamps = [entry["timestamp"] for entry in payload["meterValue"]]
    assert sum(len(entry["sampledValue"]) for entry in payload["meterValue"]) == MAX_SAMPLED_VALUES
    assert MAX_FRAME_BYTES - 4096 < len(wire(payload).encode()) < MAX_FRAME_BYTES
    assert schema_errors(payload) == []
    # Each entry its own time: the server stores every reading, none deduplicated.
    assert timestamps == sorted(set(timestamps))


def test_it_builds_an_invalid_frame_refused_only_for_its_last_value():
    payload = large_meter_values(Charger("C", None), invalid=True)
    assert len(wire(payload).encode()) < MAX_FRAME_BYTES
    assert schema_errors(payload) == ["enum"]


@contextlib.asynccontextmanager
async def refusing_invalid_units():
    """Answers every CALL, a MeterValues whose last value has an unknown unit
    with a CALLERROR (checked directly: a schema check of every frame would
    leave time for too few of them)."""

    async def handler(ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                if frame[2] == "MeterValues" and frame[3]["meterValue"][-1]["sampledValue"][-1].get("unit") == "kWhh":
                    await ws.send(json.dumps([4, frame[1], "PropertyConstraintViolation", "", {}]))
                else:
                    await ws.send(json.dumps([3, frame[1], {}]))

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"], max_size=2**20) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/ocpp/"


async def test_it_reports_both_phases_and_counts_a_refused_invalid_frame_as_expected():
    async with refusing_invalid_units() as url:
        result = await fairness(url, "F", 3, duration=1)
    assert result["connected"] == 3 and result["errors"] == 0
    assert result["messages"] > 0 and result["quiet_p99_ms"] > 0
    assert result["large_messages"] >= 2 and result["large_errors"] == 0
    assert result["large_refused"] == result["large_messages"] // 2
