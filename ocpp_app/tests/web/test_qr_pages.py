"""The QR code's endpoints and template tags: they serve the stored code, or
render one on the fly, and never store it."""

import pytest
from django.template import Context, Template
from django.urls import reverse

from ocpp_app.models import Charger
from ocpp_app.services.qr import charger_qr_refresh, landing_url, qr_render

pytestmark = pytest.mark.django_db


def test_the_png_and_svg_endpoints_serve_the_stored_code_and_downloads(client, settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com"  # the stored code leads there
    charger = Charger.objects.create(charger_id="CP:1")
    charger_qr_refresh(charger)
    response = client.get(reverse("ocpp:qr-png", args=["CP:1"]))
    assert response["Content-Type"] == "image/png"
    assert response.content == bytes(charger.qr_png)
    svg = client.get(reverse("ocpp:qr-svg", args=["CP:1"]) + "?download=1")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="qr-CP_1.svg"'
    assert svg.content.decode() == charger.qr_svg


def test_the_endpoints_render_a_missing_code_without_storing_it(client, settings, django_assert_num_queries):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com"
    charger = Charger.objects.create(charger_id="CP1")
    Charger.objects.filter(pk=charger.pk).update(qr_url="", qr_png=None, qr_svg="")
    png_body, svg_body = qr_render(landing_url("CP1"))
    with django_assert_num_queries(1):  # the SELECT: no write
        response = client.get(reverse("ocpp:qr-png", args=["CP1"]))
    assert response.content == png_body
    assert client.get(reverse("ocpp:qr-svg", args=["CP1"])).content.decode() == svg_body
    assert Charger.objects.filter(pk=charger.pk, qr_url="", qr_png=None, qr_svg="").exists()


def test_the_endpoints_serve_the_code_of_the_current_public_url_without_storing_it(client, settings):
    charger = Charger.objects.create(charger_id="CP1")
    charger_qr_refresh(charger)
    old_url = charger.qr_url
    settings.OCPP_PUBLIC_URL = "https://other.example.org"
    response = client.get(reverse("ocpp:qr-png", args=["CP1"]))
    assert response.content == qr_render("https://other.example.org/ocpp/c/CP1/")[0]
    assert Charger.objects.get(pk=charger.pk).qr_url == old_url


def test_the_template_tags_render_the_code():
    charger = Charger.objects.create(charger_id="T1")
    charger_qr_refresh(charger)
    html = Template(
        "{% load ocpp_tags %}{% charger_qr c 120 %}|{% charger_qr c 90 True %}|{% charger_qr_src c 'svg' %}"
    ).render(Context({"c": charger}))
    linked, inline, svg = html.split("|")
    assert 'src="/ocpp/c/T1/qr.png"' in linked and 'width="120"' in linked
    assert 'src="data:image/png;base64,' in inline
    assert svg == "/ocpp/c/T1/qr.svg"


def test_the_inline_tag_renders_a_missing_code_without_storing_it():
    charger = Charger.objects.create(charger_id="T2")
    html = Template("{% load ocpp_tags %}{% charger_qr c 90 True %}").render(Context({"c": charger}))
    assert 'src="data:image/png;base64,' in html
    assert Charger.objects.filter(pk=charger.pk, qr_url="", qr_png=None).exists()
