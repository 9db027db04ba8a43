"""Security profiles over real TLS: `manage.py serve` with a server
certificate and SSL_CA_CERTS, made at test time, and real clients with
valid, expired, wrong-CA, wrong-CN and revoked certificates."""

import asyncio
import socket
import ssl

import pytest
from asgiref.sync import sync_to_async
from cryptography.hazmat.primitives.asymmetric import ec

from ocpp_app.models import Charger
from ocpp_app.services import certificates
from ocpp_app.tests.certs import key_pem, make_csr, rsa_key
from ocpp_app.tests.e2e.pki import TLS_FAILURES, Pki, boots, log_says, make, status_of
from ocpp_app.tests.helpers import basic

pytestmark = pytest.mark.e2e
KEY = "tls-charger-key-0123456"


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path)


async def test_profile_3_admits_only_a_verified_certificate_naming_the_charger(server_factory, pki):
    server = await sync_to_async(server_factory)(**pki.env(), OCPP_CLIENT_CERT_ORGANIZATION="ACME CPO")
    await make("P3", 3)
    url = f"{server.ws_url}/ocpp/P3"
    good = pki.client("good", "P3", "ACME CPO")
    assert await boots(url, ssl=pki.context(good)) == "Accepted"
    assert await log_says(server, "P3", "wss from 127.0.0.1 client certificate CN=P3 serial=")

    assert await status_of(url, ssl=pki.context()) == 403  # no certificate
    assert await log_says(server, "P3", "needs a verified client certificate")
    # The server asked for one (SSL_CA_CERTS): the reason does not suggest it did not.
    assert "only with SSL_CA_CERTS" not in (server.log_dir / "charger.P3.log").read_text()
    assert await status_of(url, ssl=pki.context(pki.client("cn", "OTHER", "ACME CPO"))) == 403
    assert await log_says(server, "P3", "CN 'OTHER' is not the charger id")
    assert await status_of(url, ssl=pki.context(pki.client("org", "P3", "Rogue Ltd"))) == 403
    assert await log_says(server, "P3", "O 'Rogue Ltd' is not 'ACME CPO'")
    # Basic auth is no substitute for the certificate at profile 3.
    assert await status_of(url, ssl=pki.context(), additional_headers=basic("P3", KEY)) == 403

    for bad in (
        pki.client("old", "P3", "ACME CPO", expired=True),
        pki.client("alien", "P3", "ACME CPO", other_ca=True),
    ):
        with pytest.raises(TLS_FAILURES):
            await boots(url, ssl=pki.context(bad))
    assert await boots(url, ssl=pki.context(good)) == "Accepted"


async def test_profiles_1_and_2_over_tls_need_the_password_and_no_certificate(server_factory, pki):
    server = await sync_to_async(server_factory)(**pki.env())
    await make("P2", 2, KEY)
    await make("P1", 1, KEY)
    for charger_id in ("P1", "P2"):
        url = f"{server.ws_url}/ocpp/{charger_id}"
        assert await status_of(url, ssl=pki.context()) == 401
        assert await boots(url, ssl=pki.context(), additional_headers=basic(charger_id, KEY)) == "Accepted"


async def test_it_serves_tls_1_2_and_1_3_and_refuses_1_1(server_factory, pki):
    server = await sync_to_async(server_factory)(**pki.env())
    url = f"{server.ws_url}/ocpp/ANY1"
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        assert await boots(url, ssl=pki.context(minimum=version, maximum=version)) == "Accepted"
    old = pki.context(minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1, ciphers="DEFAULT:@SECLEVEL=0")
    with pytest.raises(TLS_FAILURES):
        await boots(url, ssl=old)


def negotiated(port: int, context: ssl.SSLContext) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.cipher()[0]


@pytest.mark.parametrize(
    ("server_key", "suites"),
    [
        (
            lambda: ec.generate_private_key(ec.SECP256R1()),
            ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"],
        ),
        (lambda: rsa_key(2048), ["AES128-GCM-SHA256", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"]),
    ],
    ids=["ecdsa", "rsa"],
)
async def test_the_whitepaper_cipher_suites_are_served_with_tls_1_2(server_factory, tmp_path, server_key, suites):
    pki = Pki(tmp_path, server_key=server_key())
    server = await sync_to_async(server_factory)(**pki.env())
    tls12 = ssl.TLSVersion.TLSv1_2
    for suite in suites:
        context = pki.context(minimum=tls12, maximum=tls12, ciphers=suite)
        assert await asyncio.to_thread(negotiated, server.port, context) == suite


async def test_a_profile_2_charger_is_refused_over_plain_ws(server_factory):
    server = await sync_to_async(server_factory)()
    await make("P2PLAIN", 2, KEY)
    assert await status_of(f"{server.ws_url}/ocpp/P2PLAIN", additional_headers=basic("P2PLAIN", KEY)) == 403
    assert await log_says(server, "P2PLAIN", "security profile 2 needs TLS")


async def test_a_certificate_the_ca_issued_is_refused_once_revoked(server_factory, pki, settings, tmp_path):
    # The central system's CA is the one the TLS layer trusts (SSL_CA_CERTS).
    ca_key_file = tmp_path / "ca.key"
    ca_key_file.write_text(key_pem(pki.ca_key))
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE, settings.OCPP_CPO_NAME = pki.ca_file, str(ca_key_file), ""
    server = await sync_to_async(server_factory)(**pki.env())
    await make("P3R", 3)
    key = ec.generate_private_key(ec.SECP256R1())

    def sign():
        request = certificates.csr_receive(charger_id="P3R", csr=make_csr("P3R", key=key))
        return certificates.csr_sign(csr_id=request.pk)

    issued = await sync_to_async(sign)()
    (tmp_path / "p3r.pem").write_text(issued.pem)
    (tmp_path / "p3r.key").write_text(key_pem(key))
    client = pki.context((str(tmp_path / "p3r.pem"), str(tmp_path / "p3r.key")))
    url = f"{server.ws_url}/ocpp/P3R"
    assert await boots(url, ssl=client) == "Accepted"

    await sync_to_async(certificates.certificate_revoke)(certificate_id=issued.pk)
    assert await status_of(url, ssl=client) == 403
    assert await log_says(server, "P3R", f"Refused: certificate revoked (serial {issued.serial}) (403) from 127.0.0.1")
    assert not (await Charger.objects.aget(charger_id="P3R")).connected
    # Another certificate of the same CA for the same charger is still admitted.
    assert await boots(url, ssl=pki.context(pki.client("fresh", "P3R"))) == "Accepted"
