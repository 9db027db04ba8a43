"""Signed firmware files: kept under a random name, signed (RSA or ECDSA over
SHA-256), nothing kept when refused, and only names we made resolve."""

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ocpp_app.services.firmware import FirmwareError, firmware_path, firmware_signed, firmware_store, firmware_url
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, rsa_key

IMAGE = b"\x7fELF firmware image " * 5000


def signing_files(tmp_path, key=None) -> dict[str, str]:
    certificate, key = make_ca("Firmware Signer", ca=False, key=key)
    (tmp_path / "fw.crt").write_text(cert_pem(certificate))
    (tmp_path / "fw.key").write_text(key_pem(key))
    return {
        "OCPP_FIRMWARE_SIGNING_CERTFILE": str(tmp_path / "fw.crt"),
        "OCPP_FIRMWARE_SIGNING_KEYFILE": str(tmp_path / "fw.key"),
    }


def verify(signed, data: bytes) -> None:
    """What a charger does: check the signature with the certificate's key."""
    public_key = x509.load_pem_x509_certificate(signed.signing_certificate.encode()).public_key()
    signature = base64.b64decode(signed.signature)
    if isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))


@pytest.fixture
def signing(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"

    def configure(key=None):
        for name, value in signing_files(tmp_path, key).items():
            setattr(settings, name, value)

    return configure


@pytest.mark.parametrize("key", [None, rsa_key(2048)], ids=["ecdsa-p256", "rsa-2048"])
def test_a_stored_file_is_signed_over_its_sha256(signing, key):
    signing(key)
    name = firmware_store([IMAGE[:1000], IMAGE[1000:]])
    signed = firmware_signed(name)
    assert firmware_path(name).read_bytes() == IMAGE
    assert signed.size == len(IMAGE) and signed.sha256 == hashlib.sha256(IMAGE).hexdigest()
    verify(signed, IMAGE)
    with pytest.raises(InvalidSignature):
        verify(signed, IMAGE + b"tampered")


def test_names_are_random_and_unguessable(signing):
    signing()
    names = {firmware_store([IMAGE]) for _ in range(5)}
    assert len(names) == 5
    assert all(len(name) == 47 and name.endswith(".bin") for name in names)


@pytest.mark.parametrize("name", ["../secret_key", "secret_key", "x" * 43 + ".bin", "", "..%2F..%2Fsecret.key"])
def test_only_a_stored_name_resolves(signing, name):
    signing()
    assert firmware_path(name) is None


def test_nothing_is_stored_without_a_signing_key(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_FIRMWARE_SIGNING_CERTFILE = settings.OCPP_FIRMWARE_SIGNING_KEYFILE = ""
    with pytest.raises(FirmwareError, match="OCPP_FIRMWARE_SIGNING_CERTFILE"):
        firmware_store([IMAGE])
    assert not list((tmp_path / "data").glob("firmware/*"))


def test_a_file_over_the_limit_or_empty_is_refused_and_not_kept(signing, settings):
    signing()
    settings.OCPP_FIRMWARE_MAX_BYTES = 1000
    with pytest.raises(FirmwareError, match="larger than 1000 bytes"):
        firmware_store([IMAGE[:600], IMAGE[600:1200]])
    with pytest.raises(FirmwareError, match="empty"):
        firmware_store([b""])
    assert not list((settings.DATA_DIR / "firmware").iterdir())


def test_a_key_that_does_not_match_its_certificate_is_refused(signing, settings, tmp_path):
    signing()
    (tmp_path / "fw.key").write_text(key_pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(FirmwareError, match="does not match"):
        firmware_store([IMAGE])


def test_the_url_is_under_the_public_url_or_the_given_base(settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    assert firmware_url("abc.bin") == "https://csms.example.com/ocpp/firmware/abc.bin"
    assert firmware_url("abc.bin", "http://10.0.0.5:8000/") == "http://10.0.0.5:8000/ocpp/firmware/abc.bin"
