"""The load scenarios, each bounded in time, over connected chargers
(bench/client.py); each returns a summary of its Recorder."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import UTC, datetime, timedelta

from bench.client import CallFailed, Charger, ConnectionLost, close_all, connect
from bench.measure import Recorder, bounded


async def closed_loop(chargers: list[Charger], make, duration: float, grace: float = 30) -> dict:
    rec = Recorder()
    deadline = time.perf_counter() + duration

    async def loop(c: Charger) -> None:
        n = 0
        while time.perf_counter() < deadline:
            action, payload = make(c, n)
            n += 1
            t0 = time.perf_counter()
            try:
                await c.call(action, payload)
            except Exception as error:
                rec.fail(error)
                if isinstance(error, ConnectionLost):
                    return
                continue
            rec.ok(time.perf_counter() - t0)

    await bounded((loop(c) for c in chargers), duration + grace, rec, "chargers")
    rec.finished = time.perf_counter()
    return rec.summary()


async def start_transactions(chargers: list[Charger], timeout: float = 60) -> None:
    async def start(c: Charger) -> None:
        with contextlib.suppress(CallFailed, ConnectionLost):
            answer = await c.call("StartTransaction", c.start_tx())
            c.tx_id = answer.get("transactionId")

    await bounded((start(c) for c in chargers), timeout, None, "starts")


def schedule(n_chargers: int, rate: float, duration: float) -> tuple[float, list[int]]:
    """The fixed-rate plan: each charger's period, and how many messages each
    charger is due to send in `duration` (charger i starts i/n of a period
    late, so the total rate is even)."""
    period = n_chargers / rate
    counts = []
    for i in range(n_chargers):
        offset = period * i / n_chargers
        counts.append(0 if offset >= duration else int((duration - offset) / period - 1e-9) + 1)
    return period, counts


async def fixed_rate(
    chargers: list[Charger], rate: float, duration: float, mix: dict[str, float], grace: float = 15
) -> dict:
    """`rate` messages per second in total, each charger on its own evenly
    spaced schedule; latency counts from the scheduled time, so a server that
    falls behind shows it (no coordinated omission). Every scheduled message
    is accounted for: `dropped` is what was due but never answered (lost,
    refused, or still unanswered when the time ran out)."""
    rec = Recorder()
    period, counts = schedule(len(chargers), rate, duration)
    start = time.perf_counter() + 0.5
    actions = list(mix)
    weights = [mix[a] for a in actions]
    sent = answered = 0

    async def loop(i: int, c: Charger) -> None:
        nonlocal sent, answered
        due = start + period * i / len(chargers)
        for n in range(counts[i]):
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            action = random.choices(actions, weights)[0]
            if action == "MeterValues":
                payload = c.meter_values(1000 + n)
            elif action == "StatusNotification":
                payload = c.status("Charging" if n % 2 else "Available")
            else:
                payload = {}
            sent += 1
            try:
                await c.call(action, payload)
            except Exception as error:
                rec.fail(error)
                if isinstance(error, ConnectionLost):
                    return
            else:
                answered += 1
                rec.ok(time.perf_counter() - due)
            due += period

    rec.started = start
    await bounded((loop(i, c) for i, c in enumerate(chargers)), duration + 0.5 + grace, rec, "chargers")
    rec.finished = time.perf_counter()
    scheduled = sum(counts)
    return {
        **rec.summary(),
        "scheduled": scheduled,
        "sent": sent,
        "answered": answered,
        "dropped": scheduled - answered,
    }


async def first_call(url: str, cp_id: str, calls: int, pause: float, idle: float) -> dict:
    """The first CALL of an idle server: after `idle` seconds without traffic,
    one charger connects and boots, then sends `calls` single Heartbeats, each
    after a `pause` (long enough for the server to go idle again). The
    figures are the Heartbeat round trips; the connect is reported apart."""
    await asyncio.sleep(idle)
    t0 = time.perf_counter()
    c = await connect(url, cp_id)
    connect_ms = round((time.perf_counter() - t0) * 1000, 2)
    rec = Recorder()
    try:
        for _ in range(calls):
            await asyncio.sleep(pause)
            t0 = time.perf_counter()
            try:
                await c.call("Heartbeat", {})
            except CallFailed as error:
                rec.fail(error)
                continue
            rec.ok(time.perf_counter() - t0)
        rec.finished = time.perf_counter()
    finally:
        await close_all([c])
    return {**rec.summary(), "calls": calls, "connect_ms": connect_ms}


async def backlog(url: str, cp_id: str, k: int) -> dict:
    """One charger that was offline replays StartTransaction, K-2 MeterValues
    and StopTransaction back to back (each awaited: one CALL at a time)."""
    c = await connect(url, cp_id)
    rec = Recorder()
    try:
        c.clock = datetime.now(UTC) - timedelta(hours=2)
        t0 = time.perf_counter()
        answer = await c.call("StartTransaction", c.start_tx())
        rec.ok(time.perf_counter() - t0)
        c.tx_id = answer.get("transactionId")
        for n in range(k - 2):
            t0 = time.perf_counter()
            try:
                await c.call("MeterValues", c.meter_values(10 * n))
                rec.ok(time.perf_counter() - t0)
            except CallFailed as error:
                rec.fail(error)
        t0 = time.perf_counter()
        await c.call("StopTransaction", c.stop_tx(10 * k))
        rec.ok(time.perf_counter() - t0)
        rec.finished = time.perf_counter()
    finally:
        await close_all([c])
    return {**rec.summary(), "transaction_id": c.tx_id}


async def transactions(chargers: list[Charger], sessions: int, meter_values: int, timeout: float = 120) -> dict:
    rec = Recorder()

    async def run(c: Charger) -> None:
        wh = 0

        def payload(action: str) -> dict:
            if action == "Authorize":
                return {"idTag": f"L{c.cp_id[-18:]}"}
            if action == "StartTransaction":
                return c.start_tx(wh)
            if action == "MeterValues":
                return c.meter_values(wh)
            if action == "StopTransaction":
                return c.stop_tx(wh)
            return c.status("Charging" if c.tx_id else "Available")

        steps = ["Authorize", "StartTransaction", "StatusNotification"]
        steps += ["MeterValues"] * meter_values + ["StopTransaction", "StatusNotification"]
        for _ in range(sessions):
            for action in steps:
                t0 = time.perf_counter()
                try:
                    answer = await c.call(action, payload(action))
                except Exception as error:
                    rec.fail(error)
                    if isinstance(error, ConnectionLost):
                        return
                    continue
                rec.ok(time.perf_counter() - t0)
                if action == "StartTransaction":
                    c.tx_id = answer.get("transactionId")
                elif action == "StopTransaction":
                    c.tx_id = None
                wh += 100

    await bounded((run(c) for c in chargers), timeout, rec, "chargers")
    rec.finished = time.perf_counter()
    out = rec.summary()
    out["sessions_per_s"] = round(len(chargers) * sessions / out["seconds"], 1)
    return out


def heartbeat(c: Charger, n: int) -> tuple[str, dict]:
    return "Heartbeat", {}


def meter_value(c: Charger, n: int) -> tuple[str, dict]:
    return "MeterValues", c.meter_values(n)
