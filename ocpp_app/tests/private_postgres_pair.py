"""A primary and a streaming standby of a test's own (two PrivatePostgres on
free loopback ports), for failing over: the primary can be killed as a
machine dies (SIGKILL to every process of it) and the standby promoted. The
machine's shared server is never touched: every process killed here is one
of the primary's own, found from its data directory.

The standby is synchronous (`synchronous_standby_names` names it on the
primary, synchronous_commit=on): a commit returns only once the standby has
flushed it, so whatever a client was told is committed is on the standby
when the primary dies. The standby itself is started without a
synchronous standby of its own, so that once promoted it commits alone.
"""

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from conftest import require
from ocpp_app.tests.private_postgres import PrivatePostgres, missing_reason

STANDBY_NAME = "ocpp_standby"  # its application_name on the primary (cluster_name)


def _dsn(port: int, dbname: str = "postgres") -> str:
    return f"host=127.0.0.1 port={port} user=postgres dbname={dbname} connect_timeout=5"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class PostgresPair:
    def __init__(self) -> None:
        self.primary = PrivatePostgres()
        self.primary.settings = {
            "wal_level": "replica",
            "max_wal_senders": "5",
            "synchronous_commit": "on",
            "synchronous_standby_names": STANDBY_NAME,
        }
        with (self.primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        self.standby = PrivatePostgres(initdb=False)
        self.standby.settings = {"hot_standby": "on", "cluster_name": STANDBY_NAME}
        if not (self.standby.bin / "pg_basebackup").exists():
            # pg_ctl and initdb found on PATH as links into PostgreSQL's own directory.
            self.standby.bin = (self.standby.bin / "pg_ctl").resolve().parent

    def start(self, timeout: float = 60) -> None:
        """Both servers, once the standby streams as the primary's synchronous one."""
        self.primary.start()
        # -R: standby.signal and primary_conninfo, so the copy starts as a standby.
        self.standby._run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres"),
            *("-D", str(self.standby.data), "-R", "-X", "stream", "--checkpoint=fast"),
        )
        self.standby.start()
        deadline = time.monotonic() + timeout
        with psycopg.connect(_dsn(self.primary.port), autocommit=True) as db:
            while True:
                row = db.execute(
                    "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", [STANDBY_NAME]
                ).fetchone()
                if row == ("streaming", "sync"):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the standby never streamed as a synchronous one: {row}")
                time.sleep(0.1)

    def url(self, dbname: str, *, order: tuple[str, ...] = ("primary", "standby")) -> str:
        """A multi-host DATABASE_URL naming both servers, in `order`."""
        hosts = ",".join(f"127.0.0.1:{getattr(self, role).port}" for role in order)
        return f"postgres://postgres@{hosts}/{dbname}?target_session_attrs=read-write"

    def dsn(self, role: str, dbname: str) -> str:
        """A libpq connection string for one of them ("primary", "standby")."""
        return _dsn(getattr(self, role).port, dbname)

    def create_database(self, name: str) -> None:
        with psycopg.connect(_dsn(self.primary.port), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')

    def kill_primary(self, timeout: float = 10) -> None:
        """SIGKILL to the primary's postmaster and every process it started,
        at once: no shutdown checkpoint, no goodbye to clients or standby."""
        pid = int((self.primary.data / "postmaster.pid").read_text().split()[0])
        victims = [pid, *_children(pid)]
        for victim in victims:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while any(_alive(victim) for victim in victims):
            if time.monotonic() > deadline:
                raise RuntimeError("the primary's processes outlived SIGKILL")
            time.sleep(0.05)
        # Stale now: never let a later stop signal whatever process takes the pid next.
        (self.primary.data / "postmaster.pid").unlink()

    def promote(self) -> None:
        """The standby becomes the primary (pg_ctl waits until it takes writes)."""
        self.standby._run("pg_ctl", "-D", str(self.standby.data), "-w", "-t", "60", "promote")

    def remove(self) -> None:
        for server in (self.primary, self.standby):
            server.remove()


@contextlib.contextmanager
def running_pair() -> Iterator[PostgresPair]:
    """A started PostgresPair, removed afterwards (the test skipped without
    the server binaries, except in CI)."""
    reason = missing_reason()
    require(reason is None, reason or "")
    pair = PostgresPair()
    try:
        pair.start()
        yield pair
    finally:
        pair.remove()
