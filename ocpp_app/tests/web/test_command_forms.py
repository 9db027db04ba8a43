"""The charger page's command forms: a form for every central-system command,
with the protocol's choices and what is stored (configuration keys, the RFID
table and the charger's local list, active reservations, profiles in force,
hosted firmware files, proposed ids), nothing of it for a viewer, and a fixed
number of queries whatever the size of the tables."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from ocpp_app import selectors
from ocpp_app.models import (
    RFID,
    Charger,
    ChargingProfileRecord,
    LocalListEntry,
    Reservation,
    ReservationStatus,
)
from ocpp_app.services.commands import CSMS_ACTIONS
from ocpp_app.tests.certs import cert_pem, key_pem, make_ca
from ocpp_app.tests.helpers import make_charger, make_session
from ocpp_app.web.command_forms import ID_TAG_ROWS, CommandForms

pytestmark = pytest.mark.django_db
HOSTILE = '<script>window.__x=1</script>"'
# The certificate card sends these (CertificateSigned answers a charger's CSR by itself).
CERTIFICATE_CARD = {"InstallCertificate", "DeleteCertificate", "GetInstalledCertificateIds", "CertificateSigned"}


def page_of(client, charger_id: str = "CP1") -> str:
    response = client.get(reverse("ocpp:charger-view", args=[charger_id]))
    assert response.status_code == 200
    return response.content.decode()


def form_of(html: str, action: str) -> str:
    return re.search(rf'<form class="cmd[^"]*" data-action="{action}".*?</form>', html, re.S).group(0)


def options_of(fragment: str, name: str) -> list[str]:
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', fragment, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", option) for option in re.findall(r"<option[^>]*>.*?</option>", select, re.S)]


def store_config(charger: Charger, keys: dict) -> None:
    charger.config = {
        "configurationKey": {key: {"value": value, "readonly": readonly} for key, (value, readonly) in keys.items()}
    }
    charger.save(update_fields=["config"])


def viewer_client() -> Client:
    user = get_user_model().objects.create_user("watcher", password="pw-watcher-123")
    user.user_permissions.add(Permission.objects.get(codename="view_network"))
    client = Client()
    client.force_login(user)
    return client


def test_every_central_system_command_has_a_form_or_the_certificate_card(superuser_client):
    make_charger("CP1")
    html = page_of(superuser_client)
    forms = set(re.findall(r'<form class="cmd[^"]*" data-action="(\w+)"', html))
    assert forms == set(CSMS_ACTIONS) - CERTIFICATE_CARD
    for button in ('id="certificate-renew"', 'id="certificate-refresh"', 'id="certificate-install"'):
        assert button in html
    # Grouped so the page stays readable: the everyday groups open, the rest folded.
    groups = re.findall(r'<details class="cmd-group"( open)?>\s*<summary>([^<]+)</summary>', html)
    assert [name for _, name in groups] == [
        "Sessions",
        "Availability and reset",
        "Configuration",
        "Trigger a message",
        "Local list and reservations",
        "Smart charging",
        "Firmware and diagnostics",
        "Vendor",
    ]
    assert [name for opened, name in groups if opened] == ["Sessions", "Availability and reset", "Configuration"]


def test_the_choices_are_the_protocols(superuser_client):
    make_charger("CP1", statuses=("Available", "Available"))
    html = page_of(superuser_client)
    trigger = options_of(form_of(html, "TriggerMessage"), "requestedMessage")
    assert sorted(trigger) == [
        "BootNotification",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    ]
    extended = options_of(form_of(html, "ExtendedTriggerMessage"), "requestedMessage")
    assert "SignChargePointCertificate" in extended and "LogStatusNotification" in extended
    assert "DiagnosticsStatusNotification" not in extended
    assert options_of(form_of(html, "TriggerMessage"), "connectorId") == ["any", "0 · the charger", "1", "2"]
    assert options_of(form_of(html, "Reset"), "type") == ["Soft", "Hard"]
    assert options_of(form_of(html, "ChangeAvailability"), "type") == ["Operative", "Inoperative"]
    assert options_of(form_of(html, "SendLocalList"), "updateType") == ["Full", "Differential"]
    profile = form_of(html, "SetChargingProfile")
    assert sorted(options_of(profile, "csChargingProfiles.chargingProfilePurpose")) == [
        "ChargePointMaxProfile",
        "TxDefaultProfile",
        "TxProfile",
    ]
    assert options_of(profile, "csChargingProfiles.chargingProfileKind") == ["Absolute", "Recurring", "Relative"]
    assert options_of(profile, "csChargingProfiles.recurrencyKind") == ["Daily", "Weekly"]
    assert options_of(profile, "csChargingProfiles.chargingSchedule.chargingRateUnit") == [
        "A (amperes per phase)",
        "W (watts)",
    ]
    for field in ("startPeriod", "limit", "numberPhases"):
        assert f'data-period="{field}"' in profile
    assert options_of(form_of(html, "GetLog"), "logType") == ["DiagnosticsLog", "SecurityLog"]
    assert options_of(form_of(html, "GetCompositeSchedule"), "chargingRateUnit") == ["the charger's", "A", "W"]


def test_configuration_forms_offer_the_stored_keys_and_only_writable_ones_to_change(superuser_client):
    charger = make_charger("CP1")
    store_config(
        charger,
        {
            "HeartbeatInterval": ("60", False),
            "ChargePointModel": ("X1", True),
            "AuthorizationKey": ("********", False),
            f"Vendor{HOSTILE}": (HOSTILE, None),
        },
    )
    html = page_of(superuser_client)
    get = form_of(html, "GetConfiguration")
    assert options_of(get, "key") == sorted(
        [
            "HeartbeatInterval",
            "ChargePointModel",
            "AuthorizationKey",
            escape("Vendor" + HOSTILE),
        ]
    )
    writable = re.search(r'<datalist id="cmd-writable-keys">(.*?)</datalist>', html, re.S).group(1)
    assert 'value="HeartbeatInterval" data-value="60"' in writable
    assert 'value="AuthorizationKey" data-value=""' in writable  # stored redacted: never offered back
    assert "ChargePointModel" not in writable  # read-only
    assert "Vendor&lt;script&gt;" in writable  # read-only not known: offered
    assert "<script>" not in html.split('id="commands"')[1].split("</section>")[0]


def test_the_local_list_form_lists_the_rfid_table_and_what_the_charger_holds(superuser_client):
    charger = make_charger("CP1", local_list_version=4)
    expiry = timezone.now().replace(microsecond=0) + timedelta(days=30)
    RFID.objects.create(id_tag="CARD-A", label="Fleet 7", expiry_date=expiry)
    RFID.objects.create(id_tag="CARD-B", status="Blocked", parent_id_tag="CARD-A")
    LocalListEntry.objects.create(charger=charger, id_tag="CARD-B", status="Blocked")
    LocalListEntry.objects.create(charger=charger, id_tag="GONE-TAG", status="Accepted")
    LocalListEntry.objects.create(charger=make_charger("OTHER"), id_tag="CARD-A", status="Accepted")
    form = form_of(page_of(superuser_client), "SendLocalList")
    assert 'name="listVersion" type="number" min="1" value="5"' in form
    assert "<b>version 4</b> · 2 tags on it" in form
    rows = {tag: row for tag, row in re.findall(r'<tr data-id-tag="([^"]+)"(.*?)</tr>', form, re.S)}
    assert list(rows) == ["CARD-A", "CARD-B", "GONE-TAG"]
    expiry_text = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'data-status="Accepted" data-expiry="{expiry_text}"' in rows["CARD-A"] and "Fleet 7" in rows["CARD-A"]
    assert 'class="send-tag" aria-label="send CARD-A">' in rows["CARD-A"]  # not on this charger's list
    assert 'data-parent="CARD-A"' in rows["CARD-B"] and 'aria-label="send CARD-B" checked' in rows["CARD-B"]
    assert 'aria-label="remove CARD-A" disabled' in rows["CARD-A"]
    assert "not in the RFID table" in rows["GONE-TAG"] and 'aria-label="send GONE-TAG" disabled' in rows["GONE-TAG"]


def test_a_charger_that_never_reported_a_list_version_is_proposed_version_1(superuser_client):
    make_charger("CP1")
    form = form_of(page_of(superuser_client), "SendLocalList")
    assert 'name="listVersion" type="number" min="1" value="1"' in form and "version not known" in form
    assert "No RFID card stored yet" in form


def test_reservations_held_are_offered_for_cancelling_and_the_next_id_is_unique_on_the_network(superuser_client):
    charger = make_charger("CP1")
    later = timezone.now() + timedelta(hours=2)
    Reservation.objects.create(
        reservation_id=7,
        charger=charger,
        connector_id=1,
        id_tag="TAG7",
        expiry_date=later,
        status=ReservationStatus.ACCEPTED,
    )
    Reservation.objects.create(
        reservation_id=8,
        charger=charger,
        connector_id=1,
        id_tag="OLD",
        expiry_date=timezone.now() - timedelta(minutes=1),
        status=ReservationStatus.ACCEPTED,
    )
    Reservation.objects.create(
        reservation_id=9,
        charger=charger,
        connector_id=1,
        id_tag="GONE",
        expiry_date=later,
        status=ReservationStatus.CANCELLED,
    )
    Reservation.objects.create(
        reservation_id=41,
        charger=make_charger("OTHER"),
        connector_id=1,
        id_tag="ELSEWHERE",
        expiry_date=later,
        status=ReservationStatus.ACCEPTED,
    )
    html = page_of(superuser_client)
    choices = options_of(form_of(html, "CancelReservation"), "reservationId")
    assert len(choices) == 1 and choices[0].startswith("7 · connector 1 · TAG7 · until ")
    assert 'name="reservationId" type="number" min="1" value="42"' in form_of(html, "ReserveNow")
    held = re.search(r'<div class="cmd wide" id="cmd-reservations">.*?</div>\s*</div>', html, re.S).group(0)
    assert 'data-reservation="7"' in held and "OLD" not in held and "ELSEWHERE" not in held


def test_profiles_in_force_are_offered_for_clearing_and_the_proposed_id_avoids_the_load_managers(
    superuser_client, settings
):
    charger = make_charger("CP1")
    for profile_id, cleared in ((3, None), (4, timezone.now()), (settings.OCPP_LOAD_PROFILE_ID + 1, None)):
        ChargingProfileRecord.objects.create(
            charger=charger,
            connector_id=1,
            charging_profile_id=profile_id,
            purpose="TxDefaultProfile",
            status="Accepted",
            cleared_at=cleared,
        )
    html = page_of(superuser_client)
    choices = options_of(form_of(html, "ClearChargingProfile"), "id")
    assert [choice.split(" · ")[0] for choice in choices] == ["any", "3", str(settings.OCPP_LOAD_PROFILE_ID + 1)]
    assert 'name="csChargingProfiles.chargingProfileId" type="number" min="1" value="4"' in form_of(
        html, "SetChargingProfile"
    )


def signing_settings(settings, tmp_path) -> None:
    certificate, key = make_ca("Firmware Signer", ca=False)
    (tmp_path / "fw.crt").write_text(cert_pem(certificate))
    (tmp_path / "fw.key").write_text(key_pem(key))
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_FIRMWARE_SIGNING_CERTFILE = str(tmp_path / "fw.crt")
    settings.OCPP_FIRMWARE_SIGNING_KEYFILE = str(tmp_path / "fw.key")


def test_the_firmware_forms_offer_the_files_the_server_hosts(superuser_client, settings, tmp_path):
    signing_settings(settings, tmp_path)
    make_charger("CP1", connected=False)
    # Uploaded for a signed update (the charger is offline: the file is kept, the command is a 409).
    upload = superuser_client.post(
        reverse("ocpp:api-signed-firmware", args=["CP1"]),
        {"file": _upload(b"image v2")},
        HTTP_ACCEPT="application/json",
    )
    assert upload.status_code == 409
    (tmp_path / "data" / "firmware" / "stray.bin").write_bytes(b"not a name the server made")
    html = page_of(superuser_client)
    offered = re.findall(r'<option value="(http://testserver/ocpp/firmware/[A-Za-z0-9_-]{43}\.bin)">', html)
    assert len(offered) == 1
    name = offered[0].rsplit("/", 1)[1]
    assert superuser_client.get(f"/ocpp/firmware/{name}").getvalue() == b"image v2"
    signed = form_of(html, "SignedUpdateFirmware")
    assert f'<option value="{name}">' in signed and 'data-upload-url="/ocpp/chargers/CP1/signed-firmware/"' in signed
    assert "stray.bin" not in html


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("fw.bin", content, content_type="application/octet-stream")


def test_a_viewer_reads_the_page_without_any_command_form_or_hosted_file(settings, tmp_path):
    signing_settings(settings, tmp_path)
    charger = make_charger("CP1")
    RFID.objects.create(id_tag="SECRETIVE-CARD")
    Reservation.objects.create(
        reservation_id=5,
        charger=charger,
        connector_id=1,
        id_tag="HELD-TAG",
        expiry_date=timezone.now() + timedelta(hours=1),
        status="Accepted",
    )
    html = page_of(viewer_client())
    commands = html[html.index('id="commands"') : html.index("</section>", html.index('id="commands"'))]
    assert "Read-only: commands need the operator role." in commands
    assert "<form" not in commands and "SECRETIVE-CARD" not in html and "HELD-TAG" not in html
    certificates = html[html.index('id="certificates"') : html.index("</section>", html.index('id="certificates"'))]
    assert "Read-only: commands need the operator role." in certificates
    for control in (
        "certificate-renew",
        "certificate-refresh",
        "certificate-install",
        "cert-delete",
        "data-can-operate",
    ):
        assert control not in certificates
    assert "/ocpp/firmware/" not in html


def forms_of(charger_id: str = "CP1") -> CommandForms:
    charger = selectors.decorate_charger(
        selectors.chargers_with_details(Charger.objects.filter(charger_id=charger_id)).get()
    )
    return CommandForms(RequestFactory().get("/"), charger)


def every_part(forms: CommandForms) -> None:
    for name in (
        "stored_keys",
        "writable_keys",
        "list_lengths",
        "id_tag_rows",
        "next_list_version",
        "reservations",
        "next_reservation_id",
        "profiles",
        "next_profile_id",
        "firmware_files",
        "id_tags",
    ):
        getattr(forms, name)


def queries_for_all_parts() -> int:
    forms = forms_of()
    with CaptureQueriesContext(connection) as queries:
        every_part(forms)
    return len(queries)


def test_the_forms_cost_a_fixed_number_of_queries_whatever_the_tables_hold(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    charger = make_charger("CP1")
    make_session(charger)
    small = queries_for_all_parts()
    later = timezone.now() + timedelta(hours=1)
    RFID.objects.bulk_create(RFID(id_tag=f"T{n:05d}") for n in range(ID_TAG_ROWS + 20))
    LocalListEntry.objects.bulk_create(LocalListEntry(charger=charger, id_tag=f"L{n:05d}") for n in range(30))
    Reservation.objects.bulk_create(
        Reservation(reservation_id=n, charger=charger, connector_id=1, id_tag="T", expiry_date=later, status="Accepted")
        for n in range(1, 30)
    )
    ChargingProfileRecord.objects.bulk_create(
        ChargingProfileRecord(charger=charger, connector_id=1, charging_profile_id=n, purpose="TxProfile")
        for n in range(1, 30)
    )
    assert queries_for_all_parts() == small <= 6
    forms = forms_of()
    assert len(forms.id_tags) == ID_TAG_ROWS and forms.rfids_truncated
    assert forms.next_reservation_id == 30 and forms.next_profile_id == 30


def test_the_proposed_times_are_utc_whatever_the_servers_time_zone(superuser_client, settings):
    settings.TIME_ZONE = "America/Chicago"
    make_charger("CP1")
    before = datetime.now(UTC)
    html = page_of(superuser_client)
    after = datetime.now(UTC)
    expiry = re.search(r'name="expiryDate" type="datetime-local" value="([^"]+)"', form_of(html, "ReserveNow")).group(1)
    allowed = {(moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M") for moment in (before, after)}
    assert expiry in allowed
    retrieve = re.search(r'name="retrieveDate" type="datetime-local" value="([^"]+)"', form_of(html, "UpdateFirmware"))
    assert retrieve.group(1) in {moment.strftime("%Y-%m-%dT%H:%M") for moment in (before, after)}
