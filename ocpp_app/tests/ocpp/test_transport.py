"""What a handshake's scope tells about its transport (ocpp/transport.py):
forwarded headers are believed only from OCPP_TRUSTED_PROXIES."""

from urllib.parse import quote

import pytest

from ocpp_app.ocpp.transport import transport_facts
from ocpp_app.services.security_profiles import ClientCertificate
from ocpp_app.tests.certs import cert_pem, make_ca
from ocpp_app.tests.e2e.pki import issue

CA, CA_KEY = make_ca()
CERT = issue(CA, CA_KEY, "CP1", "ACME")[0]
PEM = cert_pem(CERT)
SERIAL = format(CERT.serial_number, "x")


def scope(peer: str, headers: dict[str, str], *, scheme: str = "ws", extensions: dict | None = None) -> dict:
    return {
        "client": (peer, 40000),
        "scheme": scheme,
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "extensions": extensions or {},
    }


FORWARDED = {
    "X-Forwarded-For": "203.0.113.7, 10.0.0.2",
    "X-Forwarded-Proto": "https",
    "X-SSL-Client-Verify": "SUCCESS",
    "X-SSL-Client-Cert": quote(PEM),
}


@pytest.fixture(autouse=True)
def _proxies(settings):
    settings.OCPP_TRUSTED_PROXIES = ["10.0.0.0/24"]


def test_a_trusted_proxy_tells_the_client_tls_and_certificate():
    facts = transport_facts(scope("10.0.0.1", FORWARDED))
    assert (facts.source, facts.tls, facts.via_proxy) == ("203.0.113.7", True, True)
    assert facts.certificate == ClientCertificate("CP1", "ACME", SERIAL)


def test_the_same_headers_from_anyone_else_are_ignored():
    facts = transport_facts(scope("198.51.100.9", FORWARDED))
    assert (facts.source, facts.tls, facts.certificate, facts.via_proxy) == ("198.51.100.9", False, None, False)


@pytest.mark.parametrize(
    ("verify", "problem"),
    [("NONE", "no client certificate was presented"), ("FAILED:certificate has expired", "could not verify it")],
)
def test_a_certificate_the_proxy_did_not_verify_is_none(verify, problem):
    facts = transport_facts(scope("10.0.0.1", {**FORWARDED, "X-SSL-Client-Verify": verify}))
    assert facts.certificate is None and problem in facts.certificate_problem


def test_a_certificate_over_plain_http_at_the_proxy_does_not_count():
    facts = transport_facts(scope("10.0.0.1", {**FORWARDED, "X-Forwarded-Proto": "http"}))
    assert (facts.tls, facts.certificate) == (False, None)


def test_served_directly_the_tls_extension_tells():
    tls = {"tls": {"client_cert_chain": [PEM]}}
    facts = transport_facts(scope("198.51.100.9", {}, scheme="wss", extensions=tls))
    assert (facts.tls, facts.certificate) == (True, ClientCertificate("CP1", "ACME", SERIAL))
    plain = transport_facts(scope("198.51.100.9", {}))
    assert (plain.tls, plain.certificate) == (False, None) and "SSL_CA_CERTS" in plain.certificate_problem


def test_a_missing_certificate_is_told_apart_from_one_never_asked_for():
    asked = {"tls": {"client_cert_chain": [], "ocpp_client_cert_requested": True}}
    never = {"tls": {"client_cert_chain": [], "ocpp_client_cert_requested": False}}
    facts = transport_facts(scope("198.51.100.9", {}, scheme="wss", extensions=asked))
    assert facts.certificate_problem == "no client certificate was presented"
    facts = transport_facts(scope("198.51.100.9", {}, scheme="wss", extensions=never))
    assert "only with SSL_CA_CERTS" in facts.certificate_problem
