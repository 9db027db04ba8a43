"""Certificates on the pages: the charger page's certificate card and the
dashboard's warning about certificates that expire soon."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.models import InstalledCertificate, IssuedCertificate
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db
ODD_ID = "CP 7#a:ü"
HOSTILE = '<script>window.__x=1</script>"'


def issued(charger, serial: str, *, days: float, status: str = "issued", subject: str = "") -> IssuedCertificate:
    now = timezone.now()
    return IssuedCertificate.objects.create(
        charger=charger,
        serial=serial,
        subject=subject or f"CN={charger.charger_id}",
        not_before=now - timedelta(days=300),
        not_after=now + timedelta(days=days),
        status=status,
        pem="(public certificate)",
    )


def installed(charger, serial: str, certificate_type: str = "CentralSystemRootCertificate") -> InstalledCertificate:
    return InstalledCertificate.objects.create(
        charger=charger,
        certificate_type=certificate_type,
        hash_algorithm="SHA256",
        issuer_name_hash="a" * 64,
        issuer_key_hash="b" * 64,
        serial_number=serial,
    )


def card_of(html: str) -> str:
    return html[html.index('id="certificates"') : html.index("</section>", html.index('id="certificates"'))]


def row_of(html: str, marker: str) -> str:
    return re.search(rf"<tr[^>]*{re.escape(marker)}.*?</tr>", html, re.S).group(0)


def test_the_card_lists_issued_certificates_with_the_expires_soon_rule(staff_client):
    charger = make_charger("CP1")
    issued(charger, "a1", days=200)
    issued(charger, "b2", days=10)
    issued(charger, "c3", days=-1)
    issued(charger, "d4", days=5, status="revoked")
    issued(make_charger("OTHER"), "e5", days=3)
    card = card_of(staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode())
    assert "e5" not in card
    assert "expires soon" not in row_of(card, 'data-serial="a1"')
    assert "expires soon" in row_of(card, 'data-serial="b2"')
    assert '<span class="pill expiring">expired</span>' in row_of(card, 'data-serial="c3"')
    revoked = row_of(card, 'data-serial="d4"')
    assert "revoked" in revoked and "expiring" not in revoked
    assert "CN=CP1" in card and (timezone.now() + timedelta(days=200)).strftime("%Y-%m-%d") in card


def test_the_card_offers_renew_refresh_delete_and_install_against_the_api(staff_client):
    charger = make_charger(ODD_ID)
    installed(charger, "0f1e", "ManufacturerRootCertificate")
    html = staff_client.get(reverse("ocpp:charger-view", args=[ODD_ID])).content.decode()
    card = card_of(html)
    base = "/ocpp/chargers/CP%207%23a:%C3%BC/"
    assert f'data-list-url="{base}certificates/"' in card
    assert f'data-renew-url="{base}certificates/renew/"' in card
    assert f'data-install-url="{base}certificates/install/"' in card
    assert f'data-action-url="{base}action/"' in html  # Refresh and Delete go through the action endpoint
    assert 'id="certificate-renew"' in card and 'id="certificate-refresh"' in card
    row = row_of(card, 'data-serial-number="0f1e"')
    assert 'data-hash-algorithm="SHA256"' in row and f'data-issuer-name-hash="{"a" * 64}"' in row
    assert "ManufacturerRootCertificate" in row and "cert-delete" in row
    assert "<option>CentralSystemRootCertificate</option><option>ManufacturerRootCertificate</option>" in card
    assert 'name="certificate"' in card and 'type="file" name="file"' in card
    assert "csrfmiddlewaretoken" in html


def test_an_empty_card_says_so(staff_client):
    make_charger("CP1")
    card = card_of(staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode())
    assert "None issued yet." in card and "None reported" in card


def test_what_the_charger_and_the_csr_supplied_is_escaped(staff_client):
    charger = make_charger("CP1")
    issued(charger, "a1", days=100, subject=f"CN={HOSTILE}")
    installed(charger, HOSTILE[:40])
    card = card_of(staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode())
    assert "<script>" not in card
    assert "CN=&lt;script&gt;window.__x=1&lt;/script&gt;&quot;" in card
    assert 'data-serial-number="&lt;script&gt;' in card


# -- dashboard -------------------------------------------------------------------------------


def test_the_dashboard_counts_certificates_expiring_or_expired_and_not_revoked(staff_client):
    charger = make_charger("CP1")
    issued(charger, "a1", days=200)  # far off
    issued(charger, "b2", days=29)  # within 30 days
    issued(charger, "c3", days=-3)  # expired, not revoked
    issued(charger, "d4", days=2, status="revoked")
    html = staff_client.get("/ocpp/").content.decode()
    warning = re.search(r'<p class="card cert-warning".*?</p>', html, re.S).group(0)
    assert "<b>2</b> charger certificates expire within 30 days or have expired (not revoked)" in warning
    assert 'href="/admin/ocpp_app/issuedcertificate/?expiry=soon"' in warning


def test_one_expiring_certificate_is_told_in_the_singular(staff_client):
    issued(make_charger("CP1"), "b2", days=1)
    html = staff_client.get("/ocpp/").content.decode()
    assert "<b>1</b> charger certificate expires within 30 days or has expired" in html


def test_no_warning_without_expiring_certificates(staff_client):
    charger = make_charger("CP1")
    issued(charger, "a1", days=200)
    issued(charger, "d4", days=2, status="revoked")
    assert 'id="certificate-warning"' not in staff_client.get("/ocpp/").content.decode()


def test_the_warning_links_to_an_admin_list_of_exactly_those(superuser_client):
    charger = make_charger("CP1")
    for serial, days, status in (("a1", 200, "issued"), ("b2", 29, "issued"), ("c3", -3, "issued")):
        issued(charger, serial, days=days, status=status)
    issued(charger, "d4", days=2, status="revoked")
    response = superuser_client.get("/admin/ocpp_app/issuedcertificate/?expiry=soon")
    assert response.status_code == 200
    assert sorted(c.serial for c in response.context["cl"].result_list) == ["b2", "c3"]
