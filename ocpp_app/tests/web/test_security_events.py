"""Critical security events on the dashboard and the charger page, and the
latest signed-firmware status on the charger page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.models import ChargerEvent, ChargerEventKind
from ocpp_app.services.notifications import charger_event_record
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db


def security_event(charger_id: str, event_type: str, tech_info: str = "") -> ChargerEvent:
    payload = {
        "type": event_type,
        "timestamp": "2026-03-01T10:00:00Z",
        **({"techInfo": tech_info} if tech_info else {}),
    }
    return charger_event_record(
        charger_id=charger_id, kind=ChargerEventKind.SECURITY, status=event_type, payload=payload
    )


def test_the_dashboard_counts_and_lists_recent_critical_events_only(staff_client):
    make_charger("CP1")
    make_charger("CP2")
    security_event("CP1", "TamperDetectionActivated", "lid opened")
    security_event("CP2", "InvalidFirmwareSignature")  # not critical in 1.6
    old = security_event("CP2", "SecurityLogWasCleared")
    ChargerEvent.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=2))
    response = staff_client.get(reverse("ocpp:dashboard"))
    assert response.context["critical_count"] == 1
    page = response.content.decode()
    section = page[page.index('id="critical-events"') :].split("</section>", 1)[0]
    assert "TamperDetectionActivated" in section and "lid opened" in section and "CP1" in section
    assert "InvalidFirmwareSignature" not in section and "SecurityLogWasCleared" not in section


def test_the_dashboard_shows_no_critical_section_without_critical_events(staff_client):
    make_charger("CP1")
    security_event("CP1", "InvalidTLSVersion")
    assert 'id="critical-events"' not in staff_client.get(reverse("ocpp:dashboard")).content.decode()


def test_the_charger_page_flags_its_critical_security_events(staff_client):
    make_charger("CP1")
    security_event("CP1", "StartupOfTheDevice")
    security_event("CP1", "InvalidChargePointCertificate")
    page = staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    section = page[page.index('id="security-events"') :].split("</section>", 1)[0]
    rows = section.split("<tr")[2:]
    assert "InvalidChargePointCertificate" in rows[0] and "critical" not in rows[0]
    assert "StartupOfTheDevice" in rows[1] and 'class="critical"' in rows[1]


def test_the_charger_page_shows_the_latest_signed_firmware_status(staff_client):
    make_charger("CP1")
    for status in ("Downloading", "Downloaded", "SignatureVerified"):
        charger_event_record(
            charger_id="CP1", kind=ChargerEventKind.SIGNED_FIRMWARE, status=status, payload={}, request_id=7
        )
    page = staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    shown = page[page.index('id="signed-firmware"') :].split("</dd>", 1)[0]
    assert "SignatureVerified (request 7)" in shown
