"""The command services against the real database: action names, aliases,
pre-checks and the effects of answers (no charger needed)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import Charger, Command, CommandStatus, Reservation, ReservationStatus, Transaction
from ocpp_app.ocpp.commands import check_schema
from ocpp_app.services import commands as svc
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.services.commands import CallOutcome, PreparedCommand, reservations_expire
from ocpp_app.services.secrets import REDACTED, secret_verify

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("RemoteStartTransaction", "RemoteStartTransaction"),
        ("remote_start_transaction", "RemoteStartTransaction"),
        ("get_installed_certificate_ids", "GetInstalledCertificateIds"),
        ("reset", "Reset"),
        ("remote_stop", "RemoteStopTransaction"),
        ("unlock", "UnlockConnector"),
    ],
)
def test_it_resolves_action_names(given, expected):
    assert svc.action_name(given) == expected


@pytest.mark.parametrize("bad", ["BootNotification", "Heartbeat", "", "rm -rf", "StartTransaction"])
def test_it_refuses_what_a_central_system_does_not_send(bad):
    with pytest.raises(svc.UnknownAction):
        svc.action_name(bad)


def test_remote_stop_picks_the_active_transaction_of_the_connector():
    charger = Charger.objects.create(charger_id="S1")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    one = Transaction.objects.create(charger=charger, connector_id=1, id_tag="A", meter_start=0, start_time=t0)
    two = Transaction.objects.create(charger=charger, connector_id=2, id_tag="B", meter_start=0, start_time=t0)
    assert svc.command_resolve(charger=charger, action="remote_stop", payload={"connectorId": 1}) == (
        "RemoteStopTransaction",
        {"transactionId": one.pk},
    )
    assert svc.command_resolve(charger=charger, action="remote_stop", payload={"connectorId": 2})[1] == {
        "transactionId": two.pk
    }
    with pytest.raises(svc.BadCommand):
        svc.command_resolve(charger=charger, action="remote_stop", payload={"connectorId": 3})
    with pytest.raises(svc.BadCommand):
        svc.command_resolve(charger=charger, action="remote_stop", payload={"connectorId": "x"})


def test_a_full_name_is_sent_as_given():
    charger = Charger.objects.create(charger_id="S2")
    assert svc.command_resolve(charger=charger, action="Reset", payload={}) == ("Reset", {})


def test_it_refuses_integers_beyond_32_bits():
    charger = Charger.objects.create(charger_id="S3")
    with pytest.raises(svc.BadCommand):
        svc.command_precheck(charger=charger, action="CancelReservation", payload={"reservationId": 2**31})
    svc.command_precheck(charger=charger, action="CancelReservation", payload={"reservationId": 2**31 - 1})


def _command(charger_id: str, action: str, request: dict) -> PreparedCommand:
    return svc.command_prepare(
        charger_id=charger_id, action=action, payload=request, schema=check_schema, source="test"
    )


def _answered(prepared: PreparedCommand, response: dict) -> None:
    svc.command_finish(prepared=prepared, outcome=CallOutcome(status=CommandStatus.OK, payload=response))


def test_a_rejected_authorization_key_keeps_the_password_and_an_accepted_one_replaces_it():
    Charger.objects.create(charger_id="S4")
    charger_set_password(charger_id="S4", password="the-old-password-1")
    request = {"key": "AuthorizationKey", "value": "the-new-password-2"}
    command = _command("S4", "ChangeConfiguration", request)
    assert Command.objects.get(pk=command.command_id).request["value"] == REDACTED
    _answered(command, {"status": "Rejected"})
    assert secret_verify(
        password="the-old-password-1", password_hash=Charger.objects.get(charger_id="S4").password_hash
    )
    _answered(_command("S4", "ChangeConfiguration", request), {"status": "Accepted"})
    charger = Charger.objects.get(charger_id="S4")
    assert secret_verify(password="the-new-password-2", password_hash=charger.password_hash)
    assert not secret_verify(password="the-old-password-1", password_hash=charger.password_hash)
    assert charger.config["configurationKey"]["AuthorizationKey"]["value"] == REDACTED


def test_a_timed_out_command_has_no_effect():
    Charger.objects.create(charger_id="S5")
    request = {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T", "reservationId": 5}
    command = _command("S5", "ReserveNow", request)
    svc.command_finish(prepared=command, outcome=CallOutcome(status=CommandStatus.TIMEOUT, duration_ms=3))
    finished = Command.objects.get(pk=command.command_id)
    assert finished.status == CommandStatus.TIMEOUT and finished.duration_ms == 3
    assert not Reservation.objects.exists()


def test_expired_reservations_are_marked_expired():
    charger = Charger.objects.create(charger_id="S6")
    now = datetime(2026, 5, 1, tzinfo=UTC)
    for rid, status, expiry in [
        (1, ReservationStatus.ACCEPTED, now - timedelta(minutes=1)),
        (2, ReservationStatus.ACCEPTED, now + timedelta(minutes=1)),
        (3, ReservationStatus.USED, now - timedelta(minutes=1)),
    ]:
        Reservation.objects.create(
            reservation_id=rid, charger=charger, connector_id=1, id_tag="T", expiry_date=expiry, status=status
        )
    assert reservations_expire(now=now) == 1
    statuses = dict(Reservation.objects.values_list("reservation_id", "status"))
    assert statuses == {1: "Expired", 2: "Accepted", 3: "Used"}


def test_it_refuses_a_negative_connector():
    charger = Charger.objects.create(charger_id="S7")
    with pytest.raises(svc.BadCommand):
        svc.command_precheck(charger=charger, action="UnlockConnector", payload={"connectorId": -1})


def test_an_impossible_expiry_date_does_not_break_the_record():
    Charger.objects.create(charger_id="S8")
    request = {"connectorId": 1, "expiryDate": "2030-13-45T00:00:00Z", "idTag": "T", "reservationId": 8}
    _answered(_command("S8", "ReserveNow", request), {"status": "Accepted"})
    assert Reservation.objects.get(reservation_id=8).status == ReservationStatus.ACCEPTED


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
