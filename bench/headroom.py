"""What a cluster run leaves to spare, from counter readings taken before and
after a scenario: Redis commands and channel-layer messages per second,
PostgreSQL commits and inserted rows per second, the CPU of each process
group, and how much faster N workers were than one.

Pure functions over plain readings (the texts of `redis-cli info` and of a
node's Prometheus metrics, numbers from `pg_stat_database`, CPU seconds):
bench/cluster.py takes the readings, this module only does the arithmetic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: A process group above this share of one core (its mean over the run) is
#: taken as saturating it: the client is one asyncio thread.
SATURATED_PERCENT = 90.0
#: channels_redis issues one ZCOUNT per `send` (the capacity check) and one
#: ZRANGE per `group_send` (the group's members), and nothing else the server
#: runs uses either: their calls count the channel-layer messages sent.
LAYER_SEND_COMMAND = "zcount"
LAYER_GROUP_SEND_COMMAND = "zrange"
#: The rest of the machine at or above this share of one core (its mean over
#: a scenario) makes the run's figures lower bounds: the machine was not quiet.
QUIET_PERCENT = 10.0
#: Each receive is one BZPOPMIN (also when it times out empty).
LAYER_RECEIVE_COMMAND = "bzpopmin"
#: What the bench itself asks its Redis (its readings): not the server's load.
BENCH_COMMANDS = frozenset({"info", "ping"})


def parse_info(text: str) -> dict:
    """`redis-cli info` output: `key:value` lines (numbers as numbers), and
    the `cmdstat_<name>` lines of its commandstats section as
    {"commands": {name: calls}}."""
    out: dict = {"commands": {}}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        if key.startswith("cmdstat_"):
            fields = dict(part.split("=", 1) for part in value.split(",") if "=" in part)
            out["commands"][key[len("cmdstat_") :].lower()] = int(fields.get("calls", 0))
            continue
        out[key] = _number(value)
    return out


def _number(value: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Prometheus' text format: (name, labels, value) per sample line."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        try:
            number = float(value)
        except ValueError:
            continue
        samples.append((name, dict(_LABEL.findall(labels or "")), number))
    return samples


def node_counters(text: str) -> dict:
    """What the bench reads of one node's metrics: CALLs received from
    chargers, chargers connected, and the group-commit batches (count and
    total calls, whose ratio is the mean batch size)."""
    out = {"node": "", "calls_in": 0.0, "connected": 0.0, "batches": 0.0, "batched_calls": 0.0}
    for name, labels, value in parse_metrics(text):
        if name == "ocpp_messages_total" and labels.get("direction") == "in":
            out["calls_in"] += value
        elif name == "ocpp_chargers_connected":
            out["connected"] = value
        elif name == "ocpp_group_commit_batch_size_count":
            out["batches"] = value
        elif name == "ocpp_group_commit_batch_size_sum":
            out["batched_calls"] = value
        elif name == "ocpp_node_info":
            out["node"] = labels.get("node_id", "")
    return out


@dataclass
class Reading:
    """Every counter the bench reads at one moment of a cluster run."""

    #: monotonic seconds
    at: float
    #: parse_info of the private Redis (stats and commandstats)
    redis: dict = field(default_factory=dict)
    #: pg_stat_database of the bench database: xact_commit, tup_inserted, ...
    postgres: dict = field(default_factory=dict)
    #: CPU seconds (user + system) per process group: "server", "client", ...
    cpu: dict = field(default_factory=dict)
    #: CPU seconds per worker (its node id)
    workers_cpu: dict = field(default_factory=dict)
    #: node_counters per worker, in worker order
    nodes: list = field(default_factory=list)
    #: busy CPU seconds of the whole machine, all cores
    machine_busy: float = 0.0


def server_commands(info: dict) -> int:
    """Commands Redis processed, less the bench's own (parse_info of `info
    stats commandstats`)."""
    own = sum(calls for name, calls in info.get("commands", {}).items() if name in BENCH_COMMANDS)
    return int(info.get("total_commands_processed") or 0) - own


def _rate(delta: float, seconds: float) -> float:
    return round(delta / seconds, 1) if seconds > 0 else 0.0


def _delta(after: dict, before: dict, key: str) -> float:
    return (after.get(key) or 0) - (before.get(key) or 0)


def headroom(before: Reading, after: Reading, pg_after: Reading | None = None, cores: int = 2) -> dict:
    """Rates and CPU shares between two readings. `pg_after` is a later
    reading of PostgreSQL's counters (a backend reports its statistics up
    to seconds after its transactions): its counts are divided by the same
    run time, `after.at - before.at`."""
    seconds = max(1e-9, after.at - before.at)
    calls_before, calls_after = before.redis.get("commands", {}), after.redis.get("commands", {})
    by_command = {name: calls_after[name] - calls_before.get(name, 0) for name in calls_after}
    own_reads = sum(n for name, n in by_command.items() if name in BENCH_COMMANDS)
    by_command = {name: n for name, n in by_command.items() if n > 0 and name not in BENCH_COMMANDS}
    commands = max(0, server_commands(after.redis) - server_commands(before.redis))
    sends = by_command.get(LAYER_SEND_COMMAND, 0)
    group_sends = by_command.get(LAYER_GROUP_SEND_COMMAND, 0)
    pg = (pg_after or after).postgres
    cpu = {name: round(100 * (after.cpu.get(name, 0) - before.cpu.get(name, 0)) / seconds, 1) for name in after.cpu}
    machine = round(100 * (after.machine_busy - before.machine_busy) / seconds, 1)
    cpu["machine"] = machine
    cpu["other"] = round(max(0.0, machine - sum(v for k, v in cpu.items() if k != "machine")), 1)
    workers = {
        node: round(100 * (seconds_after - before.workers_cpu.get(node, 0)) / seconds, 1)
        for node, seconds_after in after.workers_cpu.items()
    }
    return {
        "seconds": round(seconds, 2),
        "redis_commands": int(commands),
        "redis_ops_per_s": _rate(commands, seconds),
        "layer_sends": int(sends),
        "layer_group_sends": int(group_sends),
        "layer_messages_per_s": _rate(sends + group_sends, seconds),
        "layer_receives": int(by_command.get(LAYER_RECEIVE_COMMAND, 0)),
        "redis_top_commands": dict(sorted(by_command.items(), key=lambda kv: -kv[1])[:6]),
        # Connections the server opened to Redis (the bench's readings open one each).
        "redis_connections": int(max(0, _delta(after.redis, before.redis, "total_connections_received") - own_reads)),
        "redis_rejected_connections": int(_delta(after.redis, before.redis, "rejected_connections")),
        "pg_commits": int(_delta(pg, before.postgres, "xact_commit")),
        "pg_commits_per_s": _rate(_delta(pg, before.postgres, "xact_commit"), seconds),
        "pg_inserts_per_s": _rate(_delta(pg, before.postgres, "tup_inserted"), seconds),
        "pg_updates_per_s": _rate(_delta(pg, before.postgres, "tup_updated"), seconds),
        "cpu_percent": cpu,
        "cores_percent": 100 * cores,
        "workers_cpu_percent": workers,
        "nodes": node_deltas(before.nodes, after.nodes),
    }


def node_deltas(before: list[dict], after: list[dict]) -> list[dict]:
    """Per worker: CALLs received, its share of all of them, chargers it held
    at the end, and the mean group-commit batch over the run."""
    rows = []
    total = 0.0
    for i, end in enumerate(after):
        start = before[i] if i < len(before) else {}
        calls = end.get("calls_in", 0) - start.get("calls_in", 0)
        batches = end.get("batches", 0) - start.get("batches", 0)
        batched = end.get("batched_calls", 0) - start.get("batched_calls", 0)
        total += calls
        rows.append(
            {
                "node": end.get("node", ""),
                "calls_in": int(calls),
                "connected": int(end.get("connected", 0)),
                "mean_batch": round(batched / batches, 1) if batches else None,
            }
        )
    for row in rows:
        row["share"] = round(row["calls_in"] / total, 2) if total else None
    return rows


def rate_of(result: dict) -> float | None:
    """The throughput a scenario is compared by: msg/s of a closed loop; for
    a storm, chargers answered per second of the storm (the last answer's
    time: all of them start at once)."""
    if not result or "_error" in result:
        return None
    if result.get("scenario") == "storm" or "connected" in result:
        seconds = result.get("seconds") or 0
        return result.get("connected", 0) / seconds if seconds else None
    return result.get("msg_per_s") or None


def scaling(one: dict | None, many: dict | None) -> float | None:
    """How many times one worker's throughput N workers reached."""
    low, high = rate_of(one or {}), rate_of(many or {})
    if not low or high is None:
        return None
    return round(high / low, 2)


def saturated(cpu_percent: dict, group: str = "client", threshold: float = SATURATED_PERCENT) -> bool:
    """Whether a process group (by default the load client) used most of a core."""
    return cpu_percent.get(group, 0.0) >= threshold


#: The process groups a message costs CPU in; the rest of the machine is not the run's.
COST_GROUPS = ("server", "postgres", "redis", "client")


def cpu_cost(result: dict, cores: int = 2) -> dict | None:
    """CPU milliseconds one unit of a scenario's throughput (a message, or a
    storm's charger) cost in each process group, their total, the
    throughput per second of server CPU, and the ceiling: what `cores`
    would carry at that total cost with nothing else running."""
    rate = rate_of(result)
    cpu = ((result or {}).get("headroom") or {}).get("cpu_percent") or {}
    if not rate or not cpu.get("server"):
        return None
    spent = {f"{group}_ms": 10 * cpu.get(group, 0.0) / rate for group in COST_GROUPS}
    total = sum(spent.values())
    out = {key: round(ms, 3) for key, ms in spent.items()}
    out["total_ms"] = round(total, 3)
    out["per_server_cpu_second"] = round(rate / (cpu["server"] / 100), 1)
    out["ceiling_per_s"] = round(cores * 1000 / total, 1) if total else None
    return out
