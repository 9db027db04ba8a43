"""The "Cluster (PostgreSQL + Redis)" section of docs/benchmarks.md and its
line in the README's performance section, from the results of the cluster
target (bench/cluster.py): throughput and p99 per worker count, the scaling
factor, and the headroom of Redis, PostgreSQL and the CPU."""

from __future__ import annotations

from bench.headroom import QUIET_PERCENT, SATURATED_PERCENT, cpu_cost, rate_of, saturated, scaling
from bench.verdicts import fmt

START, END = "<!-- bench:cluster -->", "<!-- /bench:cluster -->"
TITLE = "## Cluster (PostgreSQL + Redis)"
#: The README line of the cluster starts with this, so a later run finds it.
README_PREFIX = "Cluster (`serve --workers`, PostgreSQL + Redis):"
#: The measured scenarios, in the order of the single-process targets' table.
SCENARIOS = ("heartbeat", "metervalues", "storm")
#: What one unit of each scenario's throughput is.
UNITS = {"heartbeat": "msg/s", "metervalues": "msg/s", "storm": "chargers/s"}


def _runs(data: dict) -> list[tuple[int, dict]]:
    """(workers, results) in worker order."""
    return sorted(((int(n), r) for n, r in (data.get("runs") or {}).items()), key=lambda item: item[0])


def _workers(n: int) -> str:
    return f"{n} worker" + ("" if n == 1 else "s")


def _figure(scenario: str, r: dict | None) -> str:
    if not r:
        return "–"
    if "_error" in r:
        return f"failed: {r['_error']}"
    if scenario == "storm":
        rate = rate_of(r)
        return (
            f"{fmt(r.get('connected'))}/{fmt(r.get('chargers'))} in {fmt(r.get('seconds'), 2)} s"
            f" ({fmt(rate)} chargers/s, p99 {fmt(r.get('p99_ms'))} ms)"
        )
    return f"{fmt(r.get('msg_per_s'))} msg/s (p99 {fmt(r.get('p99_ms'))} ms)"


def scaling_factors(data: dict) -> dict[str, float | None]:
    """Per scenario: the last worker count's throughput over the first's."""
    runs = _runs(data)
    if len(runs) < 2:
        return dict.fromkeys(SCENARIOS)
    (_, first), (_, last) = runs[0], runs[-1]
    return {s: scaling(first.get(s), last.get(s)) for s in SCENARIOS}


def _storm_size(runs: list[tuple[int, dict]], a: dict) -> str:
    """The cluster storm's chargers, and the single-process storm's when larger."""
    size = next(
        ((r.get("storm") or {}).get("chargers") for _, r in runs if (r.get("storm") or {}).get("chargers")), None
    )
    size = size or a.get("storm")
    single = a.get("storm")
    text = f"{fmt(size)} chargers (Basic auth, deadline {a.get('storm_deadline')} s"
    if single and size and single > size:
        text += f"; the single-process targets' storm of {fmt(single)} runs last, with the first worker count"
    return text + ")"


def _title(scenario: str, runs: list[tuple[int, dict]]) -> str:
    r = next((r[scenario] for _, r in runs if r.get(scenario)), {})
    if scenario == "storm":
        return (
            f"storm: {fmt(r.get('chargers'))} known chargers connect (Basic auth), boot and send a"
            " StatusNotification at once"
        )
    if scenario == "metervalues":
        return f"MeterValues (4 sampled values) closed loop, {fmt(r.get('chargers'))} chargers"
    return f"Heartbeat closed loop, {fmt(r.get('chargers'))} chargers"


def _cpu(room: dict) -> str:
    cpu = room.get("cpu_percent") or {}
    workers = room.get("workers_cpu_percent") or {}
    per_worker = " + ".join(fmt(v) for v in workers.values())
    server = fmt(cpu.get("server")) + (f" ({per_worker})" if len(workers) > 1 else "")
    return server


def headroom_rows(runs: list[tuple[int, dict]]) -> list[str]:
    out = [
        "| scenario | workers | Redis ops/s (peak) | channel-layer msg/s | PostgreSQL commits/s | inserts/s"
        " | server CPU % (per worker) | client CPU % (peak) | Redis CPU % | PostgreSQL CPU % | machine CPU %"
        " | others' CPU % | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        for n, r in runs:
            result = r.get(scenario) or {}
            room = result.get("headroom")
            if not room:
                continue
            peaks = result.get("peaks") or {}
            cpu = room.get("cpu_percent") or {}
            cells = [
                scenario,
                str(n),
                f"{fmt(room.get('redis_ops_per_s'))} ({fmt(peaks.get('redis_ops_per_s'))})",
                fmt(room.get("layer_messages_per_s")),
                fmt(room.get("pg_commits_per_s")),
                fmt(room.get("pg_inserts_per_s")),
                _cpu(room),
                f"{fmt(cpu.get('client'))} ({fmt(peaks.get('client_cpu_percent'))})",
                fmt(cpu.get("redis")),
                fmt(cpu.get("postgres")),
                f"{fmt(cpu.get('machine'))} of {fmt(room.get('cores_percent'))}",
                fmt(cpu.get("other")),
                " / ".join(fmt(x, 2) for x in room.get("load") or []) or "–",
            ]
            out.append("| " + " | ".join(cells) + " |")
    return out


def cost_rows(runs: list[tuple[int, dict]]) -> list[str]:
    """CPU milliseconds per message (per charger for the storm), and what the
    machine's cores would carry at that cost."""
    out = [
        "| scenario | workers | server ms | PostgreSQL ms | Redis ms | client ms | total ms"
        " | per second of server CPU | ceiling of the machine's cores |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        for n, r in runs:
            result = r.get(scenario) or {}
            cores = ((result.get("headroom") or {}).get("cores_percent") or 200) // 100
            cost = cpu_cost(result, cores=cores)
            if cost is None:
                continue
            cells = [scenario, str(n)]
            cells += [fmt(cost[key], 3) for key in ("server_ms", "postgres_ms", "redis_ms", "client_ms", "total_ms")]
            cells += [fmt(cost["per_server_cpu_second"]), f"{fmt(cost['ceiling_per_s'])}/s on {cores} cores"]
            out.append("| " + " | ".join(cells) + " |")
    return out


def notes(runs: list[tuple[int, dict]]) -> list[str]:
    """Worker balance and batches, the client's CPU, the commands Redis ran."""
    out = []
    for scenario in SCENARIOS:
        for n, r in runs:
            result = r.get(scenario) or {}
            room = result.get("headroom")
            if not room:
                continue
            nodes = room.get("nodes") or []
            parts = [
                f"{node.get('node') or '?'} {fmt(node.get('calls_in'))} CALLs"
                + (f" ({100 * node['share']:.0f} %)" if node.get("share") is not None else "")
                + f", mean batch {fmt(node.get('mean_batch'))}"
                for node in nodes
            ]
            top = ", ".join(f"{name} {fmt(calls)}" for name, calls in (room.get("redis_top_commands") or {}).items())
            line = f"- {scenario}, {_workers(n)}: " + ("; ".join(parts) or "no node metrics")
            line += f"; Redis commands: {top or 'none'}"
            line += (
                f"; channel layer: {fmt(room.get('layer_sends'))} sends, {fmt(room.get('layer_group_sends'))}"
                f" group sends, {fmt(room.get('layer_receives'))} receives"
            )
            clients = (result.get("peaks") or {}).get("redis_clients")
            line += f"; {fmt(room.get('redis_connections'))} connections opened to Redis" + (
                f" (at most {fmt(clients, 0)} open at once)" if clients else ""
            )
            out.append(line + ".")
            cpu = room.get("cpu_percent") or {}
            peak = (result.get("peaks") or {}).get("client_cpu_percent") or 0
            if saturated(cpu) or peak >= SATURATED_PERCENT:
                out.append(
                    f"  The load client used {fmt(cpu.get('client'))} % of a core (peak {fmt(peak)} % over one"
                    " second): it saturates a core, and on 2 cores it competes with the workers for the CPU, so"
                    " this figure is bounded by the client as much as by the server."
                )
    return out


def storm_notes(runs: list[tuple[int, dict]]) -> list[str]:
    """A storm that did not get every charger answered within its deadline."""
    out = []
    for n, r in runs:
        storm = r.get("storm") or {}
        if not storm.get("failures") or "_error" in storm:
            continue
        out.append(
            f"- storm, {_workers(n)}: {fmt(storm.get('connected'))} of {fmt(storm.get('chargers'))} chargers"
            f" answered within the {fmt(storm.get('deadline'))} s deadline ({fmt(rate_of(storm))} chargers/s);"
            f" the client gave up on the other {fmt(storm.get('failures'))}. Its factor compares chargers"
            " answered per second."
        )
    return out


def limit_notes(runs: list[tuple[int, dict]]) -> list[str]:
    """Why the cluster's storm is smaller than the single-process targets',
    from the reference worker count's run of that larger storm."""
    out = []
    for n, r in runs:
        limit = r.get("storm_limit")
        if not limit or "_error" in limit:
            continue
        storm = r.get("storm") or {}
        size, deadline = fmt(limit.get("chargers")), fmt(limit.get("deadline"))
        if not limit.get("failures"):
            out.append(
                f"- storm at the single-process scale, {_workers(n)}: all {size} answered in"
                f" {fmt(limit.get('seconds'), 2)} s: the cluster's storm could run at it (`--cluster-storm {size}`)."
            )
            continue
        line = (
            f"- storm scale: {fmt(storm.get('chargers'))} chargers (`--cluster-storm`), not the single-process"
            f" targets' {size}, because one worker does not get {size} answered within the {deadline} s deadline"
            f" on this machine. Measured in this run, last, with {_workers(n)}: {fmt(limit.get('connected'))} of"
            f" {size} answered within {deadline} s ({fmt(rate_of(limit))} chargers/s, server"
            f" {fmt(limit.get('cpu_percent'))} % of a core, others {fmt(_other(limit))} %); the client gave up on"
            f" the other {fmt(limit.get('failures'))}."
        )
        cost = cpu_cost(storm)
        if cost and cost.get("server_ms") and limit.get("deadline"):
            most = int(limit["deadline"] * 1000 / cost["server_ms"])
            line += (
                f" At the {fmt(storm.get('chargers'))}-charger storm's {fmt(cost['server_ms'], 2)} ms of server CPU"
                f" per charger, one worker with a whole core to itself would answer at most {fmt(most)} in"
                f" {deadline} s."
            )
        out.append(line)
    return out


def _other(result: dict) -> float | None:
    return ((result.get("headroom") or {}).get("cpu_percent") or {}).get("other")


def others(runs: list[tuple[int, dict]]) -> dict | None:
    """The CPU the rest of the machine (every process but the run's own) used
    during the measured scenarios, in % of one core: lowest, highest, mean."""
    values = [_other(r.get(scenario) or {}) for scenario in SCENARIOS for _, r in runs]
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 1)}


def machine_line(meta: dict, data: dict, runs: list[tuple[int, dict]]) -> str:
    """The load of the rest of the machine while the cluster ran."""
    before = data.get("load_before", meta.get("load_before"))
    after = data.get("load_after", meta.get("load_after"))
    line = f"- the rest of the machine: load average {before} before the cluster runs, {after} after them"
    rest = others(runs)
    if rest is None:
        return line + "."
    line += (
        f"; other processes used {fmt(rest['min'])}-{fmt(rest['max'])} % of a core during the measured"
        f" scenarios (mean {fmt(rest['mean'])} %, the others' CPU column below)"
    )
    if rest["max"] >= QUIET_PERCENT:
        line += (
            ": the machine was not quiet, and what they took the run did not have, so these figures are lower bounds"
        )
    return line + "."


def cluster_section(meta: dict, data: dict) -> list[str]:
    """The whole section, between its markers."""
    runs = _runs(data)
    a = meta.get("args", {})
    lines = [START, TITLE, ""]
    if not runs:
        return [*lines, "No cluster run.", END]
    factors = scaling_factors(data)
    first, last = runs[0][0], runs[-1][0]
    lines += [
        "`manage.py serve --workers N`: N server processes on one port (SO_REUSEPORT), each a node of its own,"
        " on a fresh migrated PostgreSQL database per worker count with the storm's chargers prepared as for the"
        " PostgreSQL target, and a Redis server of the run's own (so every Redis counter is the cluster's alone)."
        " Same client, scenarios and parameters as the single-process targets: a warm-up of never-seen chargers,"
        " the storm, then the Heartbeat closed loop and the MeterValues closed loop (4 sampled values, in a"
        " transaction started first) on the same chargers. Each scenario starts once the server is quiet and"
        " PostgreSQL's counters have caught up.",
        "",
        f"- date: {data.get('date', meta.get('date'))}, duration {data.get('seconds', meta.get('seconds'))} s;"
        f" server code at commit {meta.get('commit', '?')}",
        f"- machine: {meta.get('machine')}",
        machine_line(meta, data, runs),
        f"- Redis {data.get('redis', '?')}, PostgreSQL {meta.get('versions', {}).get('postgresql', '?')}",
        f"- parameters: storm {_storm_size(runs, a)},"
        f" closed loops {fmt(a.get('closed'))} chargers for {a.get('closed_duration')} s each, warm-up"
        f" {fmt(a.get('first_contact'))} new chargers, workers {a.get('cluster_workers')}",
        f"- command: `{meta.get('command')}`",
        "",
        f"| scenario | {' | '.join(_workers(n) for n, _ in runs)} | {_workers(last)} / {_workers(first)} |",
        "|---" * (len(runs) + 2) + "|",
    ]
    for scenario in SCENARIOS:
        cells = [_title(scenario, runs), *(_figure(scenario, r.get(scenario)) for _, r in runs)]
        factor = factors.get(scenario)
        cells.append("–" if factor is None else f"{factor:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    failed = [(n, r["_error"]) for n, r in runs if "_error" in r]
    lines += [f"\n{_workers(n)} failed: `{error}`" for n, error in failed]
    short = [*storm_notes(runs), *limit_notes(runs)]
    lines += ["", *short] if short else []
    lines += [
        "",
        "### Headroom",
        "",
        "Over each scenario (from its start to its last answer): Redis commands per second"
        " (total_commands_processed; peak over one second in brackets), channel-layer messages per second"
        " (channels_redis sends and group sends, counted by the commands each issues once), PostgreSQL commits"
        " and inserted rows per second (pg_stat_database of the bench database), and CPU in % of one core"
        " (psutil over each process tree: the server's supervisor and workers, the load client, Redis, the"
        " database's backends; the machine as a whole, and what the rest of it ran).",
        "",
        *headroom_rows(runs),
        "",
        *notes(runs),
        "",
        "CPU per unit of throughput (a Heartbeat; a MeterValues; a storm's charger, which sends a BootNotification"
        " and a StatusNotification), from the CPU above over the throughput: the milliseconds each part of the"
        " system spent on it, the throughput per second of server CPU (equal figures for 1 and 2 workers mean"
        " the workers scale with the CPU they get), and the ceiling, the throughput the machine's cores would"
        " carry at that total cost if the run had them to itself (server, database, Redis and client share them).",
        "",
        *cost_rows(runs),
        END,
    ]
    return lines


def readme_line(meta: dict, data: dict) -> str | None:
    runs = _runs(data)
    if len(runs) < 2:
        return None
    factors = scaling_factors(data)
    (n1, first), (n2, last) = runs[0], runs[-1]

    def part(scenario: str) -> str:
        low, high = rate_of(first.get(scenario) or {}), rate_of(last.get(scenario) or {})
        factor = factors.get(scenario)
        return f"{scenario} {fmt(high)} {UNITS[scenario]} with {n2} vs {fmt(low)} with {n1}" + (
            f" ({factor:.2f}x)" if factor is not None else ""
        )

    return (
        f"{README_PREFIX} {', '.join(part(scenario) for scenario in SCENARIOS)}"
        f" ({data.get('date', meta.get('date'))}; headroom in [docs/benchmarks.md](docs/benchmarks.md))."
    )
