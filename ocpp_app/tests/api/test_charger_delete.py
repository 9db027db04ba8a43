"""DELETE /ocpp/chargers/<id>/: the schema cascades a charger's sessions and
readings with its row, so a charger with data goes only with ?data=remove;
a connected one only with ?force=true (its socket told to close); its
certificates revoked first, its message log kept."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from rest_framework.test import APIClient

from ocpp_app.models import (
    Charger,
    IssuedCertificate,
    MessageLog,
    MeterReading,
    RevokedCertificateSerial,
    Transaction,
)
from ocpp_app.tests.helpers import api_client_for, create_without_role, make_charger, make_session

pytestmark = pytest.mark.django_db
URL = "/ocpp/chargers/CP1/"


def issue_certificate(charger: Charger, serial: str = "0abc") -> IssuedCertificate:
    now = timezone.now()
    return IssuedCertificate.objects.create(
        charger=charger, serial=serial, subject="CN=CP1", not_before=now, not_after=now + timedelta(days=365), pem="-"
    )


def test_deleting_a_charger_is_for_staff_only():
    make_charger("CP1", connected=False)
    assert APIClient().delete(URL).status_code == 401
    assert api_client_for(create_without_role()).delete(URL).status_code == 403
    assert Charger.objects.filter(charger_id="CP1").exists()


def test_a_charger_without_sessions_is_deleted_its_certificates_revoked_its_log_kept(api_client):
    charger = make_charger("CP1", connected=False, statuses=("Available", "Faulted"))
    issue_certificate(charger)
    MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", payload={})
    response = api_client.delete(URL)
    assert response.status_code == 200
    assert response.json() == {
        "charger_id": "CP1",
        "certificates_revoked": 1,
        "was_connected": False,
        "deleted": {"connectors": 2, "issued_certificates": 1},
    }
    assert not Charger.objects.filter(charger_id="CP1").exists()
    assert RevokedCertificateSerial.objects.filter(serial="0abc").exists()
    assert MessageLog.objects.filter(charger_id="CP1").count() == 1
    assert api_client.delete(URL).status_code == 404


def test_sessions_and_readings_go_with_it_only_when_asked(api_client):
    charger = make_charger("CP1", connected=False)
    make_session(charger, readings=2)
    refused = api_client.delete(URL)
    assert refused.status_code == 409
    body = refused.json()
    assert (body["status"], body["transactions"], body["meter_readings"]) == ("has_data", 1, 4)
    assert "data=remove" in body["detail"]
    assert Transaction.objects.count() == 1 and MeterReading.objects.count() == 4
    done = api_client.delete(URL + "?data=remove")
    assert done.status_code == 200
    assert done.json()["deleted"] == {"connectors": 1, "transactions": 1, "meter_readings": 4}
    assert Transaction.objects.count() == 0 and MeterReading.objects.count() == 0


def test_a_connected_charger_is_refused_unless_forced_and_its_socket_is_told_to_close(
    api_client, django_capture_on_commit_callbacks
):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    make_charger("CP1", channel_name=channel)
    refused = api_client.delete(URL)
    assert refused.status_code == 409 and refused.json()["status"] == "connected"
    assert Charger.objects.filter(charger_id="CP1").exists()
    with django_capture_on_commit_callbacks(execute=True):
        forced = api_client.delete(URL + "?force=true")
    assert forced.status_code == 200 and forced.json()["was_connected"] is True
    assert not Charger.objects.filter(charger_id="CP1").exists()
    notice = async_to_sync(layer.receive)(channel)
    assert (notice["type"], notice["charger_id"]) == ("ocpp.replaced", "CP1")


@pytest.mark.parametrize(("query", "parameter"), [("?data=some", "data"), ("?force=please", "force")])
def test_a_bad_parameter_is_a_400_naming_it(api_client, query, parameter):
    make_charger("CP1", connected=False)
    response = api_client.delete(URL + query)
    assert response.status_code == 400 and list(response.json()) == [parameter]
    assert Charger.objects.filter(charger_id="CP1").exists()
