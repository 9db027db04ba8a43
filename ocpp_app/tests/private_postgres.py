"""A PostgreSQL server of a test's own (initdb in a temporary directory,
pg_ctl on a free loopback port), which the test may stop and start again:
the machine's shared server is never touched.

PostgreSQL refuses to run as root: as root (CI), the server runs as the
`postgres` system user, in a directory that user owns.
"""

import glob
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import BASE_DIR, free_port, require

SERVER_USER = "postgres"


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl (Debian keeps them out of PATH)."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda path: int(Path(path).parts[4]))
    return Path(found[-1]).parent if found else None


def missing_reason() -> str | None:
    """Why no private server can run here, or None."""
    if server_binaries() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"a '{SERVER_USER}' system user to run PostgreSQL as (root may not)"
    return None


class PrivatePostgres:
    def __init__(self, *, initdb: bool = True) -> None:
        """`initdb=False` leaves the data directory to be made otherwise (a
        standby's, by pg_basebackup)."""
        self.bin = server_binaries()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ocpp-private-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        # Server settings given at every start, beside the address: {"wal_level": "replica"}.
        self.settings: dict[str, str] = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        if initdb:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir}"
        options += "".join(f" -c {shlex.quote(f'{name}={value}')}" for name, value in self.settings.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete its files."""
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    """A started PrivatePostgres, removed after the test (skipped without
    the server binaries, except in CI)."""
    reason = missing_reason()
    require(reason is None, reason or "")
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def manage(database_url: str, *args: str) -> None:
    """`manage.py <args>` against another database (migrate, shell -c ...)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True, capture_output=True)
