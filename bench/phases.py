"""The phases of one benchmark run against one target, in order (see
bench/runner.py for the list); every phase has a time limit, and each
scenario runs inside the profiler (a no-op for the floor)."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench import client, measure, scenarios
from bench.profiles import Profiler
from bench.targets import Target

#: Known chargers precreated before the storm (bench_db prepare) use this prefix.
STORM_PREFIX = "STORM"
#: Every storm charger's Basic-auth password (bench_db prepare --password).
STORM_PASSWORD = "bench-storm-key-0123456789"
MIX = {"Heartbeat": 0.4, "MeterValues": 0.4, "StatusNotification": 0.2}
#: Seconds a closed loop's last CALLs may take to be answered after its time.
CLOSED_GRACE = 30


@dataclass(frozen=True)
class ClosedLoop:
    """A closed-loop scenario: every charger sends `make(charger, n)`, awaits
    the answer, and sends the next, for --closed-duration."""

    name: str
    make: Callable
    #: Its chargers first start a transaction (its messages belong to one).
    in_transaction: bool = False


#: The closed loops of every server target, single-process and cluster, in
#: this order, on the same chargers.
CLOSED_LOOPS = (
    ClosedLoop("heartbeat", scenarios.heartbeat),
    ClosedLoop("metervalues", scenarios.meter_value, in_transaction=True),
)


async def settle(probe: measure.ServerProbe, limit: float = 20) -> None:
    """Wait until the server is quiet again (e.g. after thousands of closes)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        probe.mark()
        await asyncio.sleep(0.5)
        if probe.cpu_percent() < 10:
            return


def storm_ids(count: int) -> list[str]:
    return [f"{STORM_PREFIX}{i:05d}" for i in range(count)]


async def first_contact(url: str, args: argparse.Namespace, rec: measure.Recorder) -> list:
    """Chargers the server has never seen connect at once (the warm-up)."""
    first = await client.connect_many(
        url, "NEW", args.first_contact, concurrency=args.first_contact, rec=rec, deadline=60
    )
    rec.finished = time.perf_counter()
    return first


async def storm(url: str, args: argparse.Namespace, rec: measure.Recorder, count: int | None = None) -> list:
    """Known chargers (the first `count`, by default --storm), each with its
    password, connect, boot and send a StatusNotification at once; a charger
    counts once that is answered."""
    count = args.storm if count is None else count
    chargers = await client.connect_many(
        url,
        STORM_PREFIX,
        count,
        concurrency=count,
        rec=rec,
        status=True,
        password=STORM_PASSWORD,
        deadline=args.storm_deadline,
    )
    rec.finished = time.perf_counter()
    return chargers


async def closed_loops(
    chargers: list,
    args: argparse.Namespace,
    around: Callable[[ClosedLoop, Callable[[], Awaitable[dict]]], Awaitable[None]],
    quiet: Callable[[], Awaitable[None]],
) -> None:
    """Every closed loop of CLOSED_LOOPS in turn on `chargers`, for
    --closed-duration each. `around(loop, run)` awaits `run()` inside what
    the target measures a scenario by (the profiler and CPU probe of a
    single process, the headroom readings of a cluster) and records its
    result; `quiet()` waits until the server is quiet again, after the
    transactions a loop needs were started."""
    for loop in CLOSED_LOOPS:
        if loop.in_transaction:
            await scenarios.start_transactions(chargers, timeout=60)
            await quiet()

        async def run(loop: ClosedLoop = loop) -> dict:
            return await scenarios.closed_loop(chargers, loop.make, args.closed_duration, grace=CLOSED_GRACE)

        await around(loop, run)


async def run_target(target: Target, args: argparse.Namespace, profiler: Profiler) -> dict:
    probe = measure.ServerProbe(target.proc.pid)
    results: dict = {}
    url = target.url

    def log(name: str, r: dict) -> None:
        r.setdefault("scenario", name)
        print(f"  [{target.name}] {measure.format_result(r)}", flush=True)
        results[name] = r

    # First contact: chargers the server has never seen.
    rec = measure.Recorder()
    async with profiler.during("first_contact"):
        first = await first_contact(url, args, rec)
    log("first_contact", {"chargers": args.first_contact, "connected": len(first), **rec.summary()})
    await client.close_all(first)
    await settle(probe)

    # Storm of known chargers (see `storm`).
    rss_before = probe.rss()
    probe.mark()
    rec = measure.Recorder()
    async with profiler.during("storm"):
        chargers = await storm(url, args, rec)
    s = rec.summary()
    log(
        "storm",
        {
            "chargers": args.storm,
            "connected": len(chargers),
            "failures": args.storm - len(chargers),
            # All start together: the last answer is the storm's time.
            "seconds": round(max(rec.latencies, default=0), 2),
            "p50_ms": s["p50_ms"],
            "p99_ms": s["p99_ms"],
            "cpu_percent": probe.cpu_percent(),
            "error_samples": s["error_samples"],
        },
    )
    if len(chargers) < args.storm:
        chargers += await top_up(url, args, probe, chargers, log)

    client.freeze_heap()
    await asyncio.sleep(2)
    await settle(probe)  # idle means steady state, not the tail of the storm's work
    probe.mark()
    async with profiler.during("idle"):
        await asyncio.sleep(args.idle_hold)
    rss = probe.rss()
    log(
        "idle",
        {
            "chargers": len(chargers),
            "idle_cpu_percent": probe.cpu_percent(),
            "rss_mib": round(rss / 2**20, 1),
            "rss_kib_per_charger": round((rss - rss_before) / 1024 / max(1, len(chargers)), 1),
        },
    )
    if chargers:
        probe.mark()
        async with profiler.during("mixed"):
            r = await scenarios.fixed_rate(chargers, args.mixed_rate, args.mixed_duration, MIX, grace=15)
        log("mixed", {"chargers": len(chargers), "rate": args.mixed_rate, **r, "cpu_percent": probe.cpu_percent()})

    # Closed loops on C of the connected chargers; the others hang up.
    keep, extra = chargers[: args.closed], chargers[args.closed :]
    await client.close_all(extra)
    await settle(probe)
    if len(keep) < args.closed:
        more = await client.connect_many(url, "CLOSED", args.closed - len(keep), concurrency=200, deadline=60)
        keep += more

    async def around(loop: ClosedLoop, run: Callable[[], Awaitable[dict]]) -> None:
        probe.mark()
        async with profiler.during(loop.name):
            r = await run()
        log(loop.name, {"chargers": len(keep), **r, "cpu_percent": probe.cpu_percent()})

    await closed_loops(keep, args, around, lambda: settle(probe))
    await client.close_all(keep)
    await settle(probe)

    async with profiler.during("backlog"):
        try:
            r = await asyncio.wait_for(scenarios.backlog(url, "BACKLOG1", args.backlog), args.backlog_timeout)
        except TimeoutError:
            r = {"errors": 1, "error_samples": [f"not done in {args.backlog_timeout} s"], "transaction_id": None}
    r.update(target.check_backlog(r.get("transaction_id"), args.backlog - 2))
    log("backlog", {"chargers": 1, "messages_sent": args.backlog, **r})

    tx_chargers = await client.connect_many(url, "TX", args.tx_chargers, concurrency=200, deadline=60)
    probe.mark()
    async with profiler.during("transactions"):
        r = await scenarios.transactions(tx_chargers, 1, 10, timeout=120)
    log("transactions", {"chargers": len(tx_chargers), **r, "cpu_percent": probe.cpu_percent()})
    await client.close_all(tx_chargers)

    # Last, once everything else is quiet: the first CALL of an idle server.
    await settle(probe)
    async with profiler.during("first_call"):
        try:
            r = await asyncio.wait_for(
                scenarios.first_call(url, "FIRSTCALL", args.first_calls, args.first_call_pause, args.first_call_idle),
                args.first_call_idle + args.first_calls * (args.first_call_pause + 5) + 60,
            )
        except Exception as error:  # a failed first CALL is a result, not the end of the run
            r = {"errors": 1, "error_samples": [f"{type(error).__name__}: {error}"]}
    log("first_call", {"chargers": 1, **r})
    if profiler.written:
        results["_profiles"] = {s: str(p) for s, p in profiler.written.items()}
    return results


async def top_up(url: str, args: argparse.Namespace, probe: measure.ServerProbe, chargers: list, log) -> list:
    """The storm fell short: connect the rest at a gentler pace, so that the
    idle and mixed scenarios still get (up to) the full population."""
    await settle(probe)
    connected = {c.cp_id for c in chargers}
    missing = [cp_id for cp_id in storm_ids(args.storm) if cp_id not in connected]
    rec = measure.Recorder()
    more = await client.connect_many(
        url,
        "",
        len(missing),
        concurrency=args.topup_concurrency,
        rec=rec,
        password=STORM_PASSWORD,
        deadline=args.topup_deadline,
        ids=missing,
    )
    rec.finished = time.perf_counter()
    s = rec.summary()
    log(
        "topup",
        {
            "chargers": len(missing),
            "connected": len(more),
            "concurrency": args.topup_concurrency,
            "msg_per_s": s["msg_per_s"],
            "p50_ms": s["p50_ms"],
            "p99_ms": s["p99_ms"],
            "seconds": s["seconds"],
            "errors": s["errors"],
        },
    )
    return more
