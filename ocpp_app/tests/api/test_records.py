"""The read-only record resources: reservations, commands (redacted), charging
profiles, a charger's status history, security events across chargers and a
transaction with its meter-reading summary; their filters, the 400 that
names a bad one, and staff only."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ocpp_app.models import (
    ChargerEventKind,
    ChargingProfileRecord,
    Command,
    CommandStatus,
    Reservation,
    ReservationStatus,
    StatusNotificationRecord,
)
from ocpp_app.services.notifications import charger_event_record
from ocpp_app.tests.helpers import api_client_for, create_without_role, make_charger, make_session

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "0123456789abcdef-secret"
LISTS = [
    "/ocpp/reservations/",
    "/ocpp/commands/",
    "/ocpp/charging-profiles/",
    "/ocpp/security-events/",
    "/ocpp/chargers/CP1/status-history/",
]


def results(api_client, url: str) -> list[dict]:
    response = api_client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def reserve(charger, reservation_id: int, status=ReservationStatus.ACCEPTED, *, expires_in=timedelta(hours=1), **kw):
    return Reservation.objects.create(
        reservation_id=reservation_id,
        charger=charger,
        connector_id=1,
        id_tag=kw.pop("id_tag", "TAG1"),
        expiry_date=timezone.now() + expires_in,
        status=status,
        **kw,
    )


@pytest.mark.parametrize("url", [*LISTS, "/ocpp/transactions/1/", "/ocpp/commands/1/", "/ocpp/reservations/1/"])
def test_every_record_resource_is_for_staff_only(url):
    make_charger("CP1")
    assert APIClient().get(url).status_code == 401
    assert api_client_for(create_without_role()).get(url).status_code == 403


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/ocpp/reservations/?status=Maybe", "status"),
        ("/ocpp/reservations/?since=yesterday", "since"),
        ("/ocpp/commands/?action=Explode", "action"),
        ("/ocpp/commands/?status=fine", "status"),
        ("/ocpp/commands/?until=2026-13-01", "until"),
        ("/ocpp/charging-profiles/?in_force=maybe", "in_force"),
        ("/ocpp/charging-profiles/?connector=-1", "connector"),
        ("/ocpp/charging-profiles/?purpose=Everything", "purpose"),
        ("/ocpp/security-events/?critical=2", "critical"),
        ("/ocpp/security-events/?charger=CP%00", "charger"),
        ("/ocpp/chargers/CP1/status-history/?connector=one", "connector"),
        ("/ocpp/chargers/CP1/status-history/?status=Sleeping", "status"),
        ("/ocpp/chargers/CP1/status-history/?since=9999-12-31T23:59-01:00", "since"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_parameter(api_client, url, parameter):
    make_charger("CP1")
    response = api_client.get(url)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [parameter] and isinstance(body[parameter][0], str)


def test_reservations_show_their_status_now_and_filter_by_it(api_client):
    cp1, cp2 = make_charger("CP1"), make_charger("CP2")
    held = reserve(cp1, 1)
    lapsed = reserve(cp1, 2, expires_in=-timedelta(minutes=1))  # not yet marked Expired
    reserve(cp2, 3, ReservationStatus.CANCELLED, id_tag="TAG2")
    every = results(api_client, "/ocpp/reservations/")
    assert [(r["reservation_id"], r["charger_id"], r["status"]) for r in every] == [
        (3, "CP2", "Cancelled"),
        (2, "CP1", "Expired"),
        (1, "CP1", "Accepted"),
    ]
    assert set(every[0]) == {
        "id",
        "reservation_id",
        "charger_id",
        "connector_id",
        "id_tag",
        "parent_id_tag",
        "expiry_date",
        "status",
        "transaction_id",
        "created_at",
    }
    assert [r["reservation_id"] for r in results(api_client, "/ocpp/reservations/?status=expired")] == [2]
    assert [r["reservation_id"] for r in results(api_client, "/ocpp/reservations/?charger=CP1")] == [2, 1]
    assert [r["reservation_id"] for r in results(api_client, "/ocpp/reservations/?id_tag=TAG2")] == [3]
    Reservation.objects.filter(pk=held.pk).update(created_at=T0)
    assert [r["reservation_id"] for r in results(api_client, "/ocpp/reservations/?until=2026-03-02")] == [1]
    assert results(api_client, "/ocpp/reservations/?since=2026-03-01T12:00:01Z&charger=CP1") == [
        api_client.get(f"/ocpp/reservations/{lapsed.pk}/").json()
    ]
    assert Reservation.objects.get(pk=lapsed.pk).status == ReservationStatus.ACCEPTED  # a read never writes


def test_a_reservation_by_its_row_id_and_404s(api_client):
    reservation = reserve(make_charger("CP1"), 77)
    assert api_client.get(f"/ocpp/reservations/{reservation.pk}/").json()["reservation_id"] == 77
    assert api_client.get(f"/ocpp/reservations/{reservation.pk + 1}/").status_code == 404
    assert api_client.get("/ocpp/reservations/99999999999999999999/").status_code == 404


def test_commands_come_with_their_outcome_and_never_show_a_key(api_client, staff):
    charger = make_charger("CP1")
    # Rows written before redaction was the rule still never show the key.
    change = Command.objects.create(
        charger=charger,
        action="ChangeConfiguration",
        request={"key": "AuthorizationKey", "value": SECRET},
        response={"status": "Accepted"},
        status=CommandStatus.OK,
        created_by=staff,
        source="api",
        duration_ms=12,
    )
    Command.objects.create(
        charger=charger,
        action="GetConfiguration",
        request={},
        response={"configurationKey": [{"key": "AuthorizationKey", "value": SECRET, "readonly": False}]},
        status=CommandStatus.OK,
        source="admin",
    )
    Command.objects.create(
        charger=charger, action="Reset", request={"type": "Soft"}, status=CommandStatus.TIMEOUT, source="api"
    )
    response = api_client.get("/ocpp/commands/")
    assert SECRET not in response.content.decode()
    every = response.json()["results"]
    assert [(c["action"], c["status"]) for c in every] == [
        ("Reset", "timeout"),
        ("GetConfiguration", "ok"),
        ("ChangeConfiguration", "ok"),
    ]
    assert every[2]["request"] == {"key": "AuthorizationKey", "value": "********"}
    assert every[2]["created_by"] == staff.username and every[1]["created_by"] is None
    assert (every[2]["charger_id"], every[2]["duration_ms"], every[2]["event_count"]) == ("CP1", 12, 0)
    detail = api_client.get(f"/ocpp/commands/{change.pk}/")
    assert SECRET not in detail.content.decode() and detail.json()["events"] == []
    assert [c["action"] for c in results(api_client, "/ocpp/commands/?action=reset")] == ["Reset"]
    assert [c["action"] for c in results(api_client, "/ocpp/commands/?status=ok&source=admin")] == ["GetConfiguration"]
    assert results(api_client, "/ocpp/commands/?charger=CP2") == []
    assert api_client.get("/ocpp/commands/0/").status_code == 404


def test_a_firmware_request_shows_the_status_notifications_it_led_to(api_client):
    make_charger("CP1")
    update = Command.objects.create(
        charger_id=make_charger("CP2").pk,
        action="UpdateFirmware",
        request={"location": "https://example.com/fw.bin", "retrieveDate": "2026-03-01T00:00:00Z"},
        response={},
        status=CommandStatus.OK,
    )
    for status in ("Downloading", "Downloaded", "Installed"):
        charger_event_record(
            charger_id="CP2", kind=ChargerEventKind.FIRMWARE, status=status, payload={"status": status}
        )
    listed = results(api_client, "/ocpp/commands/?action=UpdateFirmware")
    assert [(c["id"], c["event_count"]) for c in listed] == [(update.pk, 3)]
    events = api_client.get(f"/ocpp/commands/{update.pk}/").json()["events"]
    assert [(e["kind"], e["status"], e["command"]) for e in events] == [
        ("firmware", "Downloading", update.pk),
        ("firmware", "Downloaded", update.pk),
        ("firmware", "Installed", update.pk),
    ]


def test_charging_profiles_in_force_or_cleared(api_client):
    charger = make_charger("CP1")

    def profile(profile_id: int, purpose: str, *, cleared: bool, connector: int = 1):
        return ChargingProfileRecord.objects.create(
            charger=charger,
            connector_id=connector,
            charging_profile_id=profile_id,
            purpose=purpose,
            kind="Absolute",
            profile={"chargingProfileId": profile_id},
            status="Accepted",
            cleared_at=T0 if cleared else None,
        )

    profile(1, "TxDefaultProfile", cleared=True)
    profile(2, "TxDefaultProfile", cleared=False, connector=0)
    profile(3, "TxProfile", cleared=False)
    every = results(api_client, "/ocpp/charging-profiles/")
    assert [(p["charging_profile_id"], p["in_force"]) for p in every] == [(3, True), (2, True), (1, False)]
    assert every[2]["cleared_at"] == "2026-03-01T12:00:00Z" and every[0]["profile"] == {"chargingProfileId": 3}
    in_force = results(api_client, "/ocpp/charging-profiles/?in_force=true")
    assert [p["charging_profile_id"] for p in in_force] == [3, 2]
    assert [p["charging_profile_id"] for p in results(api_client, "/ocpp/charging-profiles/?in_force=0")] == [1]
    by_purpose = results(api_client, "/ocpp/charging-profiles/?purpose=txdefaultprofile&connector=0")
    assert [p["charging_profile_id"] for p in by_purpose] == [2]


def test_a_chargers_status_history_newest_first_with_its_filters(api_client):
    charger = make_charger("CP1")
    for minute, (connector, status) in enumerate([(1, "Available"), (1, "Charging"), (2, "Faulted")]):
        record = StatusNotificationRecord.objects.create(
            charger=charger, connector_id=connector, status=status, error_code="NoError", vendor_error_code="E7"
        )
        StatusNotificationRecord.objects.filter(pk=record.pk).update(received_at=T0 + timedelta(minutes=minute))
    every = results(api_client, "/ocpp/chargers/CP1/status-history/")
    assert [(r["connector_id"], r["status"]) for r in every] == [(2, "Faulted"), (1, "Charging"), (1, "Available")]
    assert every[0]["vendor_error_code"] == "E7" and "received_at" in every[0]
    assert [r["status"] for r in results(api_client, "/ocpp/chargers/CP1/status-history/?connector=1")] == [
        "Charging",
        "Available",
    ]
    assert [r["status"] for r in results(api_client, "/ocpp/chargers/CP1/status-history/?status=faulted")] == [
        "Faulted"
    ]
    window = "?since=2026-03-01T12:01:00Z&until=2026-03-01T12:02:00Z"
    assert [r["status"] for r in results(api_client, "/ocpp/chargers/CP1/status-history/" + window)] == ["Charging"]
    assert api_client.get("/ocpp/chargers/NOPE/status-history/").status_code == 404


def test_security_events_of_every_charger_with_the_critical_flag(api_client):
    make_charger("CP1")
    make_charger("CP2")
    for charger_id, event_type in [("CP1", "TamperDetectionActivated"), ("CP2", "InvalidTLSVersion")]:
        charger_event_record(
            charger_id=charger_id, kind=ChargerEventKind.SECURITY, status=event_type, payload={"type": event_type}
        )
    charger_event_record(charger_id="CP1", kind=ChargerEventKind.FIRMWARE, status="Installed", payload={})
    every = results(api_client, "/ocpp/security-events/")
    assert [(e["charger_id"], e["status"], e["critical"]) for e in every] == [
        ("CP2", "InvalidTLSVersion", False),
        ("CP1", "TamperDetectionActivated", True),
    ]
    assert [e["charger_id"] for e in results(api_client, "/ocpp/security-events/?critical=1")] == ["CP1"]
    assert [e["charger_id"] for e in results(api_client, "/ocpp/security-events/?critical=false")] == ["CP2"]
    assert [e["status"] for e in results(api_client, "/ocpp/security-events/?charger=CP2")] == ["InvalidTLSVersion"]
    assert results(api_client, "/ocpp/security-events/?type=InvalidTLSVersion&charger=CP1") == []
    assert results(api_client, "/ocpp/security-events/?since=2999-01-01") == []


def test_a_transaction_with_its_meter_reading_summary(api_client):
    charger = make_charger("CP1")
    tx = make_session(charger, readings=3, start=T0)
    body = api_client.get(f"/ocpp/transactions/{tx.pk}/").json()
    assert body["transaction_id"] == tx.pk and body["charger_id"] == "CP1" and body["active"] is True
    assert body["energy_so_far_wh"] == 1500.0 and body["power_w"] == 7400.0
    assert body["meter_readings"] == {
        "count": 6,
        "first_timestamp": "2026-03-01T12:01:00Z",
        "last_timestamp": "2026-03-01T12:03:00Z",
        "measurands": ["Energy.Active.Import.Register", "Power.Active.Import"],
    }
    stopped = make_session(charger, connector_id=2, readings=0, stop=True, start=T0)
    body = api_client.get(f"/ocpp/transactions/{stopped.pk}/").json()
    assert body["active"] is False and body["meter_readings"]["count"] == 0 and body["power_w"] is None
    assert api_client.get(f"/ocpp/transactions/{stopped.pk + 1}/").status_code == 404
    assert api_client.get("/ocpp/transactions/4294967296/").status_code == 404


def test_a_list_costs_the_same_queries_for_one_row_or_many(api_client, staff):
    charger = make_charger("CP1")

    def add_rows(start: int, count: int) -> None:
        for n in range(start, start + count):
            reserve(charger, n)
            Command.objects.create(charger=charger, action="Reset", request={}, created_by=staff)
            ChargingProfileRecord.objects.create(
                charger=charger, connector_id=1, charging_profile_id=n, purpose="TxProfile"
            )
            charger_event_record(charger_id="CP1", kind=ChargerEventKind.SECURITY, status="ResetOrReboot", payload={})

    def queries() -> list[int]:
        counts = []
        for url in ["/ocpp/reservations/", "/ocpp/commands/", "/ocpp/charging-profiles/", "/ocpp/security-events/"]:
            with CaptureQueriesContext(connection) as captured:
                assert api_client.get(url).status_code == 200
            counts.append(len(captured))
        return counts

    add_rows(1, 1)
    one = queries()
    add_rows(2, 5)
    assert queries() == one
