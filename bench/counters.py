"""The readings of a cluster run (bench/cluster.py): CPU seconds of process
groups (psutil), PostgreSQL's counters for the bench database (`psql` on
`pg_stat_database`), Redis' (`redis-cli info`) and each node's metrics, put
together as a headroom.Reading; and the one-second peaks while a scenario
runs, from a thread of its own.
"""

from __future__ import annotations

import subprocess
import threading
import time
from typing import Protocol

import psutil

from bench.headroom import Reading, server_commands

#: Seconds between the samples of the peak figures (client CPU, Redis ops/s).
SAMPLE_INTERVAL = 1.0


class RedisServer(Protocol):
    proc: subprocess.Popen | None

    def info(self) -> dict: ...


class ClusterTarget(Protocol):
    """What the readings (and bench/cluster.py's scenarios) need of the
    cluster target."""

    name: str
    url: str
    workers: int
    db_name: str
    pg_admin_url: str
    redis: RedisServer

    def processes(self) -> list[psutil.Process]: ...

    def nodes(self) -> list[dict]: ...


class CpuGroup:
    """CPU seconds (user + system) of a set of processes that may change:
    a process that ended keeps counting what it used while it was seen."""

    def __init__(self) -> None:
        self.known: dict[int, psutil.Process] = {}
        self.used: dict[int, float] = {}

    def seconds(self, processes: list[psutil.Process]) -> float:
        for process in processes:
            self.known.setdefault(process.pid, process)
        for pid, process in self.known.items():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            self.used[pid] = times.user + times.system
        return sum(self.used.values())


def _processes(pids: list[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            pass
    return out


def machine_busy() -> float:
    """Busy CPU seconds of the machine, all cores together."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def worker_node(process: psutil.Process, target: ClusterTarget) -> str:
    """A worker's node name, from its command line (`--worker-index i`)."""
    try:
        argv = process.cmdline()
    except psutil.Error:
        return "?"
    if "--worker-index" in argv:
        return f"bench-{target.name}-{argv[argv.index('--worker-index') + 1]}"
    return f"bench-{target.name}"


class Meter:
    """Takes the Readings of one cluster target."""

    def __init__(self, target: ClusterTarget) -> None:
        self.target = target
        self.server = CpuGroup()
        self.client = CpuGroup()
        self.redis = CpuGroup()
        self.postgres = CpuGroup()
        self.workers: dict[str, CpuGroup] = {}

    def postgres_counters(self) -> tuple[dict, list[int]]:
        """pg_stat_database of the bench database, and its backends' pids."""
        query = (
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted,"
            " (SELECT string_agg(pid::text, ' ') FROM pg_stat_activity a WHERE a.datname = d.datname)"
            f" FROM pg_stat_database d WHERE datname = '{self.target.db_name}'"
        )
        try:
            done = subprocess.run(
                ["psql", "-X", "-At", "-F", "|", "-d", self.target.pg_admin_url, "-c", query],
                capture_output=True,
                text=True,
                timeout=30,
            )
        except (OSError, subprocess.TimeoutExpired):  # no psql, or no answer: no PostgreSQL figures
            return {}, []
        line = done.stdout.strip().splitlines()[-1:] if done.returncode == 0 else []
        if not line:
            return {}, []
        fields = line[0].split("|")
        keys = ["xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted"]
        counters = {key: int(value or 0) for key, value in zip(keys, fields[:5], strict=True)}
        pids = [int(pid) for pid in (fields[5] if len(fields) > 5 else "").split()]
        return counters, pids

    def read(self, *, nodes: bool = True) -> Reading:
        at = time.monotonic()
        postgres, pids = self.postgres_counters()
        processes = self.target.processes()
        workers_cpu = {}
        worker_processes = processes[1:] if len(processes) > 1 else processes
        for process in worker_processes:
            node = worker_node(process, self.target)
            workers_cpu[node] = self.workers.setdefault(node, CpuGroup()).seconds([process])
        redis_proc = self.target.redis.proc
        return Reading(
            at=at,
            redis=self.target.redis.info(),
            postgres=postgres,
            cpu={
                "server": self.server.seconds(processes),
                "client": self.client.seconds([psutil.Process()]),
                "redis": self.redis.seconds(_processes([redis_proc.pid] if redis_proc else [])),
                "postgres": self.postgres.seconds(_processes(pids)),
            },
            workers_cpu=workers_cpu,
            nodes=self.target.nodes() if nodes else [],
            machine_busy=machine_busy(),
        )

    def server_cpu_percent_over(self, seconds: float) -> float:
        first = self.server.seconds(self.target.processes())
        time.sleep(seconds)
        return 100 * (self.server.seconds(self.target.processes()) - first) / seconds


class Sampler:
    """Peaks over one-second intervals while a scenario runs, from a thread of
    its own: the client's and the server's CPU, and Redis commands per second
    (its total_commands_processed, and its own instantaneous_ops_per_sec)."""

    def __init__(self, target: ClusterTarget) -> None:
        self.target = target
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.client_percent: list[float] = []
        self.server_percent: list[float] = []
        self.redis_ops: list[float] = []
        self.redis_instantaneous: list[float] = []
        self.redis_clients: list[float] = []

    def _run(self) -> None:
        me = psutil.Process()
        server, client_cpu = CpuGroup(), CpuGroup()
        last = (time.monotonic(), client_cpu.seconds([me]), server.seconds(self.target.processes()))
        last_commands = server_commands(self.target.redis.info())
        while not self.stopped.wait(SAMPLE_INTERVAL):
            now = (time.monotonic(), client_cpu.seconds([me]), server.seconds(self.target.processes()))
            info = self.target.redis.info()
            wall = max(1e-9, now[0] - last[0])
            self.client_percent.append(100 * (now[1] - last[1]) / wall)
            self.server_percent.append(100 * (now[2] - last[2]) / wall)
            commands = server_commands(info) if "total_commands_processed" in info else last_commands
            self.redis_ops.append((commands - last_commands) / wall)
            self.redis_instantaneous.append(float(info.get("instantaneous_ops_per_sec", 0) or 0))
            self.redis_clients.append(float(info.get("connected_clients", 0) or 0))
            last, last_commands = now, commands

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(10)

    def peaks(self) -> dict:
        def top(values: list[float]) -> float | None:
            return round(max(values), 1) if values else None

        return {
            "client_cpu_percent": top(self.client_percent),
            "server_cpu_percent": top(self.server_percent),
            "redis_ops_per_s": top(self.redis_ops),
            "redis_instantaneous_ops_per_sec": top(self.redis_instantaneous),
            "redis_clients": top(self.redis_clients),
        }
