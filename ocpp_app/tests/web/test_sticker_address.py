"""Where the QR codes lead: under OCPP_PUBLIC_URL when it is set; when it is
not, a code shown or downloaded from a page leads to the address the page was
reached by (Django's host check and proxy scheme apply); the stored code
always leads under the configured URL."""

import base64
import re

import pytest
from django.urls import reverse

from ocpp_app.models import Charger
from ocpp_app.services.qr import charger_qr_refresh, local_only, qr_render, sticker_base
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db
LAN = "10.0.0.5:8000"


def stored_charger(charger_id: str = "CP1") -> Charger:
    charger = make_charger(charger_id, statuses=("Available", "Available"))
    charger_qr_refresh(charger)
    return charger


def test_without_a_public_url_the_codes_lead_to_the_address_the_page_was_reached_by(client):
    charger = stored_charger()
    assert charger.qr_url == "http://localhost:8000/ocpp/c/CP1/"  # the stored code: no request at hand
    png = client.get(reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST=LAN)
    svg = client.get(reverse("ocpp:qr-svg", args=["CP1", 2]), HTTP_HOST=LAN)
    assert png.content == qr_render(f"http://{LAN}/ocpp/c/CP1/")[0]
    assert svg.content.decode() == qr_render(f"http://{LAN}/ocpp/c/CP1/2/")[1]
    page = client.get(reverse("ocpp:landing", args=["CP1"]), HTTP_HOST=LAN).content.decode()
    inline = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(inline) == qr_render(f"http://{LAN}/ocpp/c/CP1/")[0]
    assert Charger.objects.get(pk=charger.pk).qr_url == "http://localhost:8000/ocpp/c/CP1/"  # unchanged


def test_reached_by_the_default_address_the_stored_code_is_served(client):
    charger = stored_charger()
    response = client.get(reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST="localhost:8000")
    assert response.content == bytes(charger.qr_png)


def test_behind_a_tls_proxy_the_codes_lead_to_https(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    stored_charger()
    response = client.get(
        reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST="csms.example.com", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response.content == qr_render("https://csms.example.com/ocpp/c/CP1/")[0]


def test_a_host_outside_allowed_hosts_gets_no_code(client, settings):
    settings.ALLOWED_HOSTS = ["csms.example.com"]
    stored_charger()
    assert client.get(reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST="evil.example").status_code == 400
    assert client.get(reverse("ocpp:landing", args=["CP1", 1]), HTTP_HOST="evil.example").status_code == 400


def test_a_configured_public_url_wins_over_the_address_the_page_was_reached_by(client, settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    charger = stored_charger()
    assert charger.qr_url == "https://csms.example.com/ocpp/c/CP1/"
    response = client.get(reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST=LAN)
    assert response.content == bytes(charger.qr_png)
    connector = client.get(reverse("ocpp:qr-png", args=["CP1", 1]), HTTP_HOST=LAN)
    assert connector.content == qr_render("https://csms.example.com/ocpp/c/CP1/1/")[0]


def test_sticker_base(settings):
    assert sticker_base() == "http://localhost:8000"
    assert sticker_base("http://10.0.0.5:8000/") == "http://10.0.0.5:8000"
    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    assert sticker_base("http://10.0.0.5:8000/") == sticker_base() == "https://csms.example.com"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://localhost:8000/ocpp/c/CP1/", True),
        ("http://127.0.0.1:9000/", True),
        ("http://[::1]:8000/", True),
        ("http://app.localhost/", True),
        ("http://10.0.0.5:8000/", False),
        ("https://csms.example.com/", False),
    ],
)
def test_local_only(url, local):
    assert local_only(url) is local


# -- the charger admin's QR card ---------------------------------------------------------------


def admin_card(client, charger: Charger, host: str, *, secure: bool = False) -> str:
    url = reverse("admin:ocpp_app_charger_change", args=[charger.pk])
    html = client.get(url, HTTP_HOST=host, secure=secure).content.decode()
    start = html.index('<div class="landing-stickers"')
    return html[start : html.index("</table>", start)]


def test_the_admin_says_stickers_lead_to_the_address_it_was_opened_by_when_no_public_url_is_set(superuser_client):
    charger = stored_charger()
    card = admin_card(superuser_client, charger, LAN)
    assert f'Stickers printed from this page lead to <a href="http://{LAN}/ocpp/c/CP1/"' in card
    assert "<code>OCPP_PUBLIC_URL</code> is not set" in card
    assert "The code stored for this charger leads to <code>http://localhost:8000/ocpp/c/CP1/</code>" in card
    assert "names this machine only" not in card
    # A code per connector, each with its downloads.
    for number in (1, 2):
        assert f'data-sticker="{number}"' in card
        assert f'src="/ocpp/c/CP1/{number}/qr.png"' in card and f'href="/ocpp/c/CP1/{number}/qr.svg?download=1"' in card
        assert f"<code>http://{LAN}/ocpp/c/CP1/{number}/</code>" in card


def test_the_admin_warns_that_a_loopback_address_is_no_use_on_a_sticker(superuser_client):
    charger = stored_charger()
    card = admin_card(superuser_client, charger, "localhost:8000")
    assert "http://localhost:8000/ocpp/c/CP1/ names this machine only" in card
    assert "The code stored for this charger" not in card  # the same address: nothing disagrees


def test_the_admin_says_when_the_public_url_differs_from_the_address_it_was_opened_by(superuser_client, settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com"
    charger = stored_charger()
    card = admin_card(superuser_client, charger, LAN)
    assert 'lead to <a href="https://csms.example.com/ocpp/c/CP1/"' in card
    assert (
        f"You opened this page at <code>http://{LAN}/ocpp/c/CP1/</code>, but the codes lead to "
        "<code>https://csms.example.com/ocpp/c/CP1/</code>"
    ) in card
    assert "The code stored for this charger" not in card
    settings.OCPP_PUBLIC_URL = "https://new.example.com"
    card = admin_card(superuser_client, charger, "new.example.com", secure=True)
    assert "You opened this page at" not in card
    assert "leads to <code>https://csms.example.com/ocpp/c/CP1/</code>" in card
    assert "made for an earlier <code>OCPP_PUBLIC_URL</code>" in card


def qr_caption(staff_client, host: str) -> str:
    page = staff_client.get(reverse("ocpp:charger-view", args=["CP1"]), HTTP_HOST=host).content.decode()
    return re.search(r'<small id="qr-url">([^<]*)</small>', page).group(1)


def test_the_charger_page_captions_its_code_with_the_address_the_image_leads_to(staff_client, settings):
    charger = stored_charger()
    caption = qr_caption(staff_client, LAN)
    assert caption == f"http://{LAN}/ocpp/c/CP1/"
    image = staff_client.get(reverse("ocpp:qr-png", args=["CP1"]), HTTP_HOST=LAN).content
    assert image == qr_render(caption)[0]
    assert charger.qr_url != caption  # the stored code leads under the default address

    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    assert qr_caption(staff_client, LAN) == "https://csms.example.com/ocpp/c/CP1/"
