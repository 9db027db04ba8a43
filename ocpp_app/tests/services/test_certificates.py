"""The chargers' certificate authority: CSR checks, the CA made on first use
(or the operator's own), signing, revocation."""

import base64
import os
import stat
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from ocpp_app.lib import x509 as x509_lib
from ocpp_app.models import CertificateSigningRequest, Charger, ChargerEvent, IssuedCertificate
from ocpp_app.services import certificates
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, make_csr, rsa_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_CA_CERTFILE = settings.OCPP_CA_KEYFILE = ""
    settings.OCPP_CPO_NAME = ""
    return settings.DATA_DIR


def tampered(pem: str) -> str:
    """The same CSR with one bit of its signature flipped."""
    der = bytearray(x509.load_pem_x509_csr(pem.encode()).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    body = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


# -- CSR checks -------------------------------------------------------------------


def test_it_accepts_a_good_csr():
    csr = x509_lib.csr_check(make_csr("CP1", "ACME"), common_name="CP1", organization="ACME")
    assert csr.is_signature_valid


@pytest.mark.parametrize(
    "pem, organization, reason",
    [
        (make_csr("CP2"), "", "subject CN is 'CP2', expected the charger id 'CP1'"),
        (make_csr("CP1", "Other"), "ACME", "subject O is 'Other', expected 'ACME'"),
        (make_csr("CP1"), "ACME", "subject O is None, expected 'ACME'"),
        (tampered(make_csr("CP1")), "", "the request's signature is not valid"),
        (make_csr("CP1", key=rsa_key(1024)), "", "RSA key of 1024 bits: at least 2048 are required"),
        (make_csr("CP1", key=ec.generate_private_key(ec.SECP521R1())), "", "EC key on curve secp521r1"),
        ("garbage", "", "not a PEM certificate signing request"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "",
            "not a PEM PKCS#10 certificate signing request",
        ),
    ],
    ids=["wrong-cn", "wrong-o", "missing-o", "bad-signature", "rsa-1024", "p-521", "garbage", "bad-der"],
)
def test_it_refuses_a_csr_that_fails_a_check(pem, organization, reason):
    with pytest.raises(x509_lib.CsrInvalid) as error:
        x509_lib.csr_check(pem, common_name="CP1", organization=organization)
    assert str(error.value).startswith(reason)


def test_it_accepts_rsa_2048_and_p384():
    for key in (rsa_key(2048), ec.generate_private_key(ec.SECP384R1())):
        x509_lib.csr_check(make_csr("CP1", key=key), common_name="CP1")


# -- the CA -------------------------------------------------------------------------


def test_it_makes_a_ca_on_first_use_with_private_modes(data_dir):
    authority = certificates.ca_load()
    directory = data_dir / "ca"
    assert authority.generated
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "ca.key").stat().st_mode) == 0o600
    assert x509_lib.is_ca(authority.certificate)
    assert isinstance(authority.key, ec.EllipticCurvePrivateKey) and authority.key.curve.name == "secp256r1"
    assert sorted(os.listdir(data_dir)) == ["ca"]  # no half-built directory left


def test_it_reuses_its_ca_after_a_restart(data_dir):
    first = certificates.ca_info()["sha256"]
    script = "import django; django.setup(); from ocpp_app.services import certificates; print(certificates.ca_info()['sha256'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "OCPP_DATA_DIR": str(data_dir)}
    env.pop("OCPP_CA_CERTFILE", None)
    env.pop("OCPP_CA_KEYFILE", None)
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert output.stdout.strip().splitlines()[-1] == first


def test_concurrent_makers_end_with_one_ca(data_dir):
    directory = data_dir / "ca"
    barrier = threading.Barrier(8)
    errors = []

    def make():
        try:
            barrier.wait()
            certificates.ca_create(directory)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(os.listdir(data_dir)) == ["ca"]
    assert sorted(os.listdir(directory)) == ["ca.crt", "ca.key"]
    key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_concurrent_processes_end_with_one_ca(data_dir):
    script = "import django; django.setup(); from ocpp_app.services import certificates; print(certificates.ca_info()['sha256'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "OCPP_DATA_DIR": str(data_dir)}
    env.pop("OCPP_CA_CERTFILE", None)
    env.pop("OCPP_CA_KEYFILE", None)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    prints = {proc.communicate(timeout=60)[0].strip().splitlines()[-1] for proc in procs}
    assert prints == {certificates.ca_info()["sha256"]}


def test_it_uses_the_configured_ca_files(settings, tmp_path, data_dir):
    cert, key = make_ca("Operator CA")
    (tmp_path / "op.crt").write_text(cert_pem(cert))
    (tmp_path / "op.key").write_text(key_pem(key))
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE = str(tmp_path / "op.crt"), str(tmp_path / "op.key")
    authority = certificates.ca_load()
    assert not authority.generated
    assert authority.certificate == cert
    assert not data_dir.exists()  # nothing made


@pytest.mark.parametrize("problem", ["other-key", "not-a-ca", "missing", "garbage-key"])
def test_it_refuses_configured_ca_files_that_do_not_work_without_showing_the_key(settings, tmp_path, problem):
    cert, key = make_ca("Operator CA", ca=problem != "not-a-ca")
    if problem == "other-key":
        key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "op.crt").write_text(cert_pem(cert))
    key_text = "not a key but a secret" if problem == "garbage-key" else key_pem(key)
    if problem != "missing":
        (tmp_path / "op.key").write_text(key_text)
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE = str(tmp_path / "op.crt"), str(tmp_path / "op.key")
    with pytest.raises(certificates.CAUnavailable) as error:
        certificates.ca_load()
    assert "PRIVATE KEY" not in str(error.value) and "secret" not in str(error.value)


def test_ca_info_never_shows_the_key():
    info = certificates.ca_info()
    assert info["generated"] is True
    assert "PRIVATE" not in repr(info)


# -- SignCertificate --------------------------------------------------------------


def test_it_accepts_a_good_csr_and_signs_it_with_a_chain_that_verifies(settings):
    settings.OCPP_CPO_NAME = "ACME"
    settings.OCPP_CHARGER_CERT_DAYS = 30
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1", "ACME"))
    assert (request.status, request.reason) == ("Accepted", "")
    assert IssuedCertificate.objects.count() == 0  # nothing signed before the answer

    issued = certificates.csr_sign(csr_id=request.pk)
    leaf, ca = x509.load_pem_x509_certificates(issued.chain.encode())
    leaf.verify_directly_issued_by(ca)
    assert ca == certificates.ca_load().certificate
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    assert not x509_lib.is_ca(leaf)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=30, minutes=5)
    stored = IssuedCertificate.objects.get()
    assert (stored.charger.charger_id, stored.serial, stored.status) == (
        "CP1",
        format(leaf.serial_number, "x"),
        "issued",
    )
    assert stored.subject == "O=ACME,CN=CP1"
    assert stored.csr_id == request.pk and "PRIVATE" not in stored.pem
    assert CertificateSigningRequest.objects.get().certificate == issued.chain


def test_serials_are_random():
    serials = set()
    for _ in range(3):
        request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1"))
        serials.add(certificates.csr_sign(csr_id=request.pk).serial)
    assert len(serials) == 3 and all(len(serial) > 30 for serial in serials)


def test_a_rejected_csr_is_a_security_event_and_never_signed():
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("NOT-CP1"))
    assert request.status == "Rejected"
    assert "expected the charger id 'CP1'" in request.reason
    event = ChargerEvent.objects.get(kind="security")
    assert event.status == "CsrRejected" and "expected the charger id" in event.payload["reason"]
    with pytest.raises(ValueError):
        certificates.csr_sign(csr_id=request.pk)
    assert IssuedCertificate.objects.count() == 0


def test_a_csr_is_rejected_when_the_configured_ca_is_unusable(settings, tmp_path):
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE = str(tmp_path / "none.crt"), str(tmp_path / "none.key")
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1"))
    assert (request.status, request.reason) == (
        "Rejected",
        "the central system's certificate authority is not available",
    )


def test_revoking_marks_the_certificate_once():
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1"))
    issued = certificates.csr_sign(csr_id=request.pk)
    assert not certificates.certificate_revoked(serial=issued.serial)
    revoked = certificates.certificate_revoke(certificate_id=issued.pk)
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    assert certificates.certificate_revoked(serial=issued.serial.upper())
    with pytest.raises(certificates.NotRevocable):
        certificates.certificate_revoke(certificate_id=issued.pk)


def test_a_revoked_certificate_stays_revoked_when_its_row_is_deleted():
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1"))
    issued = certificates.csr_sign(csr_id=request.pk)
    certificates.certificate_revoke(certificate_id=issued.pk)
    IssuedCertificate.objects.filter(pk=issued.pk).delete()
    assert certificates.certificate_revoked(serial=issued.serial)


def test_deleting_a_charger_revokes_its_certificates_for_good():
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1"))
    issued = certificates.csr_sign(csr_id=request.pk)
    Charger.objects.get(charger_id="CP1").delete()
    assert not IssuedCertificate.objects.exists()
    # A charger created again under the same id is not admitted with it.
    Charger.objects.create(charger_id="CP1")
    assert certificates.certificate_revoked(serial=issued.serial)


def test_a_signature_made_with_sha256_by_the_ca_key():
    request = certificates.csr_receive(charger_id="CP1", csr=make_csr("CP1", key=rsa_key(2048)))
    leaf = x509.load_pem_x509_certificate(certificates.csr_sign(csr_id=request.pk).pem.encode())
    assert isinstance(leaf.signature_hash_algorithm, hashes.SHA256)
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment
