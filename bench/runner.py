"""`make bench`: the central system, started the production way, against the
raw floor, with the same load client, in one run.

For each target (the floor, then `manage.py serve` on a fresh migrated
SQLite file and on a fresh PostgreSQL database) it runs, in this order:

  first contact  a small storm of chargers the server has never seen
  storm          N known chargers (rows pre-created, as after a server
                 restart, each with a Basic-auth password) connect, boot and
                 send a StatusNotification at once
  idle           the same N held idle: server RSS per charger and CPU
  mixed          a fixed rate of Heartbeat/MeterValues/StatusNotification
                 over the same N; latency from the scheduled send time,
                 every scheduled message accounted for
  heartbeat      closed loop on C of them
  metervalues    closed loop (4 sampled values, in a transaction) on C
  backlog        one charger replays K queued transaction messages; the
                 database is then checked: every reading stored, in order
  transactions   full sessions
  first call     after the server sat idle, one charger connects and sends
                 single Heartbeats with pauses

Then the cluster target: `manage.py serve --workers 1`, then `--workers 2`
(`--cluster-workers`), on PostgreSQL and a Redis of its own: first contact,
a storm both worker counts can answer in time (`--cluster-storm`), and the
two closed loops with the same parameters, with the Redis, PostgreSQL and
CPU headroom around each, then on one worker the storm at the
single-process scale (bench/cluster.py). At the full scale it adds about 7
minutes to the 9 of the single-process targets. `--targets` runs a part
(e.g. `--targets cluster`); a run of the cluster target alone rewrites only
the cluster section of docs/benchmarks.md and its line in the README.

Every phase has a time limit, so the run ends by itself. The targets are in
bench/verdicts.py. Results go to docs/benchmarks.md, the README's
performance section and docs/profiles/ (py-spy, one summary per server
scenario). `--quick` is a smoke run at a small scale that writes to a
scratch folder and leaves those files alone.
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

from bench import client, cluster, measure, verdicts
from bench.meta import machine, server_commit, versions
from bench.phases import STORM_PASSWORD, STORM_PREFIX, run_target
from bench.profiles import PROFILES_DIR, Profiler
from bench.report import BENCHMARKS_MD, README_MD, readme_write, render
from bench.targets import BASE_DIR, Baseline, Django, Target

#: Every target, in the order a run takes them; `make bench` runs them all.
TARGETS = ("baseline", "sqlite", "postgres", "cluster")
QUICK_DIR = Path("/tmp/bench-quick")
#: `--quick`: every scenario once, small, in about a minute per target.
QUICK = {
    "storm": 200,
    "storm_deadline": 30,
    "first_contact": 20,
    "idle_hold": 2,
    "mixed_rate": 200,
    "mixed_duration": 3,
    "closed": 50,
    "closed_duration": 2,
    "backlog": 100,
    "tx_chargers": 10,
    "first_calls": 5,
    "first_call_idle": 1,
    "first_call_pause": 0.1,
    "pg_stats_lag": 1,
    "cluster_storm": 100,
    "out": QUICK_DIR / "benchmarks.md",
    "profile_dir": QUICK_DIR / "profiles",
    "readme": None,
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.runner", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help=f"smoke run, small scale, written under {QUICK_DIR}")
    p.add_argument("--targets", default=",".join(TARGETS), help="comma-separated, run in the order given")
    p.add_argument(
        "--cluster-workers", default="1,2", help="worker counts of the cluster target; the first is the reference"
    )
    p.add_argument(
        "--cluster-storm",
        type=int,
        default=cluster.CLUSTER_STORM,
        help="chargers of the cluster's storm (at most --storm); the first worker count also runs --storm's",
    )
    p.add_argument(
        "--pg-stats-lag",
        type=float,
        default=cluster.PG_STATS_LAG,
        help="cluster: seconds PostgreSQL's counters are read after a scenario, and waited for before one",
    )
    p.add_argument("--storm", type=int, default=verdicts.STORM_CHARGERS, help="storm/idle/mixed population")
    p.add_argument("--storm-deadline", type=float, default=40, help="seconds before unanswered storm chargers fail")
    p.add_argument("--topup-concurrency", type=int, default=100, help="handshakes in flight when topping up")
    p.add_argument("--topup-deadline", type=float, default=60, help="seconds to top up a storm that fell short")
    p.add_argument("--first-contact", type=int, default=300, help="never-seen chargers in the first-contact storm")
    p.add_argument("--idle-hold", type=float, default=10, help="seconds the idle population is held and sampled")
    p.add_argument("--mixed-rate", type=float, default=verdicts.MIXED_RATE, help="total msg/s of the mixed scenario")
    p.add_argument("--mixed-duration", type=float, default=15)
    p.add_argument("--closed", type=int, default=verdicts.CLOSED_CHARGERS, help="chargers in the closed loops")
    p.add_argument("--closed-duration", type=float, default=10)
    p.add_argument("--backlog", type=int, default=verdicts.BACKLOG_MESSAGES, help="queued messages to replay")
    p.add_argument("--backlog-timeout", type=float, default=60)
    p.add_argument("--tx-chargers", type=int, default=100, help="chargers running one full session each")
    p.add_argument("--first-calls", type=int, default=verdicts.FIRST_CALLS, help="Heartbeats of the first-call run")
    p.add_argument("--first-call-idle", type=float, default=3, help="seconds the server sits idle before it")
    p.add_argument("--first-call-pause", type=float, default=0.3, help="seconds between its Heartbeats")
    p.add_argument(
        "--server-dir",
        type=Path,
        help="run the server from this checkout (e.g. a `git worktree` of one commit) instead of this one",
    )
    p.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    p.add_argument("--readme", type=Path, default=README_MD, help="README whose performance section is rewritten")
    p.add_argument("--no-readme", dest="readme", action="store_const", const=None, help="leave the README alone")
    p.add_argument("--profile-dir", type=Path, default=PROFILES_DIR, help="where the profile summaries go")
    p.add_argument("--no-profile", dest="profile_dir", action="store_const", const=None, help="no py-spy")
    p.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second")
    p.add_argument("--json-out", type=Path, help="also write the raw results as JSON")
    p.add_argument("--render", type=Path, help="only rewrite --out (and --readme) from a --json-out file")
    return p


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """`--quick` changes the defaults; anything given explicitly still wins."""
    parser = build_parser()
    known, _ = parser.parse_known_args(argv)
    if known.quick:
        parser.set_defaults(**QUICK)
    return parser.parse_args(argv)


def target_names(text: str) -> list[str]:
    """The targets of `--targets`, in its order, each once."""
    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    unknown = [t for t in names if t not in TARGETS]
    if unknown or not names:
        raise SystemExit(f"--targets {text!r}: unknown {', '.join(unknown) or 'empty'} (known: {', '.join(TARGETS)})")
    return names


def make_target(name: str, args: argparse.Namespace) -> Target:
    return Baseline(args) if name == "baseline" else Django(args, name)


def write(meta: dict, results: dict, args: argparse.Namespace, previous: Path | None = None) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(meta, results, previous=previous or args.out, out=args.out))
    print(f"wrote {args.out}")
    if args.readme is not None:
        if readme_write(args.readme, meta, results):
            print(f"updated the performance section of {args.readme}")
        else:
            print(f"{args.readme} has no bench:performance markers: not updated", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        write(saved["meta"], saved["results"], args)
        return 0

    limit = client.raise_fd_limit()
    if args.storm + 200 > limit:
        print(f"fd limit {limit}: lowering the storm from {args.storm}", file=sys.stderr)
        args.storm = limit - 200
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load_before = os.getloadavg()
    all_results: dict = {}
    databases: dict[str, str] = {}
    for name in target_names(args.targets):
        if name == "cluster":
            all_results["cluster"] = cluster.run(args, databases)
            continue
        target = make_target(name, args)
        print(f"== {name}", flush=True)
        try:
            target.start()
            database = target.database_version()
            if database:
                databases[database["vendor"]] = database["version"]
            target.precreate(STORM_PREFIX, args.storm, STORM_PASSWORD)
            # The floor is the reference, not profiled; the servers are.
            profile_dir = None if isinstance(target, Baseline) else args.profile_dir
            profiler = Profiler(target.proc.pid, name, profile_dir, args.profile_rate)
            all_results[name] = asyncio.run(run_target(target, args, profiler))
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
    # A smoke run keeps the analysis of the real report, without touching it.
    write(meta, all_results, args, previous=BENCHMARKS_MD if args.quick else None)
    print(f"done in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
