"""The certificates admin: the list, the generated-CA warning, revoke."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import IssuedCertificate
from ocpp_app.services import certificates
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca, make_csr

pytestmark = pytest.mark.django_db
LIST = "/admin/ocpp_app/issuedcertificate/"
WARNING = "production should bring its own CA: set OCPP_CA_CERTFILE/OCPP_CA_KEYFILE"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_CA_CERTFILE = settings.OCPP_CA_KEYFILE = settings.OCPP_CPO_NAME = ""


def issue(charger_id: str = "CP1") -> IssuedCertificate:
    request = certificates.csr_receive(charger_id=charger_id, csr=make_csr(charger_id))
    return certificates.csr_sign(csr_id=request.pk)


def test_the_list_shows_issued_certificates_and_warns_about_a_generated_ca(superuser_client):
    issued = issue()
    IssuedCertificate.objects.filter(pk=issued.pk).update(not_after=timezone.now() + timedelta(days=2))
    page = superuser_client.get(LIST).content.decode()
    assert issued.serial in page and "CN=CP1" in page
    assert WARNING in page
    assert 'alt="True"' in page  # expires soon
    assert "PRIVATE" not in page


def test_no_warning_with_the_operators_own_ca(superuser_client, settings, tmp_path):
    cert, key = make_ca("Operator CA")
    (tmp_path / "op.crt").write_text(cert_pem(cert))
    (tmp_path / "op.key").write_text(key_pem(key))
    settings.OCPP_CA_CERTFILE, settings.OCPP_CA_KEYFILE = str(tmp_path / "op.crt"), str(tmp_path / "op.key")
    assert WARNING not in superuser_client.get(LIST).content.decode()


def test_the_revoke_action_revokes_the_selected(superuser_client):
    first, second = issue("CP1"), issue("CP2")
    response = superuser_client.post(LIST, {"action": "revoke", "_selected_action": [first.pk]}, follow=True)
    assert "1 certificate(s) revoked." in response.content.decode()
    assert dict(IssuedCertificate.objects.values_list("pk", "status")) == {first.pk: "revoked", second.pk: "issued"}


def test_certificates_are_not_added_by_hand(superuser_client):
    assert superuser_client.get(LIST + "add/").status_code == 403


def test_certificates_are_never_deleted_only_revoked(superuser_client):
    issued = issue()
    response = superuser_client.post(
        LIST, {"action": "delete_selected", "_selected_action": [issued.pk], "post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert IssuedCertificate.objects.filter(pk=issued.pk).exists()
    assert superuser_client.get(f"{LIST}{issued.pk}/delete/").status_code == 403
