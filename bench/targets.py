"""The servers a benchmark runs against, each started the production way.

`Baseline` is the raw `websockets` server (bench/baseline.py). `Django` is
`manage.py serve` on a fresh migrated SQLite file or PostgreSQL database;
bench/cluster.py runs it with `--workers N` on PostgreSQL and Redis.
Everything the bench needs from that database goes through `manage.py`
(`migrate`, `bench_db`): the bench holds no ORM code or SQL of its own, and
the PostgreSQL database itself is made and dropped with PostgreSQL's own
`createdb`/`dropdb` tools.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    name = ""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.server_dir: Path = args.server_dir or BASE_DIR
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.name}-"))

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp/"

    def start(self) -> None:
        raise NotImplementedError

    def wait_ready(self, probe: Callable[[], bool]) -> None:
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

    def precreate(self, prefix: str, count: int, password: str) -> None:
        """Known chargers `<prefix>00000`..., as after a server restart, each
        requiring `password` in Basic auth (the floor ignores it)."""

    def check_backlog(self, transaction_id: int | None, expected: int) -> dict:
        return {}

    def database_version(self) -> dict[str, str]:
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
    def __init__(self, args: argparse.Namespace, backend: str, name: str | None = None) -> None:
        self.name = name or backend
        super().__init__(args)
        self.backend = backend
        if backend == "sqlite":
            self.database_url = f"sqlite:///{self.tmp / 'bench.sqlite3'}"
        else:
            suffix = "" if self.name == backend else "_" + self.name.replace("-", "_")
            self.db_name = f"ocpp_bench{suffix}_{os.getpid()}"
            self.database_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db_name

    def env(self) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "LOG_DIR": str(self.tmp / "logs"),
            "OCPP_NODE_ID": f"bench-{self.name}",
            "PYTHONUNBUFFERED": "1",
        }

    def manage(self, *command: str) -> str:
        """Run `manage.py <command>` against this target's database; its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=self.server_dir,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _postgres_tool(self, tool: str, *args: str) -> None:
        subprocess.run([tool, f"--maintenance-db={PG_ADMIN_URL}", *args, self.db_name], check=True)

    def start(self) -> None:
        if self.backend == "postgres":
            self._postgres_tool("dropdb", "--if-exists")
            self._postgres_tool("createdb")
        self.manage("migrate", "--noinput", "-v0")
        out = (self.tmp / "server.out").open("wb")
        self.proc = subprocess.Popen(
            self.serve_command(),
            cwd=self.server_dir,
            env=self.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(self.healthy)

    def serve_command(self) -> list[str]:
        return [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(self.port)]

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ocpp/health/", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        super().stop()
        if self.backend == "postgres":
            try:
                self._postgres_tool("dropdb", "--if-exists", "--force")
            except (OSError, subprocess.CalledProcessError) as error:  # pragma: no cover
                print(f"could not drop {self.db_name}: {error}", file=sys.stderr)

    def precreate(self, prefix: str, count: int, password: str) -> None:
        self.manage("bench_db", "prepare", "--prefix", prefix, "--count", str(count), "--password", password)

    def check_backlog(self, transaction_id: int | None, expected: int) -> dict:
        if transaction_id is None:
            return {"stored": 0, "in_order": False}
        report = json.loads(self.manage("bench_db", "backlog", str(transaction_id)))
        return {"stored": report["stored"], "expected": expected, **report}

    def database_version(self) -> dict[str, str]:
        return json.loads(self.manage("bench_db", "version"))
