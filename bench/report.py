"""Render benchmark results as docs/benchmarks.md (tables, targets, ratios).

The hand-written analysis between the `<!-- findings -->` markers of the
existing file is kept when the file is regenerated."""

from __future__ import annotations

from pathlib import Path

START, END = "<!-- findings -->", "<!-- /findings -->"
#: Where `make bench` writes its report, and whose analysis a new report keeps.
BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BACKENDS = [("sqlite", "SQLite"), ("postgres", "PostgreSQL")]


def _get(results: dict, target: str, scenario: str, key: str):
    return (results.get(target) or {}).get(scenario, {}).get(key)


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(a, b) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}"


def _met(ok: bool | None) -> str:
    return "–" if ok is None else ("**met**" if ok else "not met")


def targets_table(results: dict, args: dict) -> list[str]:
    def cell(target: str, scenario: str, fmt) -> str:
        r = (results.get(target) or {}).get(scenario)
        return fmt(r) if r else "–"

    def idle(r):
        return f"{_fmt(r.get('chargers'))} held, {_fmt(r.get('rss_kib_per_charger'))} KiB each, CPU {_fmt(r.get('idle_cpu_percent'))} %"

    def idle_ok(r):
        return (
            r.get("chargers", 0) >= 10000
            and r.get("rss_kib_per_charger", 1e9) <= 30
            and r.get("idle_cpu_percent", 1e9) < 5
        )

    def rate(r):
        return f"{_fmt(r.get('msg_per_s'))} msg/s (p99 {_fmt(r.get('p99_ms'))} ms)"

    def mixed(r):
        return (
            f"p99 {_fmt(r.get('p99_ms'))} ms at {_fmt(r.get('msg_per_s'))} of {_fmt(r.get('rate'), 0)} msg/s, "
            f"{_fmt(r.get('chargers'))} chargers, {_fmt(r.get('errors'))} errors"
        )

    def mixed_ok(r):
        return r.get("chargers", 0) >= 10000 and r.get("p99_ms", 1e9) < 50 and r.get("errors", 1) == 0

    def storm(r):
        last = "all in" if not r.get("failures") else "last answer at"
        return (
            f"{_fmt(r.get('answered_in_15s'))}/{_fmt(r.get('chargers'))} answered in 15 s, {last} {_fmt(r.get('seconds'))} s, "
            f"{_fmt(r.get('failures'))} failed"
        )

    def storm_ok(r):
        return (
            r.get("chargers", 0) >= 10000 and r.get("answered_in_15s") == r.get("chargers") and r.get("failures") == 0
        )

    def backlog(r):
        return (
            f"{_fmt(r.get('seconds'), 2)} s, {_fmt(r.get('stored'))}/{_fmt(r.get('expected'))} MeterValues stored, "
            f"{'in order' if r.get('in_order') else 'NOT in order'}"
            if "stored" in r
            else f"{_fmt(r.get('seconds'), 2)} s"
        )

    def backlog_ok(r):
        return r.get("seconds", 1e9) < 5 and r.get("stored") == r.get("expected") and r.get("in_order") is True

    rows = [
        ("idle chargers held", "10 000, ≤ 30 KiB RSS each, idle CPU < 5 %", "idle", idle, idle_ok, None),
        ("Heartbeat closed loop", f"≥ 0.30 of baseline ({args.get('closed')} chargers)", "heartbeat", rate, None, 0.30),
        ("MeterValues (4 values) closed loop", "≥ 0.20 of baseline", "metervalues", rate, None, 0.20),
        ("mixed fixed rate", "10 000 chargers, 1000 msg/s, p99 < 50 ms", "mixed", mixed, mixed_ok, None),
        ("storm: connect + boot at once", "10 000 answered in 15 s, 0 failures", "storm", storm, storm_ok, None),
        ("backlog on one charger", "1000 messages stored in order, < 5 s", "backlog", backlog, backlog_ok, None),
    ]
    out = [
        "| scenario | target | baseline | SQLite | PostgreSQL | SQLite ratio | PostgreSQL ratio | SQLite | PostgreSQL |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for title, target, scenario, fmt, ok, min_ratio in rows:
        base_rate = _get(results, "baseline", scenario, "msg_per_s")
        cells = [title, target, cell("baseline", scenario, fmt)]
        ratios, verdicts = [], []
        for key, _ in BACKENDS:
            cells.append(cell(key, scenario, fmt))
            r = (results.get(key) or {}).get(scenario)
            value = r.get("msg_per_s") if r else None
            ratios.append(_ratio(value, base_rate) if min_ratio is not None else "–")
            if not r:
                verdicts.append(_met(None))
            elif min_ratio is not None:
                verdicts.append(_met(bool(value and base_rate and value / base_rate >= min_ratio)))
            else:
                verdicts.append(_met(ok(r)))
        out.append("| " + " | ".join(cells + ratios + verdicts) + " |")
    return out


def detail_table(results: dict) -> list[str]:
    keys = [
        "chargers",
        "connected",
        "msg_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "seconds",
        "cpu_percent",
        "idle_cpu_percent",
        "rss_mib",
        "rss_kib_per_charger",
        "sessions_per_s",
        "answered_in_15s",
        "stored",
        "in_order",
    ]
    out = []
    for target, title in [("baseline", "baseline (raw websockets, fixed replies)"), *BACKENDS]:
        data = results.get(target)
        if not data:
            continue
        out += ["", f"#### {title}", ""]
        if "_error" in data:
            out.append(f"Failed: `{data['_error']}`")
            continue
        scenarios = [s for s in data if not s.startswith("_")]
        used = [k for k in keys if any(k in data[s] for s in scenarios)]
        out.append("| scenario | " + " | ".join(used) + " |")
        out.append("|---" * (len(used) + 1) + "|")
        for s in scenarios:
            out.append(f"| {s} | " + " | ".join(_fmt(data[s].get(k)) for k in used) + " |")
        errors = {s: data[s]["error_samples"] for s in scenarios if data[s].get("error_samples")}
        for s, samples in errors.items():
            out.append(f"\n{s} errors (first): `{'`, `'.join(samples[:2])}`")
    return out


def render(meta: dict, results: dict, previous: Path | None = None) -> str:
    previous = previous or BENCHMARKS_MD
    findings = f"{START}\n(analysis goes here)\n{END}"
    if previous.exists():
        text = previous.read_text()
        if START in text and END in text:
            findings = text[text.index(START) : text.index(END) + len(END)]
    a = meta["args"]
    v = meta["versions"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench.runner`); the analysis section is written by hand",
        "and kept when the file is regenerated. Reproduce with `make bench` on a fresh checkout.",
        "",
        "## Run",
        "",
        f"- date: {meta['date']}, duration {meta['seconds']} s; server code at commit {meta.get('commit', '?')}",
        f"- machine: {meta['machine']}; load average before/after: {meta['load_before']} / {meta['load_after']}",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "- server: `manage.py serve` (uvicorn, one process, the production settings: validation on, every message"
        " persisted, message log on), fresh migrated database per backend; PostgreSQL over TCP on 127.0.0.1",
        "- baseline: `python -m bench.baseline` (raw `websockets` server, fixed JSON replies)",
        "- client: `bench.client` (one asyncio process, `websockets` Sans-I/O protocol on asyncio transports),"
        " on the same 2-core machine as the server",
        f"- parameters: storm/idle/mixed population {a['storm']}, storm deadline {a['storm_deadline']} s,"
        f" idle hold {a['idle_hold']} s, mixed {a['mixed_rate']} msg/s for {a['mixed_duration']} s,"
        f" closed loops {a['closed']} chargers for {a['closed_duration']} s, backlog {a['backlog']} messages,"
        f" {a['tx_chargers']} full sessions, first contact {a['first_contact']} new chargers",
        f"- command: `{meta['command']}`",
        "",
        "## Targets",
        "",
        *targets_table(results, a),
        "",
        "## All figures",
        *detail_table(results),
        "",
        "## Analysis",
        "",
        findings,
        "",
    ]
    return "\n".join(lines)
