"""Load generator: thousands of lightweight chargers from one process.

Each charger is one raw `websockets` connection and a few coroutines (no
thread, no `ocpp` library object), so one process holds 10 000 of them. It
speaks just enough OCPP 1.6J for the scenarios:

  idle          connect and boot N chargers, hold them, sample the server
  storm         N chargers connect, boot and send a StatusNotification at once
                (with --password, in Basic auth); time until all answered
  heartbeat     closed loop: each charger sends Heartbeat, awaits, repeats
  metervalues   closed loop of MeterValues (4 sampled values) in a transaction
  mixed         fixed total rate (msg/s) of Heartbeat/MeterValues/StatusNotification
                spread over N chargers; latency counted from the scheduled send time
  backlog       one charger replays K queued transaction messages in order
  transactions  full sessions: Authorize, Start, MeterValues, Stop
  firstcall     one charger connects to an idle server and sends single
                Heartbeats with pauses (--messages of them, --pause apart)
  fairness      closed loop of Heartbeats, alone, then while one more charger
                sends MeterValues at the server's frame limits (bench/fairness.py)

    python -m bench.load --url ws://127.0.0.1:8000/ocpp/ --scenario heartbeat \
        --chargers 1000 --duration 10 --server-pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from bench.client import close_all, connect_many, freeze_heap, raise_fd_limit
from bench.fairness import fairness
from bench.measure import Recorder, ServerProbe, format_result
from bench.scenarios import (
    backlog,
    closed_loop,
    first_call,
    fixed_rate,
    heartbeat,
    meter_value,
    start_transactions,
    transactions,
)

SCENARIOS = ("idle", "storm", "heartbeat", "metervalues", "mixed", "backlog", "transactions", "firstcall", "fairness")


async def run_scenario(args: argparse.Namespace) -> dict:
    probe = ServerProbe(args.server_pid)
    prefix = args.prefix  # the same ids on every run: known chargers reconnect
    result: dict = {"scenario": args.scenario, "chargers": args.chargers}
    if args.scenario == "backlog":
        result.update(await backlog(args.url, f"{prefix}BACKLOG", args.messages), chargers=1)
        result["rss_mib"] = round(probe.rss() / 2**20, 1)
        return result
    if args.scenario == "fairness":
        result.update(await fairness(args.url, prefix, args.chargers, args.duration, args.concurrency))
        return result
    if args.scenario == "firstcall":
        result.update(await first_call(args.url, f"{prefix}FIRST", args.messages, args.pause, idle=0), chargers=1)
        return result
    rss_before = probe.rss()
    storm = args.scenario in ("storm", "idle")
    rec = Recorder()
    probe.mark()
    chargers = await connect_many(
        args.url,
        prefix,
        args.chargers,
        concurrency=args.chargers if storm else args.concurrency,
        rec=rec,
        status=args.scenario == "storm",
        password=args.password or None,
    )
    rec.finished = time.perf_counter()
    freeze_heap()
    try:
        if storm:
            s = rec.summary()
            result.update(
                connected=len(chargers),
                failures=s["errors"],
                seconds=s["seconds"],
                p50_ms=s["p50_ms"],
                p99_ms=s["p99_ms"],
                max_ms=s["max_ms"],
                error_samples=s["error_samples"],
                cpu_percent=probe.cpu_percent(),
            )
        if args.scenario == "idle":
            await asyncio.sleep(2)  # let the connect-time work settle
            probe.mark()
            await asyncio.sleep(args.duration)
            rss = probe.rss()
            result.update(
                idle_cpu_percent=probe.cpu_percent(),
                rss_mib=round(rss / 2**20, 1),
                rss_kib_per_charger=round((rss - rss_before) / 1024 / max(1, len(chargers)), 1),
            )
        elif args.scenario in ("heartbeat", "metervalues"):
            if args.scenario == "metervalues":
                await start_transactions(chargers)
            probe.mark()
            make = heartbeat if args.scenario == "heartbeat" else meter_value
            if args.rate:
                mix = {"Heartbeat" if args.scenario == "heartbeat" else "MeterValues": 1.0}
                result.update(await fixed_rate(chargers, args.rate, args.duration, mix))
            else:
                result.update(await closed_loop(chargers, make, args.duration))
            result["cpu_percent"] = probe.cpu_percent()
            result["rss_mib"] = round(probe.rss() / 2**20, 1)
        elif args.scenario == "mixed":
            await start_transactions(chargers)
            probe.mark()
            mix = {"Heartbeat": 0.4, "MeterValues": 0.4, "StatusNotification": 0.2}
            result.update(await fixed_rate(chargers, args.rate or 1000, args.duration, mix))
            result["cpu_percent"] = probe.cpu_percent()
            result["rss_mib"] = round(probe.rss() / 2**20, 1)
        elif args.scenario == "transactions":
            probe.mark()
            result.update(await transactions(chargers, args.sessions, args.meter_values))
            result["cpu_percent"] = probe.cpu_percent()
    finally:
        await close_all(chargers)
    return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", default="ws://127.0.0.1:8000/ocpp/", help="base URL; the charger id is appended")
    p.add_argument("--scenario", choices=SCENARIOS, default="heartbeat")
    p.add_argument("--chargers", type=int, default=100, help="number of chargers (connections)")
    p.add_argument("--duration", type=float, default=10, help="seconds to run (closed loop, fixed rate, idle hold)")
    p.add_argument("--rate", type=float, default=0, help="fixed total rate in msg/s (0 = closed loop)")
    p.add_argument("--concurrency", type=int, default=500, help="connections opened at once (not for storm/idle)")
    p.add_argument("--messages", type=int, default=1000, help="backlog: queued messages; firstcall: Heartbeats")
    p.add_argument("--pause", type=float, default=0.3, help="firstcall: seconds between Heartbeats")
    p.add_argument("--password", default="", help="Basic-auth password every charger sends")
    p.add_argument("--sessions", type=int, default=1, help="transactions: sessions per charger")
    p.add_argument("--meter-values", type=int, default=10, help="transactions: MeterValues per session")
    p.add_argument("--server-pid", type=int, help="pid of the server, to report its RSS and CPU")
    p.add_argument("--prefix", default="LOAD", help="charger id prefix")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    limit = raise_fd_limit()
    if args.chargers + 100 > limit:
        print(f"warning: {args.chargers} chargers but only {limit} file descriptors (ulimit -n)", file=sys.stderr)
    try:
        result = asyncio.run(run_scenario(args))
    except KeyboardInterrupt:
        return 130
    print(json.dumps(result) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
