"""The simulator's TLS options and its checks of a CertificateSigned chain."""

import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ocpp_app.lib import x509 as x509_lib
from ocpp_app.tests.certs import cert_pem, make_ca, name
from simulator import ChargePointSimulator, SimulatorConfig
from simulator.__main__ import build_parser, config_from_args
from simulator.certificates import CERT_FILE, KEY_FILE


def sign(csr_pem: str, ca_cert, ca_key, *, common_name=None) -> str:
    """A chain for the CSR, as a central system's CA would send it."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    now = datetime.now(UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(common_name) if common_name else csr.subject)
        .issuer_name(ca_cert.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    return cert_pem(leaf) + cert_pem(ca_cert)


def test_the_cli_takes_the_tls_and_certificate_options():
    args = build_parser().parse_args(
        [
            "--url",
            "wss://csms.example.com/ocpp/CP7",
            "--ca-bundle",
            "/ca.pem",
            "--client-cert",
            "/c.pem",
            "--client-key",
            "/c.key",
            "--cert-dir",
            "/certs",
            "--organization",
            "ACME",
        ]
    )
    config = config_from_args(args)
    assert (config.scheme, config.ws_port, config.ca_bundle, config.client_cert, config.client_key) == (
        "wss",
        443,
        "/ca.pem",
        "/c.pem",
        "/c.key",
    )
    assert (config.cert_dir, config.organization) == ("/certs", "ACME")


def test_a_client_certificate_needs_its_key():
    args = build_parser().parse_args(["--url", "wss://h/ocpp/CP7", "--client-cert", "/c.pem"])
    with pytest.raises(ValueError, match="go together"):
        config_from_args(args)


@pytest.fixture
def sim(tmp_path):
    return ChargePointSimulator(SimulatorConfig(cp_path="ocpp/CP9", cert_dir=str(tmp_path / "certs"), organization="O"))


def pending_csr(sim) -> str:
    csr, key = x509_lib.csr_make(common_name="CP9", organization="O")
    sim._pending_key = key
    return csr


def test_it_installs_a_chain_for_its_own_request(sim, tmp_path):
    ca_cert, ca_key = make_ca()
    assert sim.install_certificate(sign(pending_csr(sim), ca_cert, ca_key)) == "Accepted"
    assert stat.S_IMODE((tmp_path / "certs" / KEY_FILE).stat().st_mode) == 0o600
    assert sim.client_certificate().certfile == str(tmp_path / "certs" / CERT_FILE)


def test_it_rejects_a_chain_it_did_not_ask_for_or_that_is_not_its_own(sim):
    ca_cert, ca_key = make_ca()
    unrequested = sign(x509_lib.csr_make(common_name="CP9")[0], ca_cert, ca_key)
    assert sim.install_certificate(unrequested) == "Rejected"  # nothing was requested
    pending_csr(sim)
    assert sim.install_certificate(unrequested) == "Rejected"  # another key
    assert "not for the key" in sim.last_error
    assert sim.install_certificate(sign(pending_csr(sim), ca_cert, ca_key, common_name="OTHER")) == "Rejected"
    assert "CN" in sim.last_error
    other_ca = make_ca("Other")
    forged = sign(pending_csr(sim), *other_ca).split("-----END CERTIFICATE-----\n")[0]
    forged += "-----END CERTIFICATE-----\n" + cert_pem(ca_cert)
    assert sim.install_certificate(forged) == "Rejected"
    assert "does not verify" in sim.last_error
    assert sim.install_certificate("garbage") == "Rejected"
    assert sim.client_certificate() is None
