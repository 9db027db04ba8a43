"""What the certificate commands keep from the charger's answers: the
certificates it reports installed, the one it accepted, the one it deleted."""

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509 import ocsp

from ocpp_app.lib import x509 as x509_lib
from ocpp_app.models import InstalledCertificate
from ocpp_app.ocpp.commands import check_schema
from ocpp_app.services.commands import CallOutcome, command_finish, command_prepare
from ocpp_app.tests.certs import cert_pem, make_ca
from ocpp_app.tests.helpers import create_charger

pytestmark = pytest.mark.django_db

ROOT = "CentralSystemRootCertificate"


def answered(action: str, payload: dict, answer: dict):
    prepared = command_prepare(charger_id="CP1", action=action, payload=payload, schema=check_schema)
    return command_finish(prepared=prepared, outcome=CallOutcome(status="ok", payload=answer))


def hashes(serial: str, name: str = "a" * 64) -> dict:
    return {"hashAlgorithm": "SHA256", "issuerNameHash": name, "issuerKeyHash": "b" * 64, "serialNumber": serial}


def installed() -> list[tuple[str, str]]:
    return sorted(InstalledCertificate.objects.values_list("certificate_type", "serial_number"))


@pytest.fixture(autouse=True)
def charger():
    return create_charger("CP1")


def test_an_accepted_install_is_kept_by_its_hash_data():
    certificate, _ = make_ca("Root")
    answered(
        "InstallCertificate", {"certificateType": ROOT, "certificate": cert_pem(certificate)}, {"status": "Accepted"}
    )
    row = InstalledCertificate.objects.get()
    expected = x509_lib.hash_data(certificate)
    assert (row.certificate_type, row.serial_number, row.issuer_name_hash, row.issuer_key_hash) == (
        ROOT,
        format(certificate.serial_number, "x"),
        expected.issuer_name_hash,
        expected.issuer_key_hash,
    )


def test_a_rejected_install_keeps_nothing():
    pem = cert_pem(make_ca("Root")[0])
    answered("InstallCertificate", {"certificateType": ROOT, "certificate": pem}, {"status": "Rejected"})
    assert installed() == []


def test_the_installed_list_is_replaced_per_type():
    answered(
        "GetInstalledCertificateIds",
        {"certificateType": ROOT},
        {"status": "Accepted", "certificateHashData": [hashes("01"), hashes("02")]},
    )
    answered(
        "GetInstalledCertificateIds",
        {"certificateType": "ManufacturerRootCertificate"},
        {"status": "Accepted", "certificateHashData": [hashes("09")]},
    )
    answered(
        "GetInstalledCertificateIds",
        {"certificateType": ROOT},
        {"status": "Accepted", "certificateHashData": [hashes("02"), hashes("03")]},
    )
    assert installed() == [("CentralSystemRootCertificate", "02"), (ROOT, "03"), ("ManufacturerRootCertificate", "09")]
    answered("GetInstalledCertificateIds", {"certificateType": ROOT}, {"status": "NotFound"})
    assert installed() == [("ManufacturerRootCertificate", "09")]


def test_a_deleted_certificate_goes():
    answered(
        "GetInstalledCertificateIds",
        {"certificateType": ROOT},
        {"status": "Accepted", "certificateHashData": [hashes("01"), hashes("02")]},
    )
    answered("DeleteCertificate", {"certificateHashData": hashes("01")}, {"status": "Failed"})
    assert installed() == [(ROOT, "01"), (ROOT, "02")]
    answered("DeleteCertificate", {"certificateHashData": hashes("01")}, {"status": "Accepted"})
    assert installed() == [(ROOT, "02")]


def test_the_hash_data_matches_what_openssl_ocsp_hashes():
    # issuerKeyHash is the SHA-256 of the issuer's public key bits, as in an OCSP CertID.
    root, _ = make_ca("Root")
    request = ocsp.OCSPRequestBuilder().add_certificate(root, root, SHA256()).build()
    data = x509_lib.hash_data(root)
    assert data.issuer_key_hash == request.issuer_key_hash.hex()
    assert data.issuer_name_hash == request.issuer_name_hash.hex()
