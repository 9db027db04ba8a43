"""DataTransfer answers by vendor and messageId (OCPP-RULES.md, DataTransfer)."""

import pytest

from ocpp_app.models import Charger
from ocpp_app.services import chargers
from ocpp_app.services.notifications import data_transfer_receive

pytestmark = pytest.mark.django_db


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
    result = data_transfer_receive(charger_id="DT1", vendor_id=vendor_id, message_id=message_id, data="{}")
    assert result.status == status


def test_it_does_not_overwrite_operator_fields_on_boot(monkeypatch):
    charger = Charger.objects.create(charger_id="B1")
    stale = Charger.objects.get(pk=charger.pk)
    # The boot read its row; then an operator (another worker) changed it.
    Charger.objects.filter(pk=charger.pk).update(password_hash="new-hash", require_rfid=True)
    monkeypatch.setattr(chargers, "charger_get_or_create", lambda **kwargs: stale)
    chargers.charger_boot(charger_id="B1", identity=chargers.BootIdentity(vendor="V", model="M"))
    charger.refresh_from_db()
    assert (charger.password_hash, charger.require_rfid, charger.vendor) == ("new-hash", True, "V")
