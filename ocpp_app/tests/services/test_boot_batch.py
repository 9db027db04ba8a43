"""BootNotifications of a whole group-commit batch (a reconnect storm)."""

import pytest

from ocpp_app.models import Charger, RegistrationStatus
from ocpp_app.services import chargers

pytestmark = pytest.mark.django_db


def boot(charger_id: str, **identity) -> dict:
    return {"charger_id": charger_id, "identity": chargers.BootIdentity(**{"vendor": "V", "model": "M", **identity})}


def test_it_answers_each_boot_of_a_batch_by_its_chargers_status(settings):
    settings.OCPP_HEARTBEAT_INTERVAL = 300
    settings.OCPP_BOOT_RETRY_INTERVAL = 60
    Charger.objects.create(charger_id="OK1")
    Charger.objects.create(charger_id="PEND", registration_status=RegistrationStatus.PENDING)
    results = chargers.charger_boot_many([boot("OK1"), boot("PEND"), boot("NEW")])
    assert [(r.status, r.interval) for r in results] == [("Accepted", 300), ("Pending", 60), ("Accepted", 300)]
    stored = {c.charger_id: c for c in Charger.objects.all()}
    assert stored["OK1"].heartbeat_interval == 300
    assert stored["PEND"].heartbeat_interval is None
    assert stored["NEW"].vendor == "V" and stored["NEW"].last_boot_at is not None


def test_it_keeps_the_last_boot_of_a_charger_that_booted_twice_in_a_batch():
    Charger.objects.create(charger_id="TWICE")
    chargers.charger_boot_many([boot("TWICE", firmware_version="1.0"), boot("TWICE", firmware_version="2.0")])
    assert Charger.objects.get(charger_id="TWICE").firmware_version == "2.0"


def test_it_writes_only_what_the_boot_reports_in_a_batch():
    Charger.objects.create(charger_id="OPS", name="Depot 4", password_hash="kept", require_rfid=True)
    chargers.charger_boot_many([boot("OPS", serial_number="S" * 40)])
    charger = Charger.objects.get(charger_id="OPS")
    assert (charger.name, charger.password_hash, charger.require_rfid) == ("Depot 4", "kept", True)
    assert charger.serial_number == "S" * 25
