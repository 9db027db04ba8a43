"""QR codes of the landing pages: made on save and on first sight, stored,
regenerated only when the URL changes."""

import io

import png
import pytest
from django.template import Context, Template
from django.urls import reverse

from ocpp_app.models import Charger
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.qr import charger_qr_refresh, landing_url

pytestmark = pytest.mark.django_db


def test_it_creates_the_qr_code_when_a_charger_is_saved(settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com/"
    Charger.objects.create(charger_id="CP 1#ü")
    charger = Charger.objects.get(charger_id="CP 1#ü")
    assert charger.qr_url == "https://csms.example.com/ocpp/c/CP%201%23%C3%BC/"
    assert bytes(charger.qr_png).startswith(b"\x89PNG\r\n\x1a\n")
    width, height, _, _ = png.Reader(file=io.BytesIO(bytes(charger.qr_png))).read()
    assert width == height > 100
    assert charger.qr_svg.lstrip().startswith("<?xml") and "<svg" in charger.qr_svg


def test_it_creates_the_qr_code_for_an_auto_created_charger():
    charger_get_or_create(charger_id="AUTO1")
    assert Charger.objects.get(charger_id="AUTO1").qr_url.endswith("/ocpp/c/AUTO1/")


def test_the_created_instance_carries_the_code_so_a_later_save_keeps_it():
    charger = charger_get_or_create(charger_id="AUTO2")
    charger.vendor = "Acme"
    charger.save()  # as the core does on BootNotification
    assert Charger.objects.get(charger_id="AUTO2").qr_png


def test_a_save_with_an_unchanged_url_does_no_qr_work(django_assert_num_queries):
    charger = Charger.objects.create(charger_id="CP1")
    charger = Charger.objects.get(pk=charger.pk)
    before = bytes(charger.qr_png)
    charger.vendor = "Acme"
    with django_assert_num_queries(1):  # the UPDATE of the save itself
        charger.save()
    assert bytes(Charger.objects.get(pk=charger.pk).qr_png) == before


def test_it_regenerates_when_the_charger_id_changes():
    charger = Charger.objects.create(charger_id="OLD")
    charger.charger_id = "NEW"
    charger.save()
    assert Charger.objects.get(pk=charger.pk).qr_url.endswith("/ocpp/c/NEW/")


def test_it_regenerates_when_the_public_url_changes(settings):
    charger = Charger.objects.create(charger_id="CP1")
    old = bytes(charger.qr_png)
    settings.OCPP_PUBLIC_URL = "https://other.example.org"
    assert charger_qr_refresh(charger) is True
    stored = Charger.objects.get(pk=charger.pk)
    assert stored.qr_url == "https://other.example.org/ocpp/c/CP1/"
    assert bytes(stored.qr_png) != old
    assert charger_qr_refresh(stored) is False


def test_the_png_and_svg_endpoints_serve_the_stored_code_and_downloads(client):
    charger = Charger.objects.create(charger_id="CP:1")
    response = client.get(reverse("ocpp:qr-png", args=["CP:1"]))
    assert response["Content-Type"] == "image/png"
    assert response.content == bytes(charger.qr_png)
    svg = client.get(reverse("ocpp:qr-svg", args=["CP:1"]) + "?download=1")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="qr-CP_1.svg"'
    assert svg.content.decode() == charger.qr_svg


def test_the_endpoints_repair_a_missing_code(client):
    charger = Charger.objects.create(charger_id="CP1")
    Charger.objects.filter(pk=charger.pk).update(qr_url="", qr_png=None, qr_svg="")
    response = client.get(reverse("ocpp:qr-png", args=["CP1"]))
    assert response.content.startswith(b"\x89PNG")
    assert Charger.objects.get(pk=charger.pk).qr_url == landing_url("CP1")


def test_the_template_tags_render_the_code():
    charger = Charger.objects.create(charger_id="T1")
    html = Template(
        "{% load ocpp_tags %}{% charger_qr c 120 %}|{% charger_qr c 90 True %}|{% charger_qr_src c 'svg' %}"
    ).render(Context({"c": charger}))
    linked, inline, svg = html.split("|")
    assert 'src="/ocpp/c/T1/qr.png"' in linked and 'width="120"' in linked
    assert 'src="data:image/png;base64,' in inline
    assert svg == "/ocpp/c/T1/qr.svg"


def test_a_failing_qr_generator_never_breaks_saving_a_charger(monkeypatch):
    def broken(url):
        raise RuntimeError("no PNG writer")

    monkeypatch.setattr("ocpp_app.services.qr.qr_render", broken)
    charger = charger_get_or_create(charger_id="FRAGILE")
    assert Charger.objects.filter(pk=charger.pk, qr_url="").exists()
