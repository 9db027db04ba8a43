"""The hot-path targets `make bench` is judged by, in one place: each row's
threshold, the population it needs, how its figures are shown, and whether a
result met it. docs/benchmarks.md and the README's performance table both
read them, and the runner takes its full-size defaults from them.

Ratios are to the raw floor (bench/baseline.py) measured in the same run by
the same client. A scaled-down run (`--quick`, smaller `--storm`) never meets
a target: each row also needs its full population.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CLOSED_CHARGERS = 1000
HEARTBEAT_RATIO = 0.35
METERVALUES_RATIO = 0.25
IDLE_CHARGERS = 10_000
IDLE_KIB_EACH = 24
IDLE_CPU_PERCENT = 2
STORM_CHARGERS = 10_000
STORM_FLOOR_FACTOR = 3
BACKLOG_MESSAGES = 1000
BACKLOG_RATIO = 0.05
MIXED_CHARGERS = 10_000
MIXED_RATE = 2000
MIXED_P99_MS = 50
FIRST_CALLS = 20
FIRST_CALL_P50_MS = 1
#: PostgreSQL's throughput must be within this share of SQLite's.
POSTGRES_VS_SQLITE = 0.8

BACKENDS = [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]
FLOOR = "baseline"


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rate_ratio(r: dict, floor: dict | None) -> float | None:
    if not floor or not r.get("msg_per_s") or not floor.get("msg_per_s"):
        return None
    return r["msg_per_s"] / floor["msg_per_s"]


def _time_ratio(r: dict, floor: dict | None) -> float | None:
    """The storm: how many times the floor's time the server took."""
    if not floor or not r.get("seconds") or not floor.get("seconds"):
        return None
    return r["seconds"] / floor["seconds"]


def _at_least(value: float | None, threshold: float) -> bool:
    return value is not None and value >= threshold


@dataclass(frozen=True)
class Row:
    scenario: str
    title: str
    target: str
    show: Callable[[dict], str]
    met: Callable[[dict, dict | None], bool]  # (result, the floor's result)
    ratio: Callable[[dict, dict | None], float | None] | None = None
    #: a throughput row, also judged "PostgreSQL within 80 % of SQLite's figure"
    throughput: bool = False
    ratio_text: Callable[[float], str] = "{:.2f}".format


def _rate(r: dict) -> str:
    return f"{fmt(r.get('msg_per_s'))} msg/s (p99 {fmt(r.get('p99_ms'))} ms)"


def _closed_met(threshold: float) -> Callable[[dict, dict | None], bool]:
    def met(r: dict, floor: dict | None) -> bool:
        return r.get("chargers", 0) >= CLOSED_CHARGERS and _at_least(_rate_ratio(r, floor), threshold)

    return met


def _idle(r: dict) -> str:
    return (
        f"{fmt(r.get('chargers'))} held, {fmt(r.get('rss_kib_per_charger'))} KiB each,"
        f" CPU {fmt(r.get('idle_cpu_percent'))} %"
    )


def _idle_met(r: dict, floor: dict | None) -> bool:
    return (
        r.get("chargers", 0) >= IDLE_CHARGERS
        and r.get("rss_kib_per_charger", 1e9) <= IDLE_KIB_EACH
        and r.get("idle_cpu_percent", 1e9) < IDLE_CPU_PERCENT
    )


def _storm(r: dict) -> str:
    return f"{fmt(r.get('connected'))}/{fmt(r.get('chargers'))} in {fmt(r.get('seconds'), 2)} s, {fmt(r.get('failures'))} failed"


def _storm_met(r: dict, floor: dict | None) -> bool:
    ratio = _time_ratio(r, floor)
    return (
        r.get("chargers", 0) >= STORM_CHARGERS
        and r.get("failures") == 0
        and ratio is not None
        and ratio <= STORM_FLOOR_FACTOR
    )


def _backlog(r: dict) -> str:
    if "stored" not in r:
        return f"{fmt(r.get('msg_per_s'))} msg/s, {fmt(r.get('seconds'), 2)} s"
    order = "in order" if r.get("in_order") else "NOT in order"
    return (
        f"{fmt(r.get('msg_per_s'))} msg/s, {fmt(r.get('seconds'), 2)} s,"
        f" {fmt(r.get('stored'))}/{fmt(r.get('expected'))} stored {order}"
    )


def _backlog_met(r: dict, floor: dict | None) -> bool:
    return (
        r.get("messages_sent", 0) >= BACKLOG_MESSAGES
        and r.get("errors", 1) == 0
        and r.get("stored") == r.get("expected")
        and r.get("in_order") is True
        and _at_least(_rate_ratio(r, floor), BACKLOG_RATIO)
    )


def _mixed(r: dict) -> str:
    return (
        f"p99 {fmt(r.get('p99_ms'))} ms, {fmt(r.get('answered'))}/{fmt(r.get('scheduled'))} answered"
        f" ({fmt(r.get('dropped'))} dropped), {fmt(r.get('chargers'))} chargers"
    )


def _mixed_met(r: dict, floor: dict | None) -> bool:
    return (
        r.get("chargers", 0) >= MIXED_CHARGERS
        and r.get("rate", 0) >= MIXED_RATE
        and r.get("p99_ms", 1e9) < MIXED_P99_MS
        and r.get("dropped", 1) == 0
        and r.get("errors", 1) == 0
    )


def _first_call(r: dict) -> str:
    return f"p50 {fmt(r.get('p50_ms'), 2)} ms, p99 {fmt(r.get('p99_ms'), 2)} ms ({fmt(r.get('messages'))} calls)"


def _first_call_met(r: dict, floor: dict | None) -> bool:
    return r.get("messages", 0) >= FIRST_CALLS and r.get("errors", 1) == 0 and r.get("p50_ms", 1e9) < FIRST_CALL_P50_MS


ROWS = [
    Row(
        "heartbeat",
        f"Heartbeat closed loop, {CLOSED_CHARGERS} chargers",
        f"≥ {HEARTBEAT_RATIO} of the floor",
        _rate,
        _closed_met(HEARTBEAT_RATIO),
        _rate_ratio,
        throughput=True,
    ),
    Row(
        "metervalues",
        f"MeterValues (4 sampled values) closed loop, {CLOSED_CHARGERS} chargers",
        f"≥ {METERVALUES_RATIO} of the floor",
        _rate,
        _closed_met(METERVALUES_RATIO),
        _rate_ratio,
        throughput=True,
    ),
    Row(
        "idle",
        f"idle: {IDLE_CHARGERS:,} chargers held",
        f"≤ {IDLE_KIB_EACH} KiB RSS each, < {IDLE_CPU_PERCENT} % CPU",
        _idle,
        _idle_met,
    ),
    Row(
        "storm",
        f"storm: {STORM_CHARGERS:,} chargers connect (Basic auth), boot and send a StatusNotification at once",
        f"all answered within {STORM_FLOOR_FACTOR}x the floor's time, zero failures",
        _storm,
        _storm_met,
        _time_ratio,
        ratio_text="{:.1f}x the time".format,
    ),
    Row(
        "backlog",
        f"backlog: {BACKLOG_MESSAGES} queued messages replayed by one charger",
        f"stored in order, ≥ {BACKLOG_RATIO} of the floor's rate",
        _backlog,
        _backlog_met,
        _rate_ratio,
        throughput=True,
    ),
    Row(
        "mixed",
        f"mixed: {MIXED_CHARGERS:,} chargers at {MIXED_RATE:,} msg/s",
        f"p99 < {MIXED_P99_MS} ms, nothing dropped",
        _mixed,
        _mixed_met,
    ),
    Row(
        "first_call",
        "first CALL of an idle server (one charger, one Heartbeat at a time)",
        f"p50 < {FIRST_CALL_P50_MS} ms",
        _first_call,
        _first_call_met,
    ),
]


def result(results: dict, target: str, scenario: str) -> dict | None:
    data = results.get(target) or {}
    return data.get(scenario) or None


def verdict(row: Row, results: dict, backend: str) -> bool | None:
    """Whether `backend` met the row's target; None when it has no result."""
    r = result(results, backend, row.scenario)
    return None if r is None else bool(row.met(r, result(results, FLOOR, row.scenario)))


def ratio(row: Row, results: dict, backend: str) -> float | None:
    r = result(results, backend, row.scenario)
    if row.ratio is None or r is None:
        return None
    return row.ratio(r, result(results, FLOOR, row.scenario))


def postgres_vs_sqlite(row: Row, results: dict) -> float | None:
    """PostgreSQL's throughput as a share of SQLite's (throughput rows only)."""
    if not row.throughput:
        return None
    sqlite, postgres = result(results, "sqlite", row.scenario), result(results, "postgres", row.scenario)
    if not sqlite or not postgres or not sqlite.get("msg_per_s"):
        return None
    return postgres.get("msg_per_s", 0) / sqlite["msg_per_s"]


def met_text(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "not met")
