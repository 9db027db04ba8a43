"""What the TLS tests share: a PKI made at test time (never a committed key)
and a charger's view of a handshake."""

import ipaddress
import json
import ssl
from datetime import UTC, datetime, timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ocpp_app.services.chargers import charger_get_or_create, charger_set_password
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, name
from ocpp_app.tests.helpers import wait_for

TLS_FAILURES = (ssl.SSLError, ConnectionError, EOFError, websockets.InvalidHandshake, websockets.ConnectionClosed)


def issue(ca_cert, ca_key, common_name, organization="", *, key=None, server=False, expired=False):
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=10), now - timedelta(days=1))
        if expired
        else (now - timedelta(minutes=1), now + timedelta(days=2))
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(common_name, organization))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(ca_key, hashes.SHA256()), key


class Pki:
    """A CA, a server certificate for 127.0.0.1 and client certificates, as files."""

    def __init__(self, directory, server_key=None) -> None:
        self.dir = directory
        self.ca_cert, self.ca_key = make_ca("Charger Root CA")
        self.ca_file = self._write("ca.pem", cert_pem(self.ca_cert))
        cert, key = issue(self.ca_cert, self.ca_key, "127.0.0.1", key=server_key, server=True)
        self.server_cert = self._write("server.pem", cert_pem(cert))
        self.server_key = self._write("server.key", key_pem(key))

    def _write(self, file_name: str, text: str) -> str:
        path = self.dir / file_name
        path.write_text(text)
        return str(path)

    def client(self, label: str, common_name: str, organization: str = "", *, expired=False, other_ca=False):
        ca_cert, ca_key = make_ca("Someone Else's CA") if other_ca else (self.ca_cert, self.ca_key)
        cert, key = issue(ca_cert, ca_key, common_name, organization, expired=expired)
        return self._write(f"{label}.pem", cert_pem(cert)), self._write(f"{label}.key", key_pem(key))

    def env(self) -> dict:
        return {"SSL_CERTFILE": self.server_cert, "SSL_KEYFILE": self.server_key, "SSL_CA_CERTS": self.ca_file}

    def context(self, client=None, *, minimum=None, maximum=None, ciphers=None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if client:
            context.load_cert_chain(*client)
        if minimum:
            context.minimum_version = minimum
        if maximum:
            context.maximum_version = maximum
        if ciphers:
            context.set_ciphers(ciphers)
        return context


async def boots(url: str, **connect) -> str:
    async with websockets.connect(url, subprotocols=["ocpp1.6"], **connect) as ws:
        await ws.send(json.dumps([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]))
        return json.loads(await ws.recv())[2]["status"]


async def status_of(url: str, **connect) -> int:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(url, subprotocols=["ocpp1.6"], **connect)
    return refused.value.response.status_code


async def log_says(server, charger_id: str, text: str) -> bool:
    path = server.log_dir / f"charger.{charger_id}.log"
    return bool(await wait_for(lambda: path.exists() and text in path.read_text()))


async def make(charger_id: str, profile: int | None, password: str | None = None) -> None:
    def create():
        charger = charger_get_or_create(charger_id=charger_id)
        charger.security_profile = profile
        charger.save(update_fields=["security_profile"])
        if password:
            charger_set_password(charger_id=charger_id, password=password)

    await sync_to_async(create)()
