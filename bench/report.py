"""Render benchmark results as docs/benchmarks.md (targets, ratios, every
figure, links to the profiles) and as the README's performance table.

The hand-written analysis between the `<!-- findings -->` markers of the
existing file is kept when the file is regenerated. In the README, only the
section between the `<!-- bench:performance -->` markers is rewritten.

The cluster section (bench/cluster_report.py, between its own markers) is
kept from the existing file by a run without the cluster target; a run of
the cluster target alone replaces that section and leaves the rest of the
file, and of the README's section, as it was."""

from __future__ import annotations

import os
from pathlib import Path

from bench import cluster_report
from bench.verdicts import (
    BACKENDS,
    FLOOR,
    POSTGRES_VS_SQLITE,
    ROWS,
    fmt,
    met_text,
    postgres_vs_sqlite,
    ratio,
    result,
    verdict,
)

START, END = "<!-- findings -->", "<!-- /findings -->"
README_START, README_END = "<!-- bench:performance -->", "<!-- /bench:performance -->"
ROOT = Path(__file__).resolve().parent.parent
#: Where `make bench` writes its report, and whose analysis a new report keeps.
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
README_MD = ROOT / "README.md"


def _cell(results: dict, target: str, row) -> str:
    r = result(results, target, row.scenario)
    return row.show(r) if r else "–"


def _pg_cell(row, results: dict) -> str:
    share = postgres_vs_sqlite(row, results)
    if share is None:
        return "–"
    return f"{share:.2f} ({met_text(share >= POSTGRES_VS_SQLITE)})"


def targets_table(results: dict) -> list[str]:
    out = [
        "| scenario | target | floor | SQLite | PostgreSQL | SQLite ratio | PostgreSQL ratio | SQLite"
        f" | PostgreSQL | PostgreSQL ≥ {POSTGRES_VS_SQLITE} of SQLite |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        cells = [row.title, row.target, _cell(results, FLOOR, row)]
        cells += [_cell(results, key, row) for key, _ in BACKENDS]
        for key, _ in BACKENDS:
            value = ratio(row, results, key)
            cells.append("–" if value is None else row.ratio_text(value))
        cells += [met_text(verdict(row, results, key)) for key, _ in BACKENDS]
        cells.append(_pg_cell(row, results))
        out.append("| " + " | ".join(cells) + " |")
    return out


DETAIL_KEYS = [
    "chargers",
    "connected",
    "msg_per_s",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "errors",
    "failures",
    "scheduled",
    "sent",
    "answered",
    "dropped",
    "seconds",
    "connect_ms",
    "cpu_percent",
    "idle_cpu_percent",
    "rss_mib",
    "rss_kib_per_charger",
    "sessions_per_s",
    "stored",
    "in_order",
]


def detail_table(results: dict) -> list[str]:
    out = []
    for target, title in [(FLOOR, "floor (raw websockets, fixed replies)"), *BACKENDS]:
        data = results.get(target)
        if not data:
            continue
        out += ["", f"#### {title}", ""]
        if "_error" in data:
            out.append(f"Failed: `{data['_error']}`")
            continue
        scenarios = [s for s in data if not s.startswith("_")]
        used = [k for k in DETAIL_KEYS if any(k in data[s] for s in scenarios)]
        out.append("| scenario | " + " | ".join(used) + " |")
        out.append("|---" * (len(used) + 1) + "|")
        for s in scenarios:
            out.append(f"| {s} | " + " | ".join(fmt(data[s].get(k)) for k in used) + " |")
        errors = {s: data[s]["error_samples"] for s in scenarios if data[s].get("error_samples")}
        for s, samples in errors.items():
            out.append(f"\n{s} errors (first): `{'`, `'.join(samples[:2])}`")
    return out


def profiles_section(results: dict, out: Path) -> list[str]:
    """Links to the profile summaries, relative to the report."""
    lines = []
    for key, title in BACKENDS:
        profiles = (results.get(key) or {}).get("_profiles") or {}
        links = [f"[{s}]({Path(os.path.relpath(p, out.parent)).as_posix()})" for s, p in profiles.items()]
        if links:
            lines.append(f"- {title}: " + ", ".join(links))
    if not lines:
        return ["No profiles in this run (`--no-profile`, or py-spy missing)."]
    return [
        "`py-spy record --nonblocking` on the server process during each scenario; each file lists the",
        "functions with the largest inclusive and self share of the samples. The raw samples (collapsed",
        "stacks, for a flamegraph tool) stay beside them in `raw/`, out of git.",
        "",
        *lines,
    ]


def _between(text: str, start: str, end: str) -> str | None:
    """The marked block of `text`, markers included; None without both."""
    if start not in text or end not in text.split(start, 1)[1]:
        return None
    head = text.index(start)
    return text[head : text.index(end, head) + len(end)]


def cluster_only(results: dict) -> bool:
    return set(results) == {"cluster"}


def splice_cluster(text: str, block: str) -> str:
    """`text` with its cluster section replaced by `block`, or `block`
    inserted before the analysis when it has none."""
    old = _between(text, cluster_report.START, cluster_report.END)
    if old is not None:
        return text.replace(old, block, 1)
    for anchor in ("## Analysis", START):
        if anchor in text:
            head, tail = text.split(anchor, 1)
            return head + block + "\n\n" + anchor + tail
    return text.rstrip("\n") + "\n\n" + block + "\n"


def render(meta: dict, results: dict, previous: Path | None = None, out: Path | None = None) -> str:
    previous = previous or BENCHMARKS_MD
    out = out or previous
    findings = f"{START}\n(analysis goes here)\n{END}"
    text = previous.read_text() if previous.exists() else ""
    findings = _between(text, START, END) or findings
    if "cluster" in results:
        cluster = "\n".join(cluster_report.cluster_section(meta, results["cluster"]))
        if cluster_only(results) and text:
            return splice_cluster(text, cluster)
    else:
        cluster = _between(text, cluster_report.START, cluster_report.END)
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
        " persisted and in the message log, answered after commit), fresh migrated database per backend;"
        " PostgreSQL over TCP on 127.0.0.1",
        "- floor: `python -m bench.baseline` (raw `websockets` server, fixed JSON replies), measured in the same"
        " run by the same client; every ratio is to it",
        "- client: `bench.client` (one asyncio process, `websockets` Sans-I/O protocol on asyncio transports),"
        " on the same 2-core machine as the server",
        f"- parameters: storm/idle/mixed population {a.get('storm')} (storm with Basic auth, deadline"
        f" {a.get('storm_deadline')} s), idle hold {a.get('idle_hold')} s, mixed {a.get('mixed_rate')} msg/s for"
        f" {a.get('mixed_duration')} s, closed loops {a.get('closed')} chargers for {a.get('closed_duration')} s,"
        f" backlog {a.get('backlog')} messages, first CALL {a.get('first_calls')} Heartbeats"
        f" {a.get('first_call_pause')} s apart after {a.get('first_call_idle')} s idle,"
        f" {a.get('tx_chargers')} full sessions, first contact {a.get('first_contact')} new chargers",
        f"- command: `{meta['command']}`",
        "",
        "## Targets",
        "",
        *targets_table(results),
        "",
        "## Profiles",
        "",
        *profiles_section(results, out),
        "",
        "## All figures",
        *detail_table(results),
        "",
        *([cluster, ""] if cluster else []),
        "## Analysis",
        "",
        findings,
        "",
    ]
    return "\n".join(lines)


def readme_section(meta: dict, results: dict, previous: str = "") -> str:
    """The README's performance table: the same rows, figures and verdicts,
    and the cluster's line (this run's, else the one `previous`, the README's
    text, had)."""

    def cell(key: str, row) -> str:
        r = result(results, key, row.scenario)
        if not r:
            return "–"
        value = ratio(row, results, key)
        shown = row.show(r) + (f"; {row.ratio_text(value)}" if value is not None else "")
        return f"{shown}: {met_text(verdict(row, results, key))}"

    lines = [
        README_START,
        f"Measured by `make bench` ({meta['date']}, commit {meta.get('commit', '?')}) on a 2-core machine:"
        " one server process, client on the same machine, every message validated, persisted and in the"
        " message log, answered after commit. Ratios are to a raw `websockets` floor measured in the same"
        " run. Details, every figure and the profiles are in [docs/benchmarks.md](docs/benchmarks.md).",
        "",
        "| scenario | target | SQLite | PostgreSQL | raw floor |",
        "|---|---|---|---|---|",
    ]
    for row in ROWS:
        cells = [row.title, row.target, cell("sqlite", row), cell("postgres", row), _cell(results, FLOOR, row)]
        lines.append("| " + " | ".join(cells) + " |")
    cluster = _readme_cluster_line(meta, results, previous)
    lines += ["", *([cluster, ""] if cluster else []), README_END]
    return "\n".join(lines)


def _readme_cluster_line(meta: dict, results: dict, previous: str) -> str | None:
    if "cluster" in results:
        return cluster_report.readme_line(meta, results["cluster"])
    section = _between(previous, README_START, README_END) or ""
    return next((line for line in section.splitlines() if line.startswith(cluster_report.README_PREFIX)), None)


def readme_write(path: Path, meta: dict, results: dict) -> bool:
    """Rewrite the README's performance section from this run; a run of the
    cluster target alone replaces (or adds) only the cluster's line. False
    when the README has no markers."""
    text = path.read_text()
    if not cluster_only(results):
        return readme_update(path, readme_section(meta, results, previous=text))
    section = _between(text, README_START, README_END)
    line = cluster_report.readme_line(meta, results["cluster"])
    if section is None:
        return False
    if line is None:
        return True
    kept = [old for old in section.splitlines() if not old.startswith(cluster_report.README_PREFIX)]
    while len(kept) > 2 and kept[-2] == "":  # the blank lines before the end marker
        kept.pop(-2)
    new = "\n".join([*kept[:-1], "", line, "", kept[-1]])
    path.write_text(text.replace(section, new, 1))
    return True


def readme_update(path: Path, section: str) -> bool:
    """Replace the marked section of the README; False when it has no markers."""
    text = path.read_text()
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(head + section + tail)
    return True
