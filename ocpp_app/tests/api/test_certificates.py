"""The certificates API in process: issued certificates (filters, detail,
revoke), the CA, a charger's certificates, renewal and InstallCertificate."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from ocpp_app.models import Command, InstalledCertificate, IssuedCertificate
from ocpp_app.services import certificates
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, make_csr
from ocpp_app.tests.helpers import api_client_for, create_charger, create_without_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_CA_CERTFILE = settings.OCPP_CA_KEYFILE = settings.OCPP_CPO_NAME = ""


@pytest.fixture
def client(api_client):
    return api_client


def issue(charger_id: str = "CP1", **changes) -> IssuedCertificate:
    request = certificates.csr_receive(charger_id=charger_id, csr=make_csr(charger_id))
    issued = certificates.csr_sign(csr_id=request.pk)
    if changes:
        IssuedCertificate.objects.filter(pk=issued.pk).update(**changes)
        issued.refresh_from_db()
    return issued


@pytest.mark.parametrize("path", ["/ocpp/certificates/", "/ocpp/certificates/ca/", "/ocpp/chargers/CP1/certificates/"])
def test_it_needs_staff(path):
    create_charger("CP1")
    assert APIClient().get(path).status_code == 401
    assert api_client_for(create_without_role()).get(path).status_code == 403


def test_it_lists_issued_certificates_with_filters(client):
    soon = issue("CP1", not_after=timezone.now() + timedelta(days=3))
    later = issue("CP2")
    revoked = issue("CP2", status="revoked", revoked_at=timezone.now())

    def ids(query: str = "") -> list[int]:
        response = client.get(f"/ocpp/certificates/{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [revoked.pk, later.pk, soon.pk]
    assert ids("?charger=CP2") == [revoked.pk, later.pk]
    assert ids("?status=issued") == [later.pk, soon.pk]
    before = (timezone.now() + timedelta(days=10)).isoformat().replace("+00:00", "Z")
    assert ids(f"?expires_before={before}") == [soon.pk]
    row = client.get("/ocpp/certificates/?charger=CP1").json()["results"][0]
    assert row["charger_id"] == "CP1" and row["serial"] == soon.serial and row["expires_soon"] is True
    assert "pem" not in row


@pytest.mark.parametrize("query", ["?status=expired", "?expires_before=tomorrow"])
def test_a_bad_filter_is_a_400(client, query):
    assert client.get(f"/ocpp/certificates/{query}").status_code == 400


def test_the_detail_has_the_public_certificate_only(client):
    issued = issue()
    body = client.get(f"/ocpp/certificates/{issued.pk}/").json()
    assert body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in str(body)


def test_revoke_marks_it_once(client):
    issued = issue()
    response = client.post(f"/ocpp/certificates/{issued.pk}/revoke/")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    assert IssuedCertificate.objects.get().revoked_at is not None
    assert client.post(f"/ocpp/certificates/{issued.pk}/revoke/").status_code == 409
    assert client.post("/ocpp/certificates/999/revoke/").status_code == 404


def test_the_ca_endpoint_shows_the_public_ca(client):
    body = client.get("/ocpp/certificates/ca/").json()
    assert body["generated"] is True and body["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in str(body)


def test_the_ca_endpoint_names_a_broken_ca_file_without_its_key(client, settings, tmp_path):
    cert, key = make_ca("Op")
    (tmp_path / "op.crt").write_text(cert_pem(make_ca("Other")[0]))
    (tmp_path / "op.key").write_text(key_pem(key))
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE = str(tmp_path / "op.crt"), str(tmp_path / "op.key")
    response = client.get("/ocpp/certificates/ca/")
    assert response.status_code == 503 and "is not the key of the certificate" in response.json()["detail"]
    assert "PRIVATE" not in response.content.decode()


def test_a_charger_lists_its_certificates(client):
    issued = issue("CP1")
    issue("CP2")
    charger = issued.charger
    InstalledCertificate.objects.create(
        charger=charger,
        certificate_type="CentralSystemRootCertificate",
        hash_algorithm="SHA256",
        issuer_name_hash="aa",
        issuer_key_hash="bb",
        serial_number="1",
    )
    body = client.get("/ocpp/chargers/CP1/certificates/").json()
    assert [row["serial"] for row in body["issued"]] == [issued.serial]
    assert body["installed"][0]["certificate_type"] == "CentralSystemRootCertificate"
    assert client.get("/ocpp/chargers/NOPE/certificates/").status_code == 404


def test_renew_sends_extended_trigger_message(client):
    create_charger("CP1")  # not connected: the command is on record, answered 409
    response = client.post("/ocpp/chargers/CP1/certificates/renew/")
    assert response.status_code == 409
    command = Command.objects.get()
    assert (command.action, command.request) == (
        "ExtendedTriggerMessage",
        {"requestedMessage": "SignChargePointCertificate"},
    )


def test_install_takes_a_pem_text_or_file(client):
    create_charger("CP1")
    pem = cert_pem(make_ca("Root")[0])
    as_text = client.post(
        "/ocpp/chargers/CP1/certificates/install/",
        {"certificate_type": "CentralSystemRootCertificate", "certificate": pem},
        format="json",
    )
    as_file = client.post(
        "/ocpp/chargers/CP1/certificates/install/",
        {"certificate_type": "ManufacturerRootCertificate", "file": SimpleUploadedFile("root.pem", pem.encode())},
        format="multipart",
    )
    assert (as_text.status_code, as_file.status_code) == (409, 409)  # checked, sent, not connected
    sent = [command.request for command in Command.objects.order_by("id")]
    assert [request["certificateType"] for request in sent] == [
        "CentralSystemRootCertificate",
        "ManufacturerRootCertificate",
    ]
    assert all(request["certificate"] == pem for request in sent)


@pytest.mark.parametrize(
    "certificate, error",
    [
        ("not a certificate", "not a PEM certificate"),
        (cert_pem(make_ca("Leaf", ca=False)[0]), "not a CA certificate"),
        (cert_pem(make_ca("A")[0]) + cert_pem(make_ca("B")[0]), "expected one certificate, found 2"),
        (key_pem(make_ca("K")[1]) + cert_pem(make_ca("K")[0]), "holds a private key"),
    ],
    ids=["garbage", "not-a-ca", "two", "with-key"],
)
def test_install_refuses_what_is_not_one_root_certificate(client, certificate, error):
    create_charger("CP1")
    response = client.post(
        "/ocpp/chargers/CP1/certificates/install/",
        {"certificate_type": "CentralSystemRootCertificate", "certificate": certificate},
        format="json",
    )
    assert response.status_code == 400
    assert error in response.json()["detail"]
    command = Command.objects.get()
    assert command.status == "invalid" and "PRIVATE KEY" not in str(command.request)


def test_install_refuses_another_certificate_type(client):
    create_charger("CP1")
    pem = cert_pem(make_ca("Root")[0])
    response = client.post(
        "/ocpp/chargers/CP1/certificates/install/",
        {"certificate_type": "ChargePointCertificate", "certificate": pem},
        format="json",
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("certificate_type: ")
