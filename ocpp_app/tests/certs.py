"""Certificates made at test time (never a committed key): CAs, CSRs and
certificates for the certificate-authority, command and simulator tests."""

import ipaddress
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def name(common_name: str, organization: str = "") -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    return x509.Name(attributes)


def make_ca(common_name: str = "Test Root CA", *, ca: bool = True, key=None) -> tuple[x509.Certificate, object]:
    """A self-signed certificate (a CA unless `ca` is False) and its key."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name(common_name))
        .issuer_name(name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def make_server_cert(ca_cert, ca_key, host: str = "127.0.0.1") -> tuple[x509.Certificate, object]:
    """A TLS server certificate for `host` (an IP address), signed by the CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def make_csr(common_name: str = "CP1", organization: str = "", *, key=None) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder().subject_name(name(common_name, organization)).sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def rsa_key(bits: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def root_pem() -> str:
    return cert_pem(make_ca("Sample Root")[0])


def firmware_signing_env(directory) -> dict[str, str]:
    """A server's settings for a firmware signer of its own, made in
    `directory` (a pathlib.Path): certificate, key and data directory."""
    certificate, key = make_ca("Firmware Signer", ca=False)
    (directory / "fw.crt").write_text(cert_pem(certificate))
    (directory / "fw.key").write_text(key_pem(key))
    return {
        "OCPP_FIRMWARE_SIGNING_CERTFILE": str(directory / "fw.crt"),
        "OCPP_FIRMWARE_SIGNING_KEYFILE": str(directory / "fw.key"),
        "OCPP_DATA_DIR": str(directory / "data"),
    }
