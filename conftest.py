"""Shared fixtures: a real server process on a free loopback port, and the rule
for optional services (skip locally with a clear message, fail in CI)."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(available: bool, what: str) -> None:
    """Skip a test whose service is missing here; in CI a missing service is a
    failure, never a silent skip."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def require_redis() -> str:
    # TEST_REDIS_URL gives Redis to the tests that need it without switching
    # the whole test process to the Redis channel layer (as REDIS_URL does).
    url = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL", "")
    require(bool(url), "Redis (set REDIS_URL or TEST_REDIS_URL)")
    return url


@pytest.fixture
def require_chromium() -> str:
    path = chromium_path()
    require(path is not None, "Chromium (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_of(settings_dict: dict) -> str:
    """A DATABASE_URL naming the test database pytest-django created."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@dataclass
class ServerProcess:
    port: int
    proc: subprocess.Popen
    log_dir: Path
    output: Path
    env: dict = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        """Served with SSL_CERTFILE: https:// and wss://."""
        return bool(self.env.get("SSL_CERTFILE"))

    @property
    def http_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log_text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def start_server(database_url: str, tmp_dir: Path, *, port: int | None = None, **extra_env: str) -> ServerProcess:
    """`manage.py serve` (uvicorn, as in production) against the given
    database, on `port` (a server started again where one stopped) or a free one."""
    port = port or free_port()
    log_dir = tmp_dir / f"logs-{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_DIR": str(log_dir),
        "OCPP_NODE_ID": f"test-{port}",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    output = tmp_dir / f"server-{port}.out"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BASE_DIR,
        env=env,
        stdout=output.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(port=port, proc=proc, log_dir=log_dir, output=output, env=extra_env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_text()}")
        try:
            # The health check only waits for the server; the TLS tests check certificates.
            unverified = ssl._create_unverified_context() if server.tls else None
            with urllib.request.urlopen(f"{server.http_url}/ocpp/health/", timeout=1, context=unverified) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start in 30 s:\n{server.log_text()}")


@pytest.fixture
def server_factory(transactional_db, tmp_path):
    """Start real servers on the test database: `server_factory(**env)`
    (`port=` to start one again where another stopped).
    Tests read what the server stored through the ORM (same database)."""
    from django.db import connection

    url = database_url_of(connection.settings_dict)
    servers: list[ServerProcess] = []

    def factory(*, port: int | None = None, **env: str) -> ServerProcess:
        server = start_server(url, tmp_path, port=port, **env)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def live_ocpp_server(server_factory) -> ServerProcess:
    """One real server with default settings."""
    return server_factory()


@pytest.fixture(scope="session", autouse=True)
def _remove_sqlite_sidecar_files():
    """pytest-django deletes the SQLite test database but not its WAL files."""
    yield
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(database["TEST"]["NAME"] + suffix).unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _qr_codes_made():
    """QR codes are made after commit on a background thread: the codes a test
    queued are made before the next test starts, never after the test
    database is gone."""
    yield
    qr = sys.modules.get("ocpp_app.services.qr")
    if qr is not None:
        qr.wait_for_qr_codes()


@pytest.fixture(autouse=True)
def _fresh_redis_channel_layer():
    """Every test gets its own Redis channel layer object. channels_redis keeps
    per-channel asyncio locks on the layer; a receive cancelled while waiting
    for one leaves it bound to that test's event loop, and the next test to
    contend for it fails with "bound to a different event loop". A server has
    one loop for its life, so this is a test-only concern."""
    yield
    from channels.layers import channel_layers
    from django.conf import settings

    if "redis" in settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "").lower():
        channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _close_thread_connections():
    """The async ORM runs on asgiref's shared thread, whose persistent database
    connection would otherwise outlive the test database (PostgreSQL refuses to
    drop a database that is in use)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
