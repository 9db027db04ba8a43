"""`make bench`: the central system, started the production way, against the
raw baseline, with the same load client, in one run.

For each target (the baseline, then `manage.py serve` on a fresh migrated
SQLite file and on a fresh PostgreSQL database) it runs, in this order:

  first contact  a small storm of chargers the server has never seen
  storm          N known chargers (rows pre-created, as after a server
                 restart) connect and boot at once
  idle           the same N held idle: server RSS per charger and CPU
  mixed          a fixed rate of Heartbeat/MeterValues/StatusNotification
                 over the same N; latency from the scheduled send time
  heartbeat      closed loop on C of them
  metervalues    closed loop (4 sampled values, in a transaction) on C
  backlog        one charger replays K queued transaction messages; the
                 database is then checked: every reading stored, in order
  transactions   full sessions

Every phase has a time limit, so the run ends by itself. Results go to
docs/benchmarks.md (and a JSON file next to it with --json-out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import client, measure
from bench.meta import machine, server_commit, versions
from bench.phases import STORM_PREFIX, run_target
from bench.report import BENCHMARKS_MD, render
from bench.targets import BASE_DIR, Baseline, Django, Target


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.runner", description=__doc__.split("\n\n")[0])
    p.add_argument("--targets", default="baseline,sqlite,postgres", help="comma-separated: baseline,sqlite,postgres")
    p.add_argument("--storm", type=int, default=10000, help="chargers in the storm/idle/mixed population")
    p.add_argument("--storm-deadline", type=float, default=40, help="seconds before unanswered storm chargers fail")
    p.add_argument("--topup-concurrency", type=int, default=100, help="handshakes in flight when topping up")
    p.add_argument("--topup-deadline", type=float, default=60, help="seconds to top up a storm that fell short")
    p.add_argument("--first-contact", type=int, default=300, help="never-seen chargers in the first-contact storm")
    p.add_argument("--idle-hold", type=float, default=10, help="seconds the idle population is held and sampled")
    p.add_argument("--mixed-rate", type=float, default=1000, help="total msg/s of the mixed scenario")
    p.add_argument("--mixed-duration", type=float, default=15)
    p.add_argument("--closed", type=int, default=1000, help="chargers in the closed loops")
    p.add_argument("--closed-duration", type=float, default=10)
    p.add_argument("--backlog", type=int, default=1000, help="queued messages the backlog charger replays")
    p.add_argument("--backlog-timeout", type=float, default=60)
    p.add_argument("--tx-chargers", type=int, default=100, help="chargers running one full session each")
    p.add_argument(
        "--server-dir",
        type=Path,
        help="run the server from this checkout (e.g. a `git worktree` of one commit) instead of this one",
    )
    p.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    p.add_argument("--json-out", type=Path, help="also write the raw results as JSON")
    p.add_argument("--render", type=Path, help="only rewrite --out from a results file written by --json-out")
    return p


def make_target(name: str, args: argparse.Namespace) -> Target:
    return Baseline(args) if name == "baseline" else Django(args, name)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        args.out.write_text(render(saved["meta"], saved["results"], previous=args.out))
        print(f"wrote {args.out}")
        return 0

    limit = client.raise_fd_limit()
    if args.storm + 200 > limit:
        print(f"fd limit {limit}: lowering the storm from {args.storm}", file=sys.stderr)
        args.storm = limit - 200
    started = time.monotonic()
    load_before = os.getloadavg()
    all_results: dict = {}
    databases: dict[str, str] = {}
    for name in [t.strip() for t in args.targets.split(",") if t.strip()]:
        target = make_target(name, args)
        print(f"== {name}", flush=True)
        try:
            target.start()
            database = target.database_version()
            if database:
                databases[database["vendor"]] = database["version"]
            target.precreate(STORM_PREFIX, args.storm)
            all_results[name] = asyncio.run(run_target(target, args))
            all_results[name]["_server_rss_mib_end"] = round(measure.ServerProbe(target.proc.pid).rss() / 2**20, 1)
        except Exception as error:
            print(f"{name} failed: {error}", file=sys.stderr)
            all_results[name] = {"_error": str(error)[:500]}
        finally:
            target.stop()
    meta = {
        "commit": server_commit(args.server_dir or BASE_DIR),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(databases),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.monotonic() - started),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "command": "make bench  (python -m bench.runner " + " ".join(argv or sys.argv[1:]) + ")",
    }
    if args.json_out:
        args.json_out.write_text(json.dumps({"meta": meta, "results": all_results}, indent=1, default=str))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(meta, all_results))
    print(f"wrote {args.out} in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
