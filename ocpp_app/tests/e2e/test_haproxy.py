"""The repository's HAProxy configuration (deploy/haproxy/ocpp.cfg) checked by
HAProxy itself and run in front of `manage.py serve`, with a PKI made at
test time. Needs Debian's haproxy (`apt-get install haproxy`); skipped
without it, except in CI. The test runs its own HAProxy (its own global
section, pid file and free ports), never the system service."""

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import websockets
from asgiref.sync import sync_to_async

from conftest import BASE_DIR, free_port, require
from ocpp_app.tests.e2e.pki import TLS_FAILURES, Pki, boots, log_says, make, status_of
from ocpp_app.tests.helpers import basic

pytestmark = pytest.mark.e2e
HAPROXY = "/usr/sbin/haproxy"
CONFIG = BASE_DIR / "deploy" / "haproxy" / "ocpp.cfg"
KEY = "haproxy-charger-key-0123"


def haproxy_binary() -> str | None:
    return HAPROXY if Path(HAPROXY).exists() else shutil.which("haproxy")


def global_section(directory: Path) -> Path:
    """What Debian's /etc/haproxy/haproxy.cfg gives in production (the global
    section), here for a private instance: its own pid file and stats socket,
    logs to stderr, no user switch or chroot."""
    path = directory / "global.cfg"
    path.write_text(
        f"global\n    log stderr format short local0 info\n    stats socket {directory}/haproxy.sock mode 600 level admin\n"
    )
    return path


def haproxy_env(**values: str) -> dict:
    """The environment the configuration reads its values from; the test's own
    OCPP_* variables (e.g. a node address) are never inherited."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OCPP_")}
    # Every charger holds two connections; the machine's descriptor limit may be low.
    env.update(OCPP_MAXCONN="2000", **values)
    return env


def check(directory: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [haproxy_binary(), "-c", "-f", str(global_section(directory)), "-f", str(CONFIG)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def start_haproxy(directory: Path, env: dict, probe_url: str) -> subprocess.Popen:
    """HAProxy in the foreground with the deploy configuration; returns once a
    request through it reaches a node (the health check marked it up)."""
    output = (directory / "haproxy.out").open("wb")
    proc = subprocess.Popen(
        [haproxy_binary(), "-db", "-f", str(global_section(directory)), "-f", str(CONFIG)],
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(probe_url, timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    proc.wait(5)
    raise RuntimeError((directory / "haproxy.out").read_text(errors="replace"))


def health_path(server) -> str:
    """The readiness endpoint the configuration asks for by default, or the
    liveness one on a server that does not have it yet."""
    try:
        with urllib.request.urlopen(f"{server.http_url}/ocpp/health/ready", timeout=5) as response:
            if response.status == 200:
                return "/ocpp/health/ready"
    except OSError:
        pass
    return "/ocpp/health/"


def stats(directory: Path, backend: str, server: str) -> dict:
    """A server's (or, as "BACKEND", the backend's) row of HAProxy's
    statistics, from its stats socket: "status" as the health checks see it,
    "stot" the connections it took."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(directory / "haproxy.sock"))
        sock.sendall(b"show stat\n")
        text = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
    lines = text.splitlines()
    header = lines[0].lstrip("# ").split(",")
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == backend and row.get("svname") == server:
            return row
    return {}


@pytest.fixture
def haproxy_available():
    require(haproxy_binary() is not None, "haproxy (apt-get install haproxy)")


def test_the_configuration_is_valid_for_one_to_six_nodes_with_or_without_tls(haproxy_available, tmp_path):
    pki = Pki(tmp_path)
    combined = tmp_path / "server-with-key.pem"
    combined.write_text(Path(pki.server_cert).read_text() + Path(pki.server_key).read_text())
    plain = {"OCPP_PLAIN_BIND": f"127.0.0.1:{free_port()}"}
    tls = {"OCPP_TLS_BIND": f"127.0.0.1:{free_port()}", "OCPP_CERT": str(combined), "OCPP_CA_BUNDLE": pki.ca_file}
    nodes = {f"OCPP_NODE{i}": f"10.0.0.{i}:8001" for i in range(1, 7)}
    for values in (
        {"OCPP_NODE1": "10.0.0.1:8001", **plain},
        {**nodes, **plain, **tls},
        {"OCPP_NODE1": "10.0.0.1:8001", **tls},
    ):
        result = check(tmp_path, haproxy_env(**values))
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Configuration file is valid" in result.stdout + result.stderr
    # Without a node there is nothing to proxy to: HAProxy says so.
    result = check(tmp_path, haproxy_env(**plain))
    assert result.returncode != 0


async def test_chargers_through_haproxy_at_every_profile(haproxy_available, server_factory, tmp_path):
    pki = Pki(tmp_path)
    combined = tmp_path / "server-with-key.pem"
    combined.write_text(Path(pki.server_cert).read_text() + Path(pki.server_key).read_text())
    server = await sync_to_async(server_factory)(OCPP_TRUSTED_PROXIES="127.0.0.1")
    tls_port, plain_port = free_port(), free_port()
    env = haproxy_env(
        OCPP_NODE1=f"127.0.0.1:{server.port}",
        OCPP_PLAIN_BIND=f"127.0.0.1:{plain_port}",
        OCPP_TLS_BIND=f"127.0.0.1:{tls_port}",
        OCPP_CERT=str(combined),
        OCPP_CA_BUNDLE=pki.ca_file,
        OCPP_HEALTH_PATH=await sync_to_async(health_path)(server),
    )
    proc = await sync_to_async(start_haproxy)(tmp_path, env, f"http://127.0.0.1:{plain_port}/ocpp/health/")
    try:
        await make("HA0", 0)
        await make("HA3", 3)
        await make("HA2", 2, KEY)
        wss, ws = f"wss://127.0.0.1:{tls_port}/ocpp", f"ws://127.0.0.1:{plain_port}/ocpp"

        # Profile 0 over ws://, from a charger at another address than the
        # proxy's: X-Forwarded-For names the charger in its connection line.
        assert await boots(f"{ws}/HA0", local_addr=("127.0.0.2", 0)) == "Accepted"
        assert await log_says(server, "HA0", "ws from 127.0.0.2 via proxy 127.0.0.1")

        # Profile 3: the certificate HAProxy verified, in the headers the
        # central system reads (URL-escaped PEM, SUCCESS).
        good = pki.context(pki.client("good", "HA3"))
        assert await boots(f"{wss}/HA3", ssl=good, local_addr=("127.0.0.3", 0)) == "Accepted"
        assert await log_says(server, "HA3", "wss from 127.0.0.3 via proxy 127.0.0.1 client certificate CN=HA3")
        assert await status_of(f"{wss}/HA3", ssl=pki.context()) == 403
        assert await status_of(f"{wss}/HA3", ssl=pki.context(pki.client("cn", "SOMEONE"))) == 403
        assert await log_says(server, "HA3", "CN 'SOMEONE' is not the charger id")
        # A certificate of another CA fails HAProxy's verification: the TLS
        # handshake itself fails, nothing reaches the node.
        with pytest.raises((*TLS_FAILURES, AssertionError)):
            alien = pki.context(pki.client("alien", "HA3", other_ca=True))
            assert await boots(f"{wss}/HA3", ssl=alien) == "Accepted"

        # Profile 2: TLS at the proxy and the password; plain ws:// refused.
        assert await boots(f"{wss}/HA2", ssl=pki.context(), additional_headers=basic("HA2", KEY)) == "Accepted"
        assert await status_of(f"{ws}/HA2", additional_headers=basic("HA2", KEY)) == 403
        # A client's own TLS and certificate headers never get through.
        forged = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Cert": "forged", "X-Forwarded-Proto": "https"}
        assert await status_of(f"{ws}/HA3", additional_headers=forged) == 403
        assert await status_of(f"{wss}/HA3", ssl=pki.context(), additional_headers=forged) == 403

        # TLS 1.2 and 1.3 served, 1.1 refused (Security Profile 2).
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            context = pki.context(pki.client("v", "HA3"), minimum=version, maximum=version)
            assert await boots(f"{wss}/HA3", ssl=context) == "Accepted"
        old = pki.context(minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1, ciphers="DEFAULT:@SECLEVEL=0")
        with pytest.raises(TLS_FAILURES):
            await boots(f"{wss}/HA0", ssl=old)

        # The socket is a tunnel: a CALL after the upgrade is answered too.
        async with websockets.connect(f"{ws}/HA0", subprotocols=["ocpp1.6"]) as socket:
            await socket.send(json.dumps([2, "h1", "Heartbeat", {}]))
            answer = json.loads(await socket.recv())
            assert answer[0] == 3 and answer[1] == "h1" and "currentTime" in answer[2]
    finally:
        proc.terminate()
        proc.wait(10)


async def test_chargers_still_connect_while_no_node_is_ready(haproxy_available, server_factory, tmp_path):
    """Every node failing its readiness check (Redis away, say) takes them
    all out of `ocpp_nodes`; new connections then go to the nodes that are
    alive (`ocpp_nodes_alive`) instead of HAProxy's 503."""
    server = await sync_to_async(server_factory)(OCPP_TRUSTED_PROXIES="127.0.0.1")
    plain_port = free_port()
    env = haproxy_env(
        OCPP_NODE1=f"127.0.0.1:{server.port}",
        OCPP_PLAIN_BIND=f"127.0.0.1:{plain_port}",
        OCPP_HEALTH_PATH="/ocpp/health/not-here",  # never ready
    )
    proc = await sync_to_async(start_haproxy)(tmp_path, env, f"http://127.0.0.1:{plain_port}/ocpp/health/")
    try:
        deadline = time.monotonic() + 20
        while stats(tmp_path, "ocpp_nodes", "node1").get("status") != "DOWN" and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        assert stats(tmp_path, "ocpp_nodes", "node1").get("status") == "DOWN"
        assert stats(tmp_path, "ocpp_nodes_alive", "node1").get("status", "").startswith("UP")
        await make("HAR", 0)
        before = int(stats(tmp_path, "ocpp_nodes_alive", "BACKEND")["stot"])
        assert await boots(f"ws://127.0.0.1:{plain_port}/ocpp/HAR") == "Accepted"
        assert int(stats(tmp_path, "ocpp_nodes_alive", "BACKEND")["stot"]) == before + 1
    finally:
        proc.terminate()
        proc.wait(10)
