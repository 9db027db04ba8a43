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
