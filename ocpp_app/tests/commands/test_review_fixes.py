"""Regressions found in review: secrets in command records, case-insensitive
AuthorizationKey, reservation ids across chargers, the configuration table,
NUL in page URLs, and out-of-range filter dates."""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone

from ocpp_app import selectors
from ocpp_app.models import Charger, Command, CommandStatus, Reservation, ReservationStatus
from ocpp_app.ocpp import commands
from ocpp_app.services import commands as svc
from ocpp_app.services.chargers import charger_set_password

pytestmark = pytest.mark.django_db

SECRET = "SuperSecretKey123456"


def connected_charger(charger_id: str) -> Charger:
    return Charger.objects.create(charger_id=charger_id, connected=True, channel_name="chan-" + charger_id)


def answer_with(monkeypatch, outcome: commands.CallOutcome) -> None:
    async def fake_call_charger(channel_name, action, payload, *, timeout):
        return outcome

    monkeypatch.setattr(commands, "call_charger", fake_call_charger)


def test_an_authorization_key_a_charger_reports_is_kept_out_of_the_command_and_the_answer(monkeypatch):
    connected_charger("R1")
    keys = [
        {"key": "AuthorizationKey", "readonly": False, "value": SECRET},
        {"key": "HeartbeatInterval", "value": "60"},
    ]
    answer_with(monkeypatch, commands.CallOutcome(status=CommandStatus.OK, payload={"configurationKey": keys}))
    result = commands.send_command(charger_id="R1", action="GetConfiguration", payload={})
    stored = Command.objects.get(pk=result.command_id)
    assert SECRET not in str(result.response) and SECRET not in str(stored.response)
    assert SECRET not in str(Charger.objects.get(charger_id="R1").config)
    assert {"key": "HeartbeatInterval", "value": "60"} in result.response["configurationKey"]


def test_an_invalid_answer_carrying_the_key_is_redacted_too(monkeypatch):
    connected_charger("R2")
    details = {"response": {"configurationKey": [{"key": "authorizationkey", "value": SECRET, "bogus": 1}]}}
    answer_with(
        monkeypatch,
        commands.CallOutcome(status="invalid_response", error_code="InvalidResponse", error_details=details),
    )
    result = commands.send_command(charger_id="R2", action="GetConfiguration", payload={})
    assert SECRET not in str(result.error_details)
    assert SECRET not in Command.objects.get(pk=result.command_id).error_description


@pytest.mark.parametrize("spelling", ["authorizationkey", "AUTHORIZATIONKEY", "AuthorizationKey"])
def test_any_spelling_of_authorization_key_is_checked_redacted_and_rotates_the_password(spelling):
    charger = Charger.objects.create(charger_id="R3")
    charger_set_password(charger_id="R3", password="the-old-password-1")
    with pytest.raises(svc.BadCommand):
        svc.command_precheck(charger=charger, action="ChangeConfiguration", payload={"key": spelling, "value": "short"})
    request = {"key": spelling, "value": "the-new-password-2"}
    assert svc.redact("ChangeConfiguration", request)["value"] == svc.REDACTED
    command = svc.command_create(charger_id="R3", action="ChangeConfiguration", request=request)
    svc.command_finish(
        command_id=command.pk, status=CommandStatus.OK, response={"status": "Accepted"}, wire_request=request
    )
    charger.refresh_from_db()
    assert check_password("the-new-password-2", charger.password_hash)
    assert "the-new-password-2" not in str(charger.config)


def test_a_reservation_id_held_by_one_charger_cannot_be_taken_by_another():
    a, b = Charger.objects.create(charger_id="RA"), Charger.objects.create(charger_id="RB")
    Reservation.objects.create(
        reservation_id=1,
        charger=a,
        connector_id=1,
        id_tag="T",
        expiry_date=timezone.now() + timedelta(hours=1),
        status=ReservationStatus.ACCEPTED,
    )
    payload = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T", "reservationId": 1}
    with pytest.raises(svc.BadCommand):
        svc.command_precheck(charger=b, action="ReserveNow", payload=payload)
    svc.command_precheck(charger=a, action="ReserveNow", payload=payload)  # its holder may renew it
    assert Reservation.objects.get(reservation_id=1).charger == a


def test_the_configuration_table_lists_the_keys_get_configuration_stored():
    config = {
        "configurationKey": {
            "HeartbeatInterval": {"value": "60", "readonly": False},
            "ChargePointModel": {"value": "X1", "readonly": True},
        },
        "unknownKey": [],
    }
    assert selectors.configuration_rows(config) == [
        {"key": "ChargePointModel", "value": "X1", "readonly": True},
        {"key": "HeartbeatInterval", "value": "60", "readonly": False},
    ]


@pytest.mark.parametrize("name", ["ocpp:landing", "ocpp:qr-png", "ocpp:log", "ocpp:charger-view"])
def test_a_nul_in_a_page_url_is_a_404_not_a_server_error(admin_client, name):
    url = reverse(name, args=["CP1"]).replace("CP1", "a%00b")
    assert admin_client.get(url).status_code == 404


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B05:00", "until=9999-12-31T23:59:59-05:00"])
def test_an_out_of_range_filter_date_is_ignored_not_a_server_error(admin_client, query):
    Charger.objects.create(charger_id="CP1")
    assert admin_client.get(reverse("ocpp:log", args=["CP1"]) + "?" + query).status_code == 200
    assert admin_client.get(reverse("ocpp:sessions") + "?" + query).status_code == 200


def test_an_api_edit_never_writes_back_stale_live_state():
    from ocpp_app.api.serializers import ChargerUpdateSerializer

    Charger.objects.create(charger_id="P1")
    stale = Charger.objects.get(charger_id="P1")
    # The charger connects while the operator's PATCH is being handled.
    Charger.objects.filter(charger_id="P1").update(connected=True, channel_name="chan-live", connection_id="c9")
    serializer = ChargerUpdateSerializer(stale, data={"require_rfid": True}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()
    charger = Charger.objects.get(charger_id="P1")
    assert (charger.require_rfid, charger.connected, charger.channel_name) == (True, True, "chan-live")
