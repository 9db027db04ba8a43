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
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from bench import load

BASE_DIR = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    name = ""
    server_dir = BASE_DIR

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server_dir = args.server_dir or BASE_DIR
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/"

    def wait_ready(self, probe) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
            if probe():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start in 60 s:\n{self.output()}")

    def output(self) -> str:
        path = self.tmp / "server.out"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def precreate(self, ids: list[str]) -> None:
        pass

    def check_backlog(self, transaction_id: int | None, expected: int) -> dict:
        return {}


class Baseline(Target):
    name = "baseline"

    def start(self) -> None:
        out = (self.tmp / "server.out").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.baseline", "--port", str(self.port)],
            cwd=BASE_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(lambda: "baseline" in self.output())


class Django(Target):
    def __init__(self, args: argparse.Namespace, backend: str) -> None:
        self.name = backend
        super().__init__(args)
        self.backend = backend
        if backend == "sqlite":
            self.database_url = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        else:
            self.db_name = f"ocpp_bench_{os.getpid()}"
            self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db_name

    def env(self) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "LOG_DIR": str(self.tmp / "logs"),
            "OCPP_NODE_ID": f"bench-{self.name}",
            "PYTHONUNBUFFERED": "1",
        }

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql)

    def start(self) -> None:
        if self.backend == "postgres":
            self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}"')
            self._pg(f'CREATE DATABASE "{self.db_name}"')
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=self.server_dir,
            env=self.env(),
            check=True,
        )
        out = (self.tmp / "server.out").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.server_dir,
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ocpp/health/", timeout=1) as r:
                    return r.status == 200
            except OSError:
                return False

        self.wait_ready(healthy)

    def stop(self) -> None:
        super().stop()
        if self.backend == "postgres":
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as error:  # pragma: no cover
                print(f"could not drop {self.db_name}: {error}", file=sys.stderr)

    def _sql(self, sql: str, params: tuple = ()) -> list:
        if self.backend == "sqlite":
            import sqlite3

            with sqlite3.connect(self.database_url.removeprefix("sqlite:///")) as conn:
                return conn.execute(sql.replace("%s", "?"), params).fetchall()
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()

    def precreate(self, ids: list[str]) -> None:
        """Known chargers, as after a server restart: rows made with
        bulk_create (no per-row signals), before the storm."""
        # The landing-page QR code a known charger already has is rendered
        # once and shared (rendering 10 000 would take minutes): the server
        # sees each row as up to date, as it would be in production.
        code = (
            "import json,sys\n"
            "from ocpp_app.models import Charger\n"
            "from ocpp_app.services.qr import landing_url, qr_render\n"
            "ids=json.load(sys.stdin)\n"
            "png, svg = qr_render(landing_url('STORM'))\n"
            "Charger.objects.bulk_create([Charger(charger_id=i, qr_url=landing_url(i), qr_png=png, qr_svg=svg)"
            " for i in ids], batch_size=500, ignore_conflicts=True)\n"
        )
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=self.server_dir,
            env=self.env(),
            input=json.dumps(ids).encode(),
            check=True,
        )

    def check_backlog(self, transaction_id: int | None, expected: int) -> dict:
        if transaction_id is None:
            return {"stored": 0, "in_order": False}
        rows = self._sql(
            "SELECT timestamp FROM ocpp_app_meterreading WHERE transaction_id = %s "
            "AND measurand = 'Energy.Active.Import.Register' ORDER BY id",
            (transaction_id,),
        )
        stamps = [r[0] for r in rows]
        stopped = self._sql("SELECT stop_time IS NOT NULL FROM ocpp_app_transaction WHERE id = %s", (transaction_id,))
        return {
            "stored": len(stamps),
            "expected": expected,
            "in_order": stamps == sorted(stamps),
            "stopped": bool(stopped and stopped[0][0]),
        }


async def settle(probe: load.ServerProbe, limit: float = 20) -> None:
    """Wait until the server is quiet again (e.g. after thousands of closes)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        probe.mark()
        await asyncio.sleep(0.5)
        if probe.cpu_percent() < 10:
            return


async def run_target(target: Target, args: argparse.Namespace) -> dict:
    probe = load.ServerProbe(target.proc.pid)
    results: dict = {}
    url = target.url

    def log(name: str, r: dict) -> None:
        r.setdefault("scenario", name)
        print(f"  [{target.name}] {load.format_result(r)}", flush=True)
        results[name] = r

    # First contact: chargers the server has never seen.
    rec = load.Recorder()
    first = await load.connect_many(
        url, "NEW", args.first_contact, concurrency=args.first_contact, rec=rec, deadline=60
    )
    rec.finished = time.perf_counter()
    s = rec.summary()
    log("first_contact", {"chargers": args.first_contact, "connected": len(first), **s})
    await load.close_all(first)
    await settle(probe)

    # Storm of known chargers, then idle, then the mixed fixed rate over them.
    rss_before = probe.rss()
    probe.mark()
    rec = load.Recorder()
    chargers = await load.connect_many(
        url, "STORM", args.storm, concurrency=args.storm, rec=rec, deadline=args.storm_deadline
    )
    rec.finished = time.perf_counter()
    s = rec.summary()
    within = sum(1 for x in rec.latencies if x <= 15)
    log(
        "storm",
        {
            "chargers": args.storm,
            "connected": len(chargers),
            "answered_in_15s": within,
            "failures": args.storm - len(chargers),
            "seconds": round(max(rec.latencies, default=0), 2),
            "p50_ms": s["p50_ms"],
            "p99_ms": s["p99_ms"],
            "cpu_percent": probe.cpu_percent(),
            "error_samples": s["error_samples"],
        },
    )
    if len(chargers) < args.storm:
        # The storm fell short: connect the rest at a gentler pace so that
        # the idle and mixed scenarios still get (up to) the full population.
        await settle(probe)
        connected = {c.cp_id for c in chargers}
        missing = [f"STORM{i:05d}" for i in range(args.storm) if f"STORM{i:05d}" not in connected]
        rec = load.Recorder()
        more = await load.connect_many(
            url,
            "",
            len(missing),
            concurrency=args.topup_concurrency,
            rec=rec,
            deadline=args.topup_deadline,
            ids=missing,
        )
        rec.finished = time.perf_counter()
        s = rec.summary()
        log(
            "topup",
            {
                "chargers": len(missing),
                "connected": len(more),
                "concurrency": args.topup_concurrency,
                "msg_per_s": s["msg_per_s"],
                "p50_ms": s["p50_ms"],
                "p99_ms": s["p99_ms"],
                "seconds": s["seconds"],
                "errors": s["errors"],
            },
        )
        chargers += more
    load.freeze_heap()
    await asyncio.sleep(2)
    await settle(probe)  # idle means steady state, not the tail of the storm's work
    probe.mark()
    await asyncio.sleep(args.idle_hold)
    rss = probe.rss()
    log(
        "idle",
        {
            "chargers": len(chargers),
            "idle_cpu_percent": probe.cpu_percent(),
            "rss_mib": round(rss / 2**20, 1),
            "rss_kib_per_charger": round((rss - rss_before) / 1024 / max(1, len(chargers)), 1),
        },
    )
    if chargers:
        probe.mark()
        mix = {"Heartbeat": 0.4, "MeterValues": 0.4, "StatusNotification": 0.2}
        r = await load.fixed_rate(chargers, args.mixed_rate, args.mixed_duration, mix, grace=15)
        log("mixed", {"chargers": len(chargers), "rate": args.mixed_rate, **r, "cpu_percent": probe.cpu_percent()})

    # Closed loops on C of the connected chargers; the others hang up.
    keep, extra = chargers[: args.closed], chargers[args.closed :]
    await load.close_all(extra)
    await settle(probe)
    if len(keep) < args.closed:
        more = await load.connect_many(url, "CLOSED", args.closed - len(keep), concurrency=200, deadline=60)
        keep += more
    probe.mark()
    r = await load.closed_loop(keep, load.heartbeat, args.closed_duration, grace=30)
    log("heartbeat", {"chargers": len(keep), **r, "cpu_percent": probe.cpu_percent()})
    await load.start_transactions(keep, timeout=60)
    await settle(probe)
    probe.mark()
    r = await load.closed_loop(keep, load.meter_value, args.closed_duration, grace=30)
    log("metervalues", {"chargers": len(keep), **r, "cpu_percent": probe.cpu_percent()})
    await load.close_all(keep)
    await settle(probe)

    try:
        r = await asyncio.wait_for(load.backlog(url, "BACKLOG1", args.backlog), args.backlog_timeout)
    except TimeoutError:
        r = {"errors": 1, "error_samples": [f"not done in {args.backlog_timeout} s"], "transaction_id": None}
    r.update(target.check_backlog(r.get("transaction_id"), args.backlog - 2))
    log("backlog", {"chargers": 1, "messages_sent": args.backlog, **r})

    tx_chargers = await load.connect_many(url, "TX", args.tx_chargers, concurrency=200, deadline=60)
    probe.mark()
    r = await load.transactions(tx_chargers, 1, 10, timeout=120)
    log("transactions", {"chargers": len(tx_chargers), **r, "cpu_percent": probe.cpu_percent()})
    await load.close_all(tx_chargers)
    return results


def server_commit(path: Path) -> str:
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=path, capture_output=True, text=True).stdout.strip()

    if (path / "COMMIT").exists():  # an exported tree (git archive) names its commit
        return (path / "COMMIT").read_text().strip()
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "ocpp_app", "config")
    return commit + (" (with uncommitted changes)" if dirty else "")


def versions() -> dict:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for package in ("Django", "channels", "uvicorn", "websockets", "ocpp", "psycopg"):
        try:
            out[package] = version(package)
        except Exception:
            out[package] = "?"
    try:
        out["postgresql"] = subprocess.run(
            ["psql", PG_ADMIN_URL, "-tAc", "SHOW server_version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:
        out["postgresql"] = "?"
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    return out


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPU ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
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
    p.add_argument("--out", type=Path, default=BASE_DIR / "docs" / "benchmarks.md")
    p.add_argument("--json-out", type=Path, help="also write the raw results as JSON")
    p.add_argument("--render", type=Path, help="only rewrite --out from a results file written by --json-out")
    args = p.parse_args(argv)
    if args.render:
        from bench.report import render

        saved = json.loads(args.render.read_text())
        args.out.write_text(render(saved["meta"], saved["results"], previous=args.out))
        print(f"wrote {args.out}")
        return 0

    limit = load.raise_fd_limit()
    if args.storm + 200 > limit:
        print(f"fd limit {limit}: lowering the storm from {args.storm}", file=sys.stderr)
        args.storm = limit - 200
    started = time.monotonic()
    load_before = os.getloadavg()
    all_results: dict = {}
    for name in [t.strip() for t in args.targets.split(",") if t.strip()]:
        target = Baseline(args) if name == "baseline" else Django(args, name)
        print(f"== {name}", flush=True)
        try:
            target.start()
            target.precreate([f"STORM{i:05d}" for i in range(args.storm)])
            all_results[name] = asyncio.run(run_target(target, args))
            all_results[name]["_server_rss_mib_end"] = round(load.ServerProbe(target.proc.pid).rss() / 2**20, 1)
        except Exception as error:
            print(f"{name} failed: {error}", file=sys.stderr)
            all_results[name] = {"_error": str(error)[:500]}
        finally:
            target.stop()
    meta = {
        "commit": server_commit(args.server_dir or BASE_DIR),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "seconds": round(time.monotonic() - started),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "command": "make bench  (python -m bench.runner " + " ".join(argv or sys.argv[1:]) + ")",
    }
    if args.json_out:
        args.json_out.write_text(json.dumps({"meta": meta, "results": all_results}, indent=1, default=str))
    from bench.report import render

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(meta, all_results))
    print(f"wrote {args.out} in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
