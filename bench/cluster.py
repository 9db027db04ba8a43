"""The cluster target: `manage.py serve --workers N` on PostgreSQL and Redis,
for N = 1 and then 2 (`--cluster-workers`), each on a fresh database migrated
and prepared as the PostgreSQL target's is, with a Redis server of its own
(`redis-server` on a free port, nothing saved), so that every Redis counter
read during the run is the cluster's.

Against each it runs, with the client and parameters of the single-process
targets (bench/phases.py): first contact (a warm-up of never-seen
chargers), the storm of known chargers (--cluster-storm of the --storm
prepared, see CLUSTER_STORM), then the same closed loops
(phases.CLOSED_LOOPS: Heartbeat, then MeterValues in a transaction) on C of
them; the reference worker count then runs the single-process storm of
--storm chargers (storm_limit). Around the storm and each closed loop it reads the counters
bench/headroom.py turns into rates: Redis (`redis-cli info stats
commandstats`), PostgreSQL (`pg_stat_database` of the bench database,
through `psql`), each node's metrics (its own port, OCPP_METRICS_PORT), and
the CPU of the server processes, the client, Redis, the database's backends
and the whole machine (psutil). Nothing here imports the server: counters
come over the network or from command-line tools.

A scenario's readings start only once the server is quiet and PostgreSQL's
backends have reported what came before (--pg-stats-lag), so that the
closing of the storm's chargers or the transactions a loop starts with are
not counted in it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import client, measure, phases
from bench.counters import ClusterTarget, Meter, Sampler
from bench.headroom import headroom, node_counters, parse_info
from bench.targets import PG_ADMIN_URL, Django, free_port

#: The cluster's storm (--cluster-storm): a round size both worker counts get
#: answered in full within the storm's 40 s deadline on this 2-core machine,
#: also while it runs other work. One worker cannot answer the single-process
#: targets' 10 000 in that time: a storm's charger costs it 5-6.5 ms of CPU,
#: so even a whole core answers at most 6 000-7 700, and it got 4 534 and
#: 3 616 of 10 000 answered in two runs on this shared machine. The
#: reference worker count still runs that storm last, as storm_limit, and
#: the report says how many of them it got answered.
CLUSTER_STORM = 3000
#: A backend flushes its statistics to pg_stat_database at most once a second
#: while busy, and up to 10 s after its last transaction once idle: the
#: PostgreSQL counters of a scenario are read this long after its end (the
#: default of --pg-stats-lag).
PG_STATS_LAG = 11.0


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports (worker i's metrics are on
    base + i - 1)."""
    for _ in range(50):
        base = free_port()
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


class PrivateRedis:
    """A Redis server of the run's own, on a free port, saving nothing."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("the cluster target needs redis-server on PATH")
        out = (self.directory / "redis.out").open("wb")
        self.proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.directory)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {(self.directory / 'redis.out').read_text()[-1000:]}")
            if self.cli("ping").strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not answer in 20 s")

    def cli(self, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *command], capture_output=True, text=True
        )
        return done.stdout

    def info(self) -> dict:
        return parse_info(self.cli("info", "stats", "clients", "commandstats"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Cluster(Django):
    """`manage.py serve --workers N` on a fresh PostgreSQL database and a
    private Redis; each worker's metrics on a port of its own."""

    def __init__(self, args: argparse.Namespace, workers: int) -> None:
        super().__init__(args, "postgres", name=f"cluster-{workers}")
        self.workers = workers
        self.pg_admin_url = PG_ADMIN_URL
        self.redis = PrivateRedis(self.tmp)
        self.metrics_port = free_ports(workers)

    def env(self) -> dict:
        return {
            **super().env(),
            "REDIS_URL": self.redis.url,
            "OCPP_METRICS_HOST": "127.0.0.1",
            "OCPP_METRICS_PORT": str(self.metrics_port),
        }

    def serve_command(self) -> list[str]:
        return [*super().serve_command(), "--workers", str(self.workers)]

    def metrics_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.metrics_port + i}/metrics" for i in range(self.workers)]

    def nodes(self) -> list[dict]:
        out = []
        for url in self.metrics_urls():
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    out.append(node_counters(r.read().decode()))
            except OSError:
                out.append(node_counters(""))
        return out

    def start(self) -> None:
        self.redis.start()
        super().start()
        # A worker binds its socket before it serves its metrics: once every
        # node answers there, the kernel spreads connections over all of them.
        deadline = time.monotonic() + 60
        while not all(node["node"] for node in self.nodes()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"not every worker of {self.name} came up:\n{self.output()}")
            time.sleep(0.2)

    def processes(self) -> list[psutil.Process]:
        """The supervisor and its workers (the process itself with one worker)."""
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def stop(self) -> None:
        children = self.processes()[1:]
        try:
            super().stop()
        finally:
            # The supervisor stops its workers; one it left behind is ended here.
            _, alive = psutil.wait_procs(children, timeout=15)
            for process in alive:
                process.kill()
            self.redis.stop()


async def settle(meter: Meter, limit: float = 20) -> None:
    """Wait until every server process is quiet again."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await asyncio.to_thread(meter.server_cpu_percent_over, 0.5) < 10:
            return


async def quiet(meter: Meter, args: argparse.Namespace) -> None:
    """The server quiet, then PostgreSQL's counters caught up with it."""
    await settle(meter)
    await asyncio.sleep(args.pg_stats_lag)


async def measured(meter: Meter, run, args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """Run the coroutine `run()` between two readings; its result, the
    headroom over it, and the peaks."""
    before = meter.read()
    with Sampler(meter.target) as sampler:
        result = await run()
    after = meter.read()
    load = [round(x, 2) for x in os.getloadavg()]
    # PostgreSQL's counters only once its backends reported them.
    await asyncio.sleep(args.pg_stats_lag)
    late = meter.read(nodes=False)
    room = headroom(before, after, late, cores=os.cpu_count() or 1)
    room["load"] = load
    return result, room, sampler.peaks()


async def run_cluster_target(target: ClusterTarget, args: argparse.Namespace, probe: bool = False) -> dict:
    """The scenarios against one running cluster (`target.url`), each with
    its headroom; the results by scenario. With `probe` (the reference
    worker count), the single-process targets' storm last, when it is larger
    than the cluster's (storm_limit)."""
    meter = Meter(target)
    results: dict = {"workers": target.workers}
    url = target.url

    def log(name: str, r: dict) -> None:
        r.setdefault("scenario", name)
        print(f"  [{target.name}] {measure.format_result(r)}", flush=True)
        room = r.get("headroom")
        if room:
            print(
                f"  [{target.name}]   redis {room['redis_ops_per_s']} ops/s, {room['redis_connections']} connections,"
                f" layer {room['layer_messages_per_s']} msg/s, pg {room['pg_commits_per_s']} commits/s {room['pg_inserts_per_s']} inserts/s,"
                f" cpu {room['cpu_percent']}, workers {room['workers_cpu_percent']}, peaks {r.get('peaks')},"
                f" load {room.get('load')}",
                flush=True,
            )
        results[name] = r

    # Warm-up, as the single-process targets have: never-seen chargers.
    rec = measure.Recorder()
    first = await phases.first_contact(url, args, rec)
    log("first_contact", {"chargers": args.first_contact, "connected": len(first), **rec.summary()})
    await client.close_all(first)
    await quiet(meter, args)

    async def storm(name: str, count: int) -> list:
        rec = measure.Recorder()

        async def run() -> list:
            return await phases.storm(url, args, rec, count)

        chargers, room, peaks = await measured(meter, run, args)
        s = rec.summary()
        log(
            name,
            {
                "chargers": count,
                "connected": len(chargers),
                "failures": count - len(chargers),
                "deadline": args.storm_deadline,
                "seconds": round(max(rec.latencies, default=0), 2),
                "p50_ms": s["p50_ms"],
                "p99_ms": s["p99_ms"],
                "cpu_percent": room["cpu_percent"]["server"],
                "error_samples": s["error_samples"],
                "headroom": room,
                "peaks": peaks,
            },
        )
        return chargers

    chargers = await storm("storm", storm_size(args))
    client.freeze_heap()

    # By charger id, not by the order they were answered in: the first ones
    # answered are mostly the faster worker's, and the loops would run on it.
    chargers.sort(key=lambda c: c.cp_id)
    keep, extra = chargers[: args.closed], chargers[args.closed :]
    await client.close_all(extra)
    await settle(meter)
    if len(keep) < args.closed:
        keep += await client.connect_many(url, "CLOSED", args.closed - len(keep), concurrency=200, deadline=60)
    if not keep:
        for loop in phases.CLOSED_LOOPS:
            log(loop.name, {"chargers": 0, "_error": "no charger connected for the closed loops"})
        return results
    await quiet(meter, args)

    async def around(loop: phases.ClosedLoop, run) -> None:
        r, room, peaks = await measured(meter, run, args)
        log(
            loop.name,
            {
                "chargers": len(keep),
                **r,
                "cpu_percent": room["cpu_percent"]["server"],
                "headroom": room,
                "peaks": peaks,
            },
        )

    await phases.closed_loops(keep, args, around, lambda: quiet(meter, args))
    await client.close_all(keep)

    if probe and args.storm > storm_size(args):
        # The single-process targets' storm, last, on the reference worker
        # count: how many of its chargers one node gets answered in time.
        await quiet(meter, args)
        await client.close_all(await storm("storm_limit", args.storm))
    return results


def storm_size(args: argparse.Namespace) -> int:
    """The cluster's storm: --cluster-storm, at most --storm."""
    return min(args.cluster_storm, args.storm)


def worker_counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise ValueError(f"--cluster-workers {text!r}: worker counts from 1")
    return counts


def run(args: argparse.Namespace, databases: dict[str, str]) -> dict:
    """Every worker count in turn, each on a fresh database and Redis; with
    the cluster's own time, and the machine's load before and after it (a
    full run's figures are the whole run's)."""
    out: dict = {
        "runs": {},
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }
    began = time.monotonic()
    for workers in worker_counts(args.cluster_workers):
        target = Cluster(args, workers)
        print(f"== cluster, {workers} worker(s)", flush=True)
        started = time.monotonic()
        try:
            target.start()
            database = target.database_version()
            databases[database["vendor"]] = database["version"]
            out["redis"] = str(parse_info(target.redis.cli("info", "server")).get("redis_version", "?"))
            target.precreate(phases.STORM_PREFIX, args.storm, phases.STORM_PASSWORD)
            probe = workers == worker_counts(args.cluster_workers)[0]
            out["runs"][str(workers)] = asyncio.run(run_cluster_target(target, args, probe))
            # What the server warned about goes with the figures.
            log = (target.tmp / "server.out").read_text(errors="replace").splitlines()
            warned = [line for line in log if " WARNING " in line or " ERROR " in line]
            out["runs"][str(workers)]["_server_warnings"] = warned[-20:]
        except Exception as error:
            print(f"cluster with {workers} worker(s) failed: {error}", file=sys.stderr)
            out["runs"][str(workers)] = {"workers": workers, "_error": str(error)[:500]}
        finally:
            target.stop()
        out["runs"][str(workers)]["_seconds"] = round(time.monotonic() - started)
    out["seconds"] = round(time.monotonic() - began)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return out
