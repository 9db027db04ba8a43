"""DataTransfer, firmware/diagnostics/log/security notifications, CSRs."""

from datetime import UTC, datetime

import pytest

from ocpp_app.models import Charger, ChargerEvent, Command, DataTransferRecord
from ocpp_app.services import notifications

pytestmark = pytest.mark.django_db


def record(kind: str, status: str, **kw) -> ChargerEvent:
    return notifications.charger_event_record(
        charger_id="CP1", kind=kind, status=status, payload={"status": status}, **kw
    )


def test_it_stores_a_data_transfer():
    notifications.data_transfer_receive(charger_id="CP1", vendor_id="ACME", message_id="m", data="payload")
    row = DataTransferRecord.objects.get()
    assert (row.charger.charger_id, row.direction, row.vendor_id, row.message_id, row.data) == (
        "CP1",
        "in",
        "ACME",
        "m",
        "payload",
    )


# OCPP_DATA_TRANSFER_VENDORS: an entry "vendor" accepts any messageId of that
# vendor, "vendor:messageId" only that message; anything else is unknown.
@pytest.mark.parametrize(
    "vendors, vendor_id, message_id, status",
    [
        ([], "acme", "x", "UnknownVendorId"),
        (["acme"], "acme", "anything", "Accepted"),
        (["acme"], "acme", None, "Accepted"),
        (["acme:price"], "acme", "price", "Accepted"),
        (["acme:price"], "acme", "other", "UnknownMessageId"),
        (["acme:price"], "acme", None, "UnknownMessageId"),
        (["acme:price", "acme:tariff"], "acme", "tariff", "Accepted"),
        (["other"], "acme", "price", "UnknownVendorId"),
    ],
)
def test_it_answers_data_transfer_by_vendor_and_message_id(settings, vendors, vendor_id, message_id, status):
    settings.OCPP_DATA_TRANSFER_VENDORS = vendors
    result = notifications.data_transfer_receive(
        charger_id="DT1", vendor_id=vendor_id, message_id=message_id, data="{}"
    )
    assert result.status == status


def test_it_answers_an_unknown_vendor_with_unknown_vendor_id(settings):
    settings.OCPP_DATA_TRANSFER_VENDORS = ["Known"]
    result = notifications.data_transfer_receive(charger_id="CP1", vendor_id="ACME")
    assert result.status == "UnknownVendorId"


def test_it_accepts_a_configured_vendor(settings):
    settings.OCPP_DATA_TRANSFER_VENDORS = ["ACME"]
    assert notifications.data_transfer_receive(charger_id="CP1", vendor_id="ACME").status == "Accepted"


def test_it_stores_the_answer_of_a_data_transfer():
    notifications.data_transfer_receive(charger_id="CP1", vendor_id="ACME")
    assert DataTransferRecord.objects.get().status == "UnknownVendorId"


def test_it_stores_a_data_transfer_without_data_as_empty():
    notifications.data_transfer_receive(charger_id="CP1", vendor_id="ACME")
    assert DataTransferRecord.objects.get().data == ""


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("diagnostics", "diagnostics_status"),
        ("firmware", "firmware_status"),
        ("signed_firmware", "firmware_status"),
        ("log", "log_status"),
    ],
)
def test_it_keeps_the_latest_status_on_the_charger(kind, field):
    record(kind, "Uploading")
    record(kind, "Uploaded")
    charger = Charger.objects.get(charger_id="CP1")
    assert (getattr(charger, field), getattr(charger, f"{field}_at") is not None) == ("Uploaded", True)


@pytest.mark.parametrize("kind", ["diagnostics", "firmware", "signed_firmware", "log", "security"])
def test_it_stores_every_notification(kind):
    record(kind, "A")
    record(kind, "B")
    assert list(ChargerEvent.objects.filter(kind=kind).order_by("id").values_list("status", flat=True)) == ["A", "B"]


def test_it_stores_a_security_event_with_its_timestamp():
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    notifications.charger_event_record(
        charger_id="CP1",
        kind="security",
        status="FirmwareUpdated",
        payload={"type": "FirmwareUpdated", "techInfo": "x"},
        timestamp=when,
    )
    event = ChargerEvent.objects.get()
    assert (event.status, event.timestamp, event.payload["techInfo"]) == ("FirmwareUpdated", when, "x")


def test_it_changes_no_charger_status_for_a_security_event():
    record("security", "StartupOfTheDevice")
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.firmware_status, charger.diagnostics_status, charger.log_status) == ("", "", "")


def test_it_links_a_log_status_to_the_get_log_with_its_request_id():
    charger = Charger.objects.create(charger_id="CP1")
    wanted = Command.objects.create(charger=charger, action="GetLog", request={"requestId": 5})
    Command.objects.create(charger=charger, action="GetLog", request={"requestId": 6})
    assert record("log", "Uploaded", request_id=5).command == wanted


def test_it_links_a_diagnostics_status_to_the_latest_get_diagnostics():
    charger = Charger.objects.create(charger_id="CP1")
    Command.objects.create(charger=charger, action="GetDiagnostics")
    latest = Command.objects.create(charger=charger, action="GetDiagnostics")
    assert record("diagnostics", "Uploaded").command == latest
