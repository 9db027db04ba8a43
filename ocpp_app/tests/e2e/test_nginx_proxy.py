"""TLS terminated by a reverse proxy: the repository's nginx configuration
(deploy/nginx/) in front of `manage.py serve`, with a PKI made at test time.
Needs Debian's nginx (`apt-get install nginx`); skipped without it, except
in CI. The test runs its own nginx instance (own config, pid file and free
ports), never the system service."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from conftest import BASE_DIR, free_port, require
from ocpp_app.tests.e2e.pki import TLS_FAILURES, Pki, boots, log_says, make, status_of
from ocpp_app.tests.helpers import basic

pytestmark = pytest.mark.e2e
NGINX = "/usr/sbin/nginx"
TEMPLATE = BASE_DIR / "deploy" / "nginx" / "ocpp.conf.template"
KEY = "proxy-charger-key-012345"


def start_nginx(directory: Path, pki: Pki, upstream_port: int) -> tuple[subprocess.Popen, int, int]:
    tls_port, plain_port = free_port(), free_port()
    values = dict(
        OCPP_SERVER_NAME="localhost",
        OCPP_TLS_PORT=f"127.0.0.1:{tls_port}",
        OCPP_PLAIN_PORT=f"127.0.0.1:{plain_port}",
        OCPP_CERT=pki.server_cert,
        OCPP_KEY=pki.server_key,
        OCPP_CA_BUNDLE=pki.ca_file,
        OCPP_UPSTREAM=f"127.0.0.1:{upstream_port}",
    )
    # As envsubst with the list of names: nginx's own $variables stay.
    site = re.sub(r"\$\{(OCPP_[A-Z_]+)\}", lambda match: values[match.group(1)], TEMPLATE.read_text())
    (directory / "ocpp.conf").write_text(site)
    temp = directory / "temp"
    temp.mkdir()
    (directory / "nginx.conf").write_text(
        f"""daemon off;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {directory}/ocpp.conf;
}}
"""
    )
    proc = subprocess.Popen(
        [NGINX, "-p", str(directory), "-c", str(directory / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while not (directory / "nginx.pid").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((directory / "error.log").read_text(errors="replace"))
        time.sleep(0.05)
    return proc, tls_port, plain_port


@pytest.fixture
def nginx_available():
    require(Path(NGINX).exists() or shutil.which("nginx") is not None, "nginx (apt-get install nginx)")


async def test_profiles_through_nginx(nginx_available, server_factory, tmp_path):
    pki = Pki(tmp_path)
    server = await sync_to_async(server_factory)(OCPP_TRUSTED_PROXIES="127.0.0.1")
    proc, tls_port, plain_port = await sync_to_async(start_nginx)(tmp_path, pki, server.port)
    try:
        await make("NX3", 3)
        await make("NX2", 2, KEY)
        wss, ws = f"wss://127.0.0.1:{tls_port}/ocpp", f"ws://127.0.0.1:{plain_port}/ocpp"

        # Profile 3: the certificate nginx verified, passed in its headers.
        assert await boots(f"{wss}/NX3", ssl=pki.context(pki.client("good", "NX3"))) == "Accepted"
        assert await log_says(server, "NX3", "wss from 127.0.0.1 via proxy 127.0.0.1")
        assert await status_of(f"{wss}/NX3", ssl=pki.context()) == 403
        assert await status_of(f"{wss}/NX3", ssl=pki.context(pki.client("cn", "SOMEONE"))) == 403
        assert await log_says(server, "NX3", "CN 'SOMEONE' is not the charger id")
        # A certificate of another CA fails nginx's verification: never passed on.
        with pytest.raises((*TLS_FAILURES, AssertionError)):
            assert await boots(f"{wss}/NX3", ssl=pki.context(pki.client("alien", "NX3", other_ca=True))) == "Accepted"

        # Profile 2: TLS at the proxy and the password; plain ws:// refused.
        assert await boots(f"{wss}/NX2", ssl=pki.context(), additional_headers=basic("NX2", KEY)) == "Accepted"
        assert await status_of(f"{ws}/NX2", additional_headers=basic("NX2", KEY)) == 403
        # A client's own certificate headers never get through nginx.
        forged = {"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Cert": "forged", "X-Forwarded-Proto": "https"}
        assert await status_of(f"{ws}/NX3", additional_headers=forged) == 403
    finally:
        proc.terminate()
        proc.wait(10)
