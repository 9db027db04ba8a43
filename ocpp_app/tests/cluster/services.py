"""The processes of the cluster, each started by the test and stoppable at
will: PostgreSQL (initdb into the run's directory, run as the `postgres`
user since it refuses root), Redis, the `manage.py serve` nodes (one per
host namespace) and HAProxy with the repository's deploy/haproxy/ocpp.cfg.
Nothing here touches the machine's own PostgreSQL or Redis: every service
listens on the bridge address on a port of its own."""

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import BASE_DIR
from ocpp_app.tests.cluster.hosts import BRIDGE_ADDRESS, SUBNET, Host

PG_USER = "postgres"
HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CONFIG = BASE_DIR / "deploy" / "haproxy" / "ocpp.cfg"
POSTGRES_CONFIG = BASE_DIR / "deploy" / "postgresql" / "ocpp.conf"
REDIS_CONFIG = BASE_DIR / "deploy" / "redis" / "ocpp.conf"
NODE_PORT = 8000


def pg_binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[4]))
    return Path(found[-1]).parent if found else None


def haproxy_binary() -> str | None:
    return HAPROXY if Path(HAPROXY).exists() else shutil.which("haproxy")


def free_port_on(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def port_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


def kill_pid_file(path: Path, marker: str) -> None:
    """Kill the process a pid file names if it is still the one we started
    (its command line holds `marker`): a leftover of a killed run."""
    try:
        pid = int(path.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return
    if marker in cmdline:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Postgres:
    def __init__(self, directory: Path, port: int) -> None:
        self.bin = pg_binaries()
        self.dir = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = port
        self.user = pwd.getpwnam(PG_USER)

    @property
    def url(self) -> str:
        return f"postgres://{PG_USER}@{BRIDGE_ADDRESS}:{self.port}/ocpp"

    def _as_postgres(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["runuser", "-u", PG_USER, "--", *argv], capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: {result.stdout}{result.stderr}")
        return result

    def create(self) -> None:
        self.dir.mkdir(parents=True)
        os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", PG_USER, "--auth=trust", "--no-locale", "-E", "UTF8"
        )
        # The deployment's settings, then what differs on a test machine
        # (later lines win): its addresses, and no fsync for speed.
        shutil.copy(POSTGRES_CONFIG, self.data / "ocpp.conf")
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                "include = 'ocpp.conf'\n"
                f"listen_addresses = '{BRIDGE_ADDRESS}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "shared_buffers = 64MB\nfsync = off\nfull_page_writes = off\n"
            )
        os.chown(self.data / "ocpp.conf", self.user.pw_uid, self.user.pw_gid)
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")

    def start(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def create_database(self) -> None:
        self._as_postgres(str(self.bin / "createdb"), "-h", BRIDGE_ADDRESS, "-p", str(self.port), "-U", PG_USER, "ocpp")

    @staticmethod
    def remove_leftover(directory: Path) -> None:
        """Stop a server a killed run left running in `directory`."""
        data = directory / "data"
        binaries = pg_binaries()
        if (data / "postmaster.pid").exists() and binaries:
            subprocess.run(
                ["runuser", "-u", PG_USER, "--", str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
                cwd="/",
            )


class Redis:
    def __init__(self, directory: Path, port: int) -> None:
        self.dir = directory
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.log = directory / "redis.log"
        # As deployed: a password on every connection (the nodes' REDIS_URL).
        self.password = secrets.token_hex(16)

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@{BRIDGE_ADDRESS}:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                str(REDIS_CONFIG),
                # What deploy/README.md puts in ocpp-local.conf.
                "--port",
                str(self.port),
                "--bind",
                BRIDGE_ADDRESS,
                "--requirepass",
                self.password,
                "--dir",
                str(self.dir),
                "--pidfile",
                str(self.dir / "redis.pid"),
                "--logfile",
                str(self.log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: port_open(BRIDGE_ADDRESS, self.port), 20, "Redis listening")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Node:
    """`manage.py serve` inside its host's namespace."""

    def __init__(self, host: Host, env: dict, directory: Path) -> None:
        self.host = host
        self.node_id = f"node{host.number}"
        self.log_dir = directory / "logs" / self.node_id
        self.output = directory / f"{self.node_id}.out"
        self.env = {**env, "OCPP_NODE_ID": self.node_id, "LOG_DIR": str(self.log_dir)}
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host.address}:{NODE_PORT}"

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "manage.py", "serve", "--host", self.host.address, "--port", str(NODE_PORT)]
        self.proc = subprocess.Popen(
            self.host.command(*command),
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.output.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.node_id} exited:\n{self.output.read_text(errors='replace')[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/ocpp/health/", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(up, timeout, f"{self.node_id} serving")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies without a word, as on a crash."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.alive:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class HAProxy:
    """The deploy configuration, run in the foreground, after a global
    section of the test's own (what Debian's haproxy.cfg gives in production)."""

    def __init__(self, directory: Path, env: dict) -> None:
        self.dir = directory
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.output = directory / "haproxy.out"
        self.socket = directory / "haproxy.sock"
        self.global_cfg = directory / "global.cfg"

    def files(self) -> list[str]:
        self.global_cfg.write_text(
            f"global\n    log stderr format short local0 info\n    stats socket {self.socket} mode 600 level admin\n"
        )
        return ["-f", str(self.global_cfg), "-f", str(HAPROXY_CONFIG)]

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run(
            [haproxy_binary(), "-c", *self.files()], env=self.env, capture_output=True, text=True, timeout=30
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [haproxy_binary(), "-db", *self.files()],
            env=self.env,
            stdout=self.output.open("ab"),
            stderr=subprocess.STDOUT,
        )
        (self.dir / "haproxy.pid").write_text(str(self.proc.pid))

    def command(self, text: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket))
            sock.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def server_states(self) -> dict[str, str]:
        """node name -> UP / DOWN / ... as the health checks see it."""
        try:
            lines = self.command("show stat").splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",") if lines else []
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "ocpp_nodes" and row.get("svname") not in ("BACKEND", "FRONTEND", None):
                states[row["svname"]] = row.get("status", "")
        return states

    def sessions(self, backend: str) -> int:
        """Connections a backend has taken since HAProxy started."""
        try:
            lines = self.command("show stat").splitlines()
        except OSError:
            return -1
        header = lines[0].lstrip("# ").split(",") if lines else []
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == backend and row.get("svname") == "BACKEND":
                return int(row.get("stot") or 0)
        return -1

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
