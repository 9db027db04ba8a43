"""A Redis server of a test's own on a free loopback port, which the test may
stop and start again (same port, nothing kept on disk): the machine's shared
Redis is never touched."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port


def missing_reason() -> str | None:
    """Why no private server can run here, or None."""
    if shutil.which("redis-server") is None:
        return "redis-server (apt-get install redis-server)"
    return None


class PrivateRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ocpp-private-redis-"))
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the private Redis did not start on port {self.port}")

    def stop(self) -> None:
        """Gone at once, like a crashed or restarted Redis: every client
        connection is cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
