"""The record pages (reservations, commands, charging profiles, security
events, a transaction, a charger's status history): staff only, their
filters, a bad filter a 400 naming it, what a charger sent escaped, and
never a key."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

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
from ocpp_app.tests.helpers import create_without_role, make_charger, make_session

pytestmark = pytest.mark.django_db

SECRET = "0123456789abcdef-secret"
HOSTILE = "<script>alert(1)</script>"
PAGES = [
    ("ocpp:records", []),
    ("ocpp:reservations-view", []),
    ("ocpp:commands-view", []),
    ("ocpp:charging-profiles-view", []),
    ("ocpp:security-events-view", []),
    ("ocpp:status-history-view", ["CP1"]),
]


def table(page: str, table_id: str) -> str:
    return page[page.index(f'id="{table_id}"') :].split("</table>", 1)[0]


@pytest.mark.parametrize(("name", "args"), [*PAGES, ("ocpp:command-view", [1]), ("ocpp:transaction-view", [1])])
def test_record_pages_are_for_staff_only(client, name, args):
    make_charger("CP1")
    url = reverse(name, args=args)
    assert client.get(url)["Location"].startswith("/ocpp/login/?next=")
    client.force_login(create_without_role())
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_each_list_is_reached_from_the_records_entry_of_the_top_bar(staff_client, name, args):
    make_charger("CP1")
    page = staff_client.get(reverse(name, args=args)).content.decode()
    nav = page[page.index("<nav>") :].split("</nav>", 1)[0]
    assert f'href="{reverse("ocpp:records")}"' in nav
    index = staff_client.get(reverse("ocpp:records")).content.decode()
    assert f'href="{reverse(name, args=args)}' in index or name == "ocpp:status-history-view"


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("ocpp:reservations-view", "?status=Maybe", "status"),
        ("ocpp:commands-view", "?action=Explode", "action"),
        ("ocpp:charging-profiles-view", "?in_force=perhaps", "in_force"),
        ("ocpp:security-events-view", "?since=yesterday", "since"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_it(staff_client, name, query, parameter):
    make_charger("CP1")
    response = staff_client.get(reverse(name) + query)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'data-parameter="{parameter}"' in page and "Nothing shown: fix the filters above." in page


def test_the_reservations_page_filters_and_shows_the_status_now(staff_client):
    cp1, cp2 = make_charger("CP1"), make_charger("CP2")
    soon = timezone.now() + timedelta(hours=1)
    Reservation.objects.create(reservation_id=11, charger=cp1, connector_id=1, id_tag="TAG1", expiry_date=soon)
    Reservation.objects.create(
        reservation_id=12,
        charger=cp2,
        connector_id=1,
        id_tag="TAG2",
        expiry_date=timezone.now() - timedelta(minutes=1),
        status=ReservationStatus.ACCEPTED,
    )
    url = reverse("ocpp:reservations-view")
    rows = table(staff_client.get(url).content.decode(), "reservations")
    assert "<td>11</td>" in rows and "<td>12</td>" in rows and "<td>Expired</td>" in rows
    only = table(staff_client.get(url + "?charger=CP1").content.decode(), "reservations")
    assert "<td>11</td>" in only and "<td>12</td>" not in only
    expired = table(staff_client.get(url + "?status=Expired").content.decode(), "reservations")
    assert "<td>12</td>" in expired and "<td>11</td>" not in expired


def test_the_commands_page_shows_outcomes_redacted_and_links_to_each(staff_client, staff):
    charger = make_charger("CP1")
    change = Command.objects.create(
        charger=charger,
        action="ChangeConfiguration",
        request={"key": "AuthorizationKey", "value": SECRET},
        response={"status": "Accepted"},
        status=CommandStatus.OK,
        created_by=staff,
        source="api",
    )
    Command.objects.create(charger=charger, action="Reset", request={"type": "Soft"}, status=CommandStatus.TIMEOUT)
    page = staff_client.get(reverse("ocpp:commands-view")).content.decode()
    assert SECRET not in page and "********" in page
    assert f'href="{reverse("ocpp:command-view", args=[change.pk])}"' in page
    timeouts = table(staff_client.get(reverse("ocpp:commands-view") + "?status=timeout").content.decode(), "commands")
    assert "Reset" in timeouts and "ChangeConfiguration" not in timeouts
    detail = staff_client.get(reverse("ocpp:command-view", args=[change.pk])).content.decode()
    assert SECRET not in detail and staff.username in detail
    assert staff_client.get(reverse("ocpp:command-view", args=[change.pk + 5])).status_code == 404


def test_a_firmware_request_page_lists_what_the_charger_reported(staff_client):
    make_charger("CP1")
    update = Command.objects.create(
        charger_id=make_charger("CP2").pk,
        action="UpdateFirmware",
        request={"location": "https://example.com/fw.bin"},
        response={},
        status=CommandStatus.OK,
    )
    charger_event_record(charger_id="CP2", kind=ChargerEventKind.FIRMWARE, status="Installed", payload={})
    listed = table(
        staff_client.get(reverse("ocpp:commands-view") + "?action=updatefirmware").content.decode(), "commands"
    )
    assert "UpdateFirmware" in listed
    page = staff_client.get(reverse("ocpp:command-view", args=[update.pk])).content.decode()
    events = page[page.index('id="command-events"') :]
    assert "Installed" in events and "firmware" in events


def test_the_charging_profiles_page_filters_in_force(staff_client):
    charger = make_charger("CP1")
    for profile_id, cleared in ((21, None), (22, timezone.now())):
        ChargingProfileRecord.objects.create(
            charger=charger,
            connector_id=1,
            charging_profile_id=profile_id,
            purpose="TxProfile",
            status="Accepted",
            cleared_at=cleared,
        )
    url = reverse("ocpp:charging-profiles-view")
    in_force = table(staff_client.get(url + "?in_force=true").content.decode(), "charging-profiles")
    assert "<td>21</td>" in in_force and "<td>22</td>" not in in_force
    cleared = table(staff_client.get(url + "?in_force=false").content.decode(), "charging-profiles")
    assert "<td>22</td>" in cleared and "cleared" in cleared


def test_the_security_events_page_escapes_what_chargers_sent(staff_client):
    make_charger("CP<b>1")
    charger_event_record(
        charger_id="CP<b>1",
        kind=ChargerEventKind.SECURITY,
        status="TamperDetectionActivated",
        payload={"type": "TamperDetectionActivated", "techInfo": HOSTILE},
    )
    page = staff_client.get(reverse("ocpp:security-events-view")).content.decode()
    rows = table(page, "security-events")
    assert HOSTILE not in page and "&lt;script&gt;" in rows and "CP&lt;b&gt;1" in rows
    assert 'class="critical"' in rows
    assert "TamperDetectionActivated" not in table(
        staff_client.get(reverse("ocpp:security-events-view") + "?critical=false").content.decode(), "security-events"
    )


def test_the_status_history_page_is_linked_from_the_charger_page_and_filters(staff_client):
    charger = make_charger("CP1")
    for connector, status in ((1, "Charging"), (2, "Faulted")):
        StatusNotificationRecord.objects.create(
            charger=charger, connector_id=connector, status=status, error_code="NoError", info=HOSTILE
        )
    url = reverse("ocpp:status-history-view", args=["CP1"])
    assert f'href="{url}"' in staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    page = staff_client.get(url).content.decode()
    assert "Charging" in table(page, "status-history") and HOSTILE not in page
    faulted = table(staff_client.get(url + "?connector=2").content.decode(), "status-history")
    assert "Faulted" in faulted and "Charging" not in faulted
    assert staff_client.get(url + "?connector=x").status_code == 400
    assert staff_client.get(reverse("ocpp:status-history-view", args=["NOPE"])).status_code == 404


def test_the_transaction_page_shows_the_session_and_its_readings(staff_client):
    charger = make_charger("CP1")
    # An id tag is at most 20 characters (PostgreSQL holds the column to it).
    tag = "<b onclick=x>1</b>"
    tx = make_session(charger, readings=2, id_tag=tag, start=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    page = staff_client.get(reverse("ocpp:transaction-view", args=[tx.pk])).content.decode()
    readings = page[page.index('id="readings"') :]
    assert "<dd>4</dd>" in readings and "2026-03-01 12:02:00" in readings and "Power.Active.Import" in readings
    assert "1.000 kWh" in page and tag not in page
    assert f"{reverse('ocpp:api-meter-readings', args=['CP1'])}?transaction={tx.pk}" in page
    assert staff_client.get(reverse("ocpp:transaction-view", args=[tx.pk + 1])).status_code == 404


def test_the_records_page_opens_a_transaction_or_a_status_history_by_id(staff_client):
    tx = make_session(make_charger("CP1"))
    records = reverse("ocpp:records")
    assert staff_client.get(records + f"?transaction={tx.pk}")["Location"] == reverse(
        "ocpp:transaction-view", args=[tx.pk]
    )
    assert staff_client.get(records + "?charger=CP1")["Location"] == reverse("ocpp:status-history-view", args=["CP1"])
    assert staff_client.get(records + "?transaction=abc").status_code == 400
    missing = staff_client.get(records + "?charger=" + "%3Cb%3E")
    assert missing.status_code == 400 and "“&lt;b&gt;”" in missing.content.decode().split('id="filter-errors"')[1]
