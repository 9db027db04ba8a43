"""Fairness: do the other chargers still get answered while one charger sends
the largest frames the server accepts?

N chargers send Heartbeats in a closed loop, first alone (`quiet`), then while
one more charger sends MeterValues frames at the server's default limits
(OCPP_MAX_SAMPLED_VALUES sampled values, close to OCPP_MAX_FRAME_BYTES),
alternately valid (each stores its readings) and invalid in their last value
(the schema error is the expensive verdict). The figures are the Heartbeat
latencies of both phases, and the large frames' own round trips.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.client import CallFailed, Charger, ConnectionLost, close_all, connect, connect_many
from bench.measure import Recorder
from bench.scenarios import closed_loop, heartbeat

# The server's defaults (config/settings.py); the bench cannot read them.
MAX_SAMPLED_VALUES = 1000
MAX_FRAME_BYTES = 256 * 1024
PER_ENTRY = 10


def large_meter_values(c: Charger, *, invalid: bool, values: int = MAX_SAMPLED_VALUES) -> dict:
    """`values` sampled values, PER_ENTRY to a fresh timestamp, with values
    long enough to bring the frame just under MAX_FRAME_BYTES."""
    entries = [
        {
            "timestamp": c.tick(),
            "sampledValue": [
                {
                    "value": "",
                    "context": "Sample.Periodic",
                    "format": "Raw",
                    "measurand": "Energy.Active.Import.Register",
                    "location": "Outlet",
                    "unit": "Wh",
                }
                for _ in range(PER_ENTRY)
            ],
        }
        for _ in range(values // PER_ENTRY)
    ]
    payload = {"connectorId": 1, "meterValue": entries}
    frame_bytes = len(json.dumps([2, "000000", "MeterValues", payload], separators=(",", ":")))
    width = max(1, (MAX_FRAME_BYTES - 1024 - frame_bytes) // values)
    for i, entry in enumerate(entries):
        for j, sampled in enumerate(entry["sampledValue"]):
            sampled["value"] = str(i * PER_ENTRY + j).zfill(width)
    if invalid:
        entries[-1]["sampledValue"][-1]["unit"] = "kWhh"  # not in the enum: PropertyConstraintViolation
    return payload


async def large_frames(c: Charger, duration: float) -> dict:
    """The large-frame charger's closed loop, valid and invalid in turn."""
    rec = Recorder()
    refused = 0
    size = 0
    deadline = time.perf_counter() + duration
    n = 0
    while time.perf_counter() < deadline:
        invalid = n % 2 == 1
        n += 1
        payload = large_meter_values(c, invalid=invalid)
        size = max(size, len(json.dumps(payload, separators=(",", ":"))))
        t0 = time.perf_counter()
        try:
            await c.call("MeterValues", payload)
        except CallFailed as error:
            if invalid:  # the expected answer
                refused += 1
                rec.ok(time.perf_counter() - t0)
            else:
                rec.fail(error)
            continue
        except ConnectionLost as error:
            rec.fail(error)
            break
        if invalid:
            rec.fail(CallFailed("an invalid frame was accepted"))
        else:
            rec.ok(time.perf_counter() - t0)
    rec.finished = time.perf_counter()
    return {**rec.summary(), "refused": refused, "frame_kib": round(size / 1024, 1)}


async def fairness(url: str, prefix: str, n: int, duration: float, concurrency: int = 500) -> dict:
    """Heartbeat latencies of `n` chargers without, then with, one charger
    sending large frames (`duration` seconds each)."""
    rec = Recorder()
    chargers = await connect_many(url, prefix, n, concurrency=concurrency, rec=rec)
    big = await connect(url, f"{prefix}BIG")
    try:
        quiet = await closed_loop(chargers, heartbeat, duration)
        loaded_task = asyncio.ensure_future(closed_loop(chargers, heartbeat, duration))
        big_result = await large_frames(big, duration)
        loaded = await loaded_task
    finally:
        await close_all([*chargers, big])
    out = {
        **loaded,
        "connected": len(chargers),
        "quiet_p50_ms": quiet["p50_ms"],
        "quiet_p99_ms": quiet["p99_ms"],
        "quiet_max_ms": quiet["max_ms"],
        "quiet_msg_per_s": quiet["msg_per_s"],
    }
    out.update({f"large_{key}": value for key, value in big_result.items() if key != "error_samples"})
    out["error_samples"] = loaded["error_samples"] + big_result["error_samples"]
    return out
