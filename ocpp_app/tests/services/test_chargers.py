"""Charger registration, connection bookkeeping, boot, heartbeat, status."""

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_app.models import Charger, Connector, RegistrationStatus, StatusNotificationRecord
from ocpp_app.services import chargers
from ocpp_app.services.secrets import InvalidPassword, secret_verify
from ocpp_app.tests.helpers import admit

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def boot(charger_id: str = "CP1", **extra) -> chargers.BootResult:
    identity = chargers.BootIdentity(**{"vendor": "Vendor", "model": "Model", **extra})
    return chargers.charger_boot(charger_id=charger_id, identity=identity)


def connect(charger_id: str = "CP1", connection_id: str = "c1", unknown_policy="accept") -> chargers.ConnectResult:
    # The connection bookkeeping, past the takeover check (test_admission.py).
    return admit(charger_id, connection_id=connection_id, unknown_policy=unknown_policy, takeover_checked=True).result


def status(connector_id: int = 1, value: str = "Available", timestamp: datetime | None = T0, **extra):
    return chargers.connector_status_update(
        charger_id="CP1", connector_id=connector_id, status=value, error_code="NoError", timestamp=timestamp, **extra
    )


def test_it_stores_the_boot_identity_fields():
    boot(
        serial_number="SN1",
        charge_box_serial_number="BOX1",
        firmware_version="1.2.3",
        iccid="ICCID",
        imsi="IMSI",
        meter_type="MT",
        meter_serial_number="MSN",
    )
    charger = Charger.objects.get(charger_id="CP1")
    assert (
        charger.vendor,
        charger.model,
        charger.serial_number,
        charger.charge_box_serial_number,
        charger.firmware_version,
        charger.iccid,
        charger.imsi,
        charger.meter_type,
        charger.meter_serial_number,
    ) == ("Vendor", "Model", "SN1", "BOX1", "1.2.3", "ICCID", "IMSI", "MT", "MSN")


def test_it_does_not_overwrite_operator_fields_on_boot(monkeypatch):
    charger = Charger.objects.create(charger_id="B1")
    stale = Charger.objects.get(pk=charger.pk)
    # The boot read its row; then an operator (another worker) changed it.
    Charger.objects.filter(pk=charger.pk).update(password_hash="new-hash", require_rfid=True)
    monkeypatch.setattr(chargers, "charger_get_or_create", lambda **kwargs: stale)
    chargers.charger_boot(charger_id="B1", identity=chargers.BootIdentity(vendor="V", model="M"))
    charger.refresh_from_db()
    assert (charger.password_hash, charger.require_rfid, charger.vendor) == ("new-hash", True, "V")


def test_it_records_the_boot_time():
    boot()
    assert Charger.objects.get(charger_id="CP1").last_boot_at is not None


def test_it_answers_an_accepted_boot_with_the_heartbeat_interval(settings):
    settings.OCPP_HEARTBEAT_INTERVAL = 77
    assert boot() == chargers.BootResult(status="Accepted", interval=77)


def test_it_stores_the_heartbeat_interval_of_an_accepted_boot(settings):
    settings.OCPP_HEARTBEAT_INTERVAL = 77
    boot()
    assert Charger.objects.get(charger_id="CP1").heartbeat_interval == 77


@pytest.mark.parametrize("registration", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
def test_it_answers_a_not_accepted_boot_with_the_retry_interval(settings, registration):
    settings.OCPP_BOOT_RETRY_INTERVAL = 13
    Charger.objects.create(charger_id="CP1", registration_status=registration)
    assert boot() == chargers.BootResult(status=registration, interval=13)


def test_it_clips_overlong_boot_strings_to_their_columns():
    boot(vendor="V" * 30, firmware_version="F" * 60, meter_serial_number="S" * 30)
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.vendor, charger.firmware_version, charger.meter_serial_number) == ("V" * 20, "F" * 50, "S" * 25)


def test_it_records_a_heartbeat():
    now = chargers.charger_heartbeat(charger_id="CP1")
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.last_heartbeat, charger.last_seen) == (now, now)


def test_it_records_a_heartbeat_of_an_existing_charger():
    Charger.objects.create(charger_id="CP1")
    now = chargers.charger_heartbeat(charger_id="CP1")
    assert Charger.objects.get(charger_id="CP1").last_heartbeat == now


def test_it_creates_an_unknown_charger_on_connect_with_the_status_of_the_policy():
    connect(unknown_policy="pending")
    assert Charger.objects.get(charger_id="CP1").registration_status == "Pending"


def test_it_keeps_the_status_of_a_known_charger_on_connect():
    Charger.objects.create(charger_id="CP1", registration_status=RegistrationStatus.REJECTED)
    connect(unknown_policy="pending")
    assert Charger.objects.get(charger_id="CP1").registration_status == "Rejected"


def test_it_records_the_connection():
    assert connect().registration_status == "Accepted"
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.connected, charger.connection_id, charger.last_path, charger.subprotocol) == (
        True,
        "c1",
        "/ocpp/CP1",
        "ocpp1.6",
    )


def test_it_reports_the_channel_of_the_connection_it_replaces():
    connect(connection_id="old")
    assert connect(connection_id="new").previous_channel == "chan-old"


def test_it_reports_no_previous_channel_for_an_offline_charger():
    connect(connection_id="old")
    chargers.charger_disconnected(charger_id="CP1", connection_id="old")
    assert connect(connection_id="new").previous_channel == ""


def test_it_marks_the_live_connection_offline():
    connect(connection_id="c1")
    assert chargers.charger_disconnected(charger_id="CP1", connection_id="c1") is True
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.connected, charger.channel_name, charger.disconnected_at is not None) == (False, "", True)


def test_it_never_lets_an_old_connection_mark_a_newer_one_offline():
    connect(connection_id="old")
    connect(connection_id="new")
    assert chargers.charger_disconnected(charger_id="CP1", connection_id="old") is False
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.connected, charger.connection_id) == (True, "new")


def test_it_stores_a_password_hashed():
    Charger.objects.create(charger_id="CP1")
    chargers.charger_set_password(charger_id="CP1", password="s3cret-password-16")
    stored = Charger.objects.get(charger_id="CP1").password_hash
    assert stored and "s3cret-password-16" not in stored


def test_it_checks_the_right_password():
    Charger.objects.create(charger_id="CP1")
    charger = chargers.charger_set_password(charger_id="CP1", password="s3cret-password-16")
    assert secret_verify(password_hash=charger.password_hash, password="s3cret-password-16")


def test_it_refuses_a_wrong_password():
    Charger.objects.create(charger_id="CP1")
    charger = chargers.charger_set_password(charger_id="CP1", password="s3cret-password-16")
    assert not secret_verify(password_hash=charger.password_hash, password="wrong-password-123")


def test_it_refuses_any_password_without_a_hash():
    assert not secret_verify(password_hash="", password="")


@pytest.mark.parametrize("password", ["x" * 15, "x" * 41, "with a space 1234", "nönascii-password"])
def test_it_refuses_a_password_breaking_the_authorization_key_rules(password):
    Charger.objects.create(charger_id="CP1")
    with pytest.raises(InvalidPassword):
        chargers.charger_set_password(charger_id="CP1", password=password)


@pytest.mark.parametrize("length", [16, 40])
def test_it_accepts_a_password_at_the_length_bounds(length):
    Charger.objects.create(charger_id="CP1")
    assert chargers.charger_set_password(charger_id="CP1", password="p" * length).has_password


def test_it_clears_a_password():
    Charger.objects.create(charger_id="CP1")
    chargers.charger_set_password(charger_id="CP1", password="p" * 16)
    chargers.charger_set_password(charger_id="CP1", password=None)
    assert Charger.objects.get(charger_id="CP1").password_hash == ""


def test_it_stores_the_status_of_connector_zero():
    status(connector_id=0, value="Unavailable")
    assert Connector.objects.get(charger__charger_id="CP1", connector_id=0).status == "Unavailable"


def test_it_stores_every_status_field():
    status(connector_id=2, value="Faulted", info="hot", vendor_id="ACME", vendor_error_code="E42")
    connector = Connector.objects.get(charger__charger_id="CP1", connector_id=2)
    assert (connector.status, connector.error_code, connector.info, connector.vendor_id) == (
        "Faulted",
        "NoError",
        "hot",
        "ACME",
    )
    assert (connector.vendor_error_code, connector.timestamp) == ("E42", T0)


def test_it_keeps_the_status_history():
    status(value="Available", timestamp=T0)
    status(value="Charging", timestamp=T0 + timedelta(minutes=1))
    assert list(StatusNotificationRecord.objects.order_by("id").values_list("status", flat=True)) == [
        "Available",
        "Charging",
    ]


def test_it_updates_the_connector_with_a_newer_status():
    status(value="Available", timestamp=T0)
    status(value="Charging", timestamp=T0 + timedelta(minutes=1))
    assert Connector.objects.get(connector_id=1).status == "Charging"


def test_it_does_not_let_an_older_status_overwrite_a_newer_one():
    status(value="Charging", timestamp=T0 + timedelta(minutes=1))
    status(value="Available", timestamp=T0)
    assert Connector.objects.get(connector_id=1).status == "Charging"


def test_it_keeps_an_older_status_in_the_history():
    status(value="Charging", timestamp=T0 + timedelta(minutes=1))
    status(value="Available", timestamp=T0)
    assert StatusNotificationRecord.objects.filter(status="Available").count() == 1


def test_it_keeps_one_connector_row_per_connector():
    status(connector_id=1, timestamp=T0)
    status(connector_id=1, timestamp=T0 + timedelta(minutes=1))
    status(connector_id=2, timestamp=T0)
    assert Connector.objects.count() == 2


def test_it_timestamps_a_status_without_a_timestamp():
    connector = status(timestamp=None)
    assert connector.timestamp is not None
