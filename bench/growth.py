"""Data growth: rows and bytes each charger adds to PostgreSQL per day, and
how long one prune batch holds the rows it deletes.

`python -m bench.growth` starts the server the production way (`manage.py
serve`) on a fresh PostgreSQL database of its own (`growth_<random>`, made
with createdb and dropped at the end), then drives a day of every charger's
traffic through it with the load client, back to back (only the number of
messages matters, not their pace):

  BootNotification, StatusNotification for connectors 0 and 1
  Heartbeats (1440: one a minute)
  sessions (4), each: Authorize, StatusNotification Preparing,
      StartTransaction, StatusNotification Charging, MeterValues with 4
      sampled values (60: one a minute for an hour), StopTransaction,
      StatusNotification Finishing and Available
  StatusNotifications beyond those, up to the day's count (20)

It then reads every table's exact row count and `pg_total_relation_size`
(table, indexes, TOAST) before and after, and divides the difference by the
chargers. Finally it rehearses the prune `serve` runs, dated past the
retention so that every row of the day is old: `ocpp_app.services.retention
.prune` through `manage.py shell`, which logs per table the batches it ran
and the longest of them (the time one batch's rows stay locked).

The figures are printed as markdown and written between the `<!-- growth -->`
markers of docs/retention.md (`--no-doc`: printed only). The bench reaches
the database only through `manage.py` (`migrate`, `dbshell` for the
catalog's sizes and counts, `shell` for the prune), never with a driver.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import client
from bench.measure import Recorder, bounded
from bench.meta import machine, server_commit, versions
from bench.targets import BASE_DIR, PG_ADMIN_URL, Django

RETENTION_MD = BASE_DIR / "docs" / "retention.md"
START, END = "<!-- growth -->", "<!-- /growth -->"
PREFIX = "GROWTH"
DAYS_PER_YEAR = 365

# What each table is, and how long it is kept with the default settings
# (OCPP_MESSAGE_LOG_RETENTION_DAYS=30, OCPP_METER_READING_RETENTION_DAYS=0).
# None: kept forever (counted over a year); 0: held per charger, not per day.
TABLES = {
    "ocpp_app_messagelog": ("message log", 30),
    "ocpp_app_statusnotificationrecord": ("status-notification history", 30),
    "ocpp_app_command": ("command records", 30),
    "ocpp_app_datatransferrecord": ("DataTransfer records", 30),
    "ocpp_app_meterreading": ("meter readings", None),
    "ocpp_app_transaction": ("transactions (never pruned)", None),
    "ocpp_app_chargerevent": ("charger events (never pruned)", None),
    "ocpp_app_charger": ("chargers", 0),
    "ocpp_app_connector": ("connectors (latest status)", 0),
}
# One row per server process, not per charger.
PER_SERVER = {"ocpp_app_node"}

# Every ordinary table of the schema: exact row count, total, heap and index bytes.
SIZES_SQL = """
SELECT c.relname,
       (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1],
       pg_total_relation_size(c.oid), pg_indexes_size(c.oid)
FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE s.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname
"""

# The indexes the prune finds the oldest rows by (the message log's was there
# before retention; the others came with it).
RETENTION_INDEXES = {
    "msglog_timestamp": "ocpp_app_messagelog",
    "reading_received": "ocpp_app_meterreading",
    "status_record_received": "ocpp_app_statusnotificationrecord",
    "command_created": "ocpp_app_command",
    "data_transfer_created": "ocpp_app_datatransferrecord",
}
INDEXES_SQL = (
    "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes WHERE indexrelname IN ("
    + ", ".join(f"'{name}'" for name in RETENTION_INDEXES)
    + ") ORDER BY 1"
)

PRUNE_LINE = re.compile(
    r"(?P<label>\w+): (?P<rows>\d+) rows older than \S+ deleted in (?P<batches>\d+) batch(?:es)? "
    r"of at most (?P<batch>\d+) rows \(longest batch (?P<longest_ms>[\d.]+) ms, (?P<seconds>[\d.]+) s in all\)"
)


class GrowthServer(Django):
    """`manage.py serve` on a private PostgreSQL database; its own prune is
    off, so the only prune is the one this bench runs and times."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args, "postgres")
        self.db_name = f"growth_{secrets.token_hex(4)}"
        self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db_name

    def env(self) -> dict:
        return {**super().env(), "OCPP_PRUNE_INTERVAL": "0", "OCPP_NODE_ID": "growth"}

    def stop_server(self) -> None:
        """Stop `serve` (it writes what it still holds), keeping the database."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def sizes(self) -> dict[str, tuple[int, int, int]]:
        """{table: (rows, total bytes, index bytes)}."""
        out = self.manage("dbshell", "--", "-X", "-At", "-F", "\t", "-c", SIZES_SQL)
        sizes = {}
        for line in out.splitlines():
            name, rows, total, indexes = line.split("\t")
            sizes[name] = (int(rows), int(total), int(indexes))
        return sizes

    def index_sizes(self) -> dict[str, int]:
        """{index: bytes} of the indexes the prune reads."""
        out = self.manage("dbshell", "--", "-X", "-At", "-F", "\t", "-c", INDEXES_SQL)
        return {name: int(size) for name, size in (line.split("\t") for line in out.splitlines())}

    def vacuum(self) -> None:
        # Rows as old as a retention have long been vacuumed and analyzed.
        self.manage("dbshell", "--", "-X", "-q", "-c", "VACUUM ANALYZE")

    def rehearse_prune(self, days: int, batch: int) -> tuple[list[dict], list[str]]:
        """The prune serve runs, as if `days` + 1 days had passed: the figures
        of every table it pruned, and its log lines as written."""
        code = (
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from ocpp_app.services.retention import prune\n"
            f"prune(now=timezone.now() + timedelta(days={days + 1}), batch={batch}, "
            f"message_log_days={days}, meter_reading_days={days})\n"
        )
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=self.server_dir,
            env={**self.env(), "LOG_LEVEL": "info"},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the prune failed:\n{done.stderr[-3000:]}")
        lines = [m.groupdict() for m in PRUNE_LINE.finditer(done.stderr)]
        log = [line for line in done.stderr.splitlines() if " ocpp_app.retention " in line]
        return [{k: (v if k == "label" else float(v)) for k, v in line.items()} for line in lines], log


async def one_day(c: client.Charger, args: argparse.Namespace, rec: Recorder) -> None:
    """A charger's day after its BootNotification, one CALL at a time."""
    wh = 0

    async def call(action: str, payload: dict) -> dict:
        t0 = time.perf_counter()
        try:
            answer = await c.call(action, payload)
        except client.CallFailed as error:
            rec.fail(error)
            return {}
        rec.ok(time.perf_counter() - t0)
        return answer

    def status(state: str, connector: int = 1) -> dict:
        return {**c.status(state), "connectorId": connector}

    sent_status = 0
    for connector in (0, 1):
        if sent_status < args.statuses:
            await call("StatusNotification", status("Available", connector))
            sent_status += 1
    session_status = 4 * args.sessions
    extra = max(0, args.statuses - sent_status - session_status)
    gaps = args.sessions + 1
    for session in range(args.sessions + 1):
        for _ in range(args.heartbeats // gaps + (1 if session < args.heartbeats % gaps else 0)):
            await call("Heartbeat", {})
        if session == args.sessions:
            break
        id_tag = f"L{c.cp_id[-18:]}"
        await call("Authorize", {"idTag": id_tag})
        await call("StatusNotification", status("Preparing"))
        c.tx_id = (await call("StartTransaction", c.start_tx(wh))).get("transactionId")
        await call("StatusNotification", status("Charging"))
        # The day's StatusNotifications beyond the usual four of a session:
        # the car pausing and resuming, spread over the sessions.
        pauses = extra // args.sessions + (1 if session < extra % args.sessions else 0)
        for n in range(args.meter_values):
            wh += 180  # 11 kW for a minute
            await call("MeterValues", c.meter_values(wh))
            if n < pauses:
                await call("StatusNotification", status("SuspendedEV" if n % 2 == 0 else "Charging"))
        await call("StopTransaction", c.stop_tx(wh))
        c.tx_id = None
        await call("StatusNotification", status("Finishing"))
        await call("StatusNotification", status("Available"))


def calls_per_charger(args: argparse.Namespace) -> int:
    statuses = max(args.statuses, min(2, args.statuses) + 4 * args.sessions)
    return 1 + args.heartbeats + statuses + args.sessions * (3 + args.meter_values)


async def drive(url: str, args: argparse.Namespace) -> dict:
    rec = Recorder()
    chargers = await client.connect_many(url, PREFIX, args.chargers, concurrency=50, rec=None, deadline=120)
    if len(chargers) < args.chargers:
        raise RuntimeError(f"only {len(chargers)} of {args.chargers} chargers connected")
    started = time.perf_counter()
    rec.started = started
    await bounded((one_day(c, args, rec) for c in chargers), args.timeout, rec, "chargers")
    rec.finished = time.perf_counter()
    await client.close_all(chargers)
    return rec.summary()


def grew(before: dict, after: dict) -> dict[str, tuple[int, int, int]]:
    """{table: (rows, bytes, index bytes) added}, for the tables that grew."""
    out = {}
    for name, (rows, total, indexes) in after.items():
        if name in PER_SERVER:
            continue
        rows0, total0, indexes0 = before.get(name, (0, 0, 0))
        if rows != rows0 or total != total0:
            out[name] = (rows - rows0, total - total0, indexes - indexes0)
    return out


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def render(
    meta: dict,
    growth: dict,
    index_growth: dict[str, int],
    prune_lines: list[dict],
    prune_log: list[str],
    traffic: dict,
    args: argparse.Namespace,
) -> str:
    n = args.chargers
    lines = [
        f"Measured {meta['date']} by `{meta['command']}`, server code at commit {meta['commit']}; "
        f"{meta['machine']} (load average before / after: {meta['load']}); PostgreSQL {meta['postgresql']}, "
        f"Django {meta['django']}.",
        "",
        f"Traffic: {n} chargers, each one day of {calls_per_charger(args):,} CALLs sent back to back "
        f"(BootNotification, {args.heartbeats} Heartbeats, {args.statuses} StatusNotifications, {args.sessions} "
        f"sessions of Authorize, StartTransaction, {args.meter_values} MeterValues of 4 sampled values and "
        f"StopTransaction): {traffic['messages']:,} answered, {traffic['errors']} errors, in {traffic['seconds']} s "
        f"({traffic['msg_per_s']:,} CALLs/s). Bytes are `pg_total_relation_size` (table, indexes, TOAST) after "
        "the day minus before it, on a fresh database; rows are exact counts.",
        "",
        "| table | what | rows per charger per day | bytes per charger per day | bytes per row | of which indexes |",
        "|---|---|---|---|---|---|",
    ]
    per_charger = []
    for name, (rows, size, indexes) in sorted(growth.items(), key=lambda kv: -kv[1][1]):
        what, kept = TABLES.get(name, ("", None))
        if kept == 0:
            per_charger.append((name, what, rows, size))
            continue
        per_row = f"{size / rows:,.0f}" if rows > 0 else "–"
        share = f"{100 * indexes / size:.0f} %" if size > 0 else "–"
        lines.append(f"| `{name}` | {what} | {rows / n:,.1f} | {kib(size / n)} | {per_row} | {share} |")
    total = sum(size for name, (_, size, _) in growth.items() if TABLES.get(name, ("", None))[1] != 0)
    lines.append(f"| **all** | | | **{kib(total / n)}** | | |")
    if per_charger:
        held = ", ".join(f"`{name}` {rows / n:,.1f}" for name, _, rows, _ in per_charger)
        lines += [
            "",
            f"Rows held per charger, not per day: {held}. They do not grow with time; the bytes they took "
            "during the day are dead versions of rows every Heartbeat updates, which autovacuum makes reusable.",
        ]
    grown = [(name, size) for name, size in index_growth.items() if growth.get(RETENTION_INDEXES[name], (0,))[0] > 0]
    if grown:
        each = ", ".join(
            f"`{name}` {size / growth[RETENTION_INDEXES[name]][0]:,.0f} B per row ({kib(size / n)} per charger per day)"
            for name, size in grown
        )
        lines += ["", f"Of that, the indexes the prune finds the oldest rows by: {each}."]
    lines += [
        "",
        "Per 1000 chargers over what the default settings keep (the message-log retention of 30 days; meter "
        "readings and transactions are kept, counted here over a year):",
        "",
        "| table | kept | rows per 1000 chargers | size per 1000 chargers |",
        "|---|---|---|---|",
    ]
    for name, (rows, size, _) in sorted(growth.items(), key=lambda kv: -kv[1][1]):
        what, kept = TABLES.get(name, ("", None))
        if kept == 0:
            continue
        days = kept or DAYS_PER_YEAR
        period = f"{kept} days" if kept else f"forever (shown: {DAYS_PER_YEAR} days)"
        lines.append(f"| `{name}` | {period} | {rows / n * 1000 * days:,.0f} | {human(size / n * 1000 * days)} |")
    lines += [
        "",
        f"A prune of that day, dated {args.retention_days + 1} days later (`prune(batch={args.prune_batch}, "
        f"message_log_days={args.retention_days}, meter_reading_days={args.retention_days})` after `VACUUM "
        "ANALYZE`, the server stopped); one batch is one DELETE in its own transaction, and its duration is how "
        "long the rows it deletes stay locked:",
        "",
        "| table | rows deleted | batches | longest batch | in all ÷ batches | in all |",
        "|---|---|---|---|---|---|",
    ]
    for line in prune_lines:
        if not line["rows"]:
            continue
        mean_ms = 1000 * line["seconds"] / line["batches"]
        lines.append(
            f"| {line['label']} | {line['rows']:,.0f} | {line['batches']:.0f} of ≤ {line['batch']:,.0f} | "
            f"{line['longest_ms']:,.1f} ms | {mean_ms:,.1f} ms | {line['seconds']:,.2f} s |"
        )
    lines += ["", "Its log (`ocpp_app.retention`):", "", "```", *prune_log, "```"]
    return "\n".join(lines) + "\n"


def doc_update(path: Path, section: str) -> None:
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n\n{section}\n{END}{tail}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__.split("\n\n")[0])
    p.add_argument("--chargers", type=int, default=100)
    p.add_argument("--heartbeats", type=int, default=1440, help="per charger per day")
    p.add_argument("--statuses", type=int, default=20, help="StatusNotifications per charger per day")
    p.add_argument("--sessions", type=int, default=4, help="charging sessions per charger per day")
    p.add_argument("--meter-values", type=int, default=60, help="MeterValues per session")
    p.add_argument("--timeout", type=float, default=1800, help="seconds before the day's traffic is cut short")
    p.add_argument("--retention-days", type=int, default=30, help="retention the prune rehearsal applies")
    p.add_argument("--prune-batch", type=int, default=5000, help="rows per prune batch (OCPP_PRUNE_BATCH)")
    p.add_argument("--out", type=Path, default=RETENTION_MD, help="the document whose growth section is rewritten")
    p.add_argument("--no-doc", dest="out", action="store_const", const=None, help="print only")
    p.add_argument("--server-dir", type=Path, help="run the server from this checkout instead of this one")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.chargers < 1 or args.sessions < 1 or args.meter_values < 0 or args.heartbeats < 0:
        raise SystemExit("--chargers and --sessions must be 1 or more, the message counts 0 or more")
    client.raise_fd_limit()
    load_before = os.getloadavg()
    target = GrowthServer(args)
    print(f"database {target.db_name}", flush=True)
    try:
        target.start()
        database = target.database_version()
        before, indexes_before = target.sizes(), target.index_sizes()
        print(f"{args.chargers} chargers x {calls_per_charger(args):,} CALLs ...", flush=True)
        traffic = asyncio.run(drive(target.url, args))
        print(f"traffic: {traffic}", flush=True)
        if traffic["errors"]:
            print(f"{traffic['errors']} CALLs failed: {traffic['error_samples']}", file=sys.stderr)
        target.stop_server()
        after, indexes_after = target.sizes(), target.index_sizes()
        indexes = {name: size - indexes_before.get(name, 0) for name, size in indexes_after.items()}
        target.vacuum()
        prune_lines, prune_log = target.rehearse_prune(args.retention_days, args.prune_batch)
    finally:
        target.stop()  # the server, then the database
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": server_commit(args.server_dir or BASE_DIR),
        "machine": machine(),
        "load": f"{load_before[0]:.2f} / {os.getloadavg()[0]:.2f}",
        "postgresql": database.get("version", "?"),
        "django": versions({})["Django"],
        "command": " ".join(["python -m bench.growth", *(argv if argv is not None else sys.argv[1:])]),
    }
    section = render(meta, grew(before, after), indexes, prune_lines, prune_log, traffic, args)
    print(section)
    if args.out is not None:
        doc_update(args.out, section)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
