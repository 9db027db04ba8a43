"""The admin: every model registered, charger links, read-only reported fields, map widget."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from ocpp_app import models
from ocpp_app.models import Charger, Command
from ocpp_app.services.qr import wait_for_qr_codes
from ocpp_app.tests.helpers import charger_admin_form, make_charger, make_session

pytestmark = pytest.mark.django_db

REGISTERED = [
    models.Charger,
    models.Connector,
    models.StatusNotificationRecord,
    models.Transaction,
    models.MeterReading,
    models.RFID,
    models.MessageLog,
    models.Command,
    models.ChargerEvent,
    models.DataTransferRecord,
    models.Reservation,
    models.LocalListEntry,
    models.ChargingProfileRecord,
    models.CertificateSigningRequest,
    models.Node,
]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_every_model_has_a_working_changelist(superuser_client, model):
    charger = make_charger("CP1", statuses=("Charging",))
    make_session(charger)
    models.MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", payload={})
    models.Node.objects.create(node_id="CP1-node", host="host-a", pid=1)
    assert admin.site.is_registered(model)
    url = reverse(f"admin:ocpp_app_{model._meta.model_name}_changelist")
    assert superuser_client.get(url).status_code == 200
    assert superuser_client.get(url + "?q=CP1").status_code == 200


def test_the_charger_list_links_landing_page_and_log(superuser_client):
    make_charger("CP 7#a")
    html = superuser_client.get(reverse("admin:ocpp_app_charger_changelist")).content.decode()
    assert 'href="/ocpp/c/CP%207%23a/"' in html and "Landing Page" in html
    assert 'href="/ocpp/log/CP%207%23a/"' in html and ">Log<" in html


def test_the_charger_list_runs_a_fixed_number_of_queries(superuser_client, django_assert_max_num_queries):
    for i in range(60):
        make_charger(f"CP{i:03}", statuses=("Available", "Charging"))
    with django_assert_max_num_queries(12):
        superuser_client.get(reverse("admin:ocpp_app_charger_changelist"))


def test_the_change_form_has_the_leaflet_map_widget(superuser_client):
    charger = make_charger("CP1")
    html = superuser_client.get(reverse("admin:ocpp_app_charger_change", args=[charger.pk])).content.decode()
    assert "/static/leaflet/leaflet.js" in html and "/static/leaflet/leaflet.css" in html
    assert "/static/ocpp/latlng_widget.js" in html
    assert 'id="id_longitude_map" class="latlng-map" data-lat-input="id_latitude" data-lng-input="id_longitude"' in html
    assert 'data-center-lat="25.6866" data-center-lng="-100.3161"' in html
    assert "window.ocppLatLngMapInit" in html
    assert "//unpkg.com" not in html and "cdn" not in html.lower()
    assert 'src="/ocpp/c/CP1/qr.png"' in html


def change_data(charger: Charger, **overrides) -> dict:
    return charger_admin_form(**{"name": charger.name, "registration_status": charger.registration_status, **overrides})


def test_saving_the_form_stores_the_coordinates(superuser_client):
    charger = make_charger("CP1", statuses=())
    url = reverse("admin:ocpp_app_charger_change", args=[charger.pk])
    response = superuser_client.post(url, change_data(charger, latitude="25.700123", longitude="-100.250456"))
    assert response.status_code == 302, response.content.decode()[:3000]
    charger.refresh_from_db()
    assert (charger.latitude, charger.longitude) == (Decimal("25.700123"), Decimal("-100.250456"))


@pytest.mark.parametrize(("lat", "lng"), [("91", "0"), ("0", "181"), ("10", "")])
def test_it_refuses_impossible_positions(superuser_client, lat, lng):
    charger = make_charger("CP1", statuses=())
    url = reverse("admin:ocpp_app_charger_change", args=[charger.pk])
    response = superuser_client.post(url, change_data(charger, latitude=lat, longitude=lng))
    assert response.status_code == 200  # the form again, with the error
    charger.refresh_from_db()
    assert charger.latitude is None


def test_charger_reported_fields_are_read_only(superuser_client):
    charger = make_charger("CP1", statuses=(), vendor="Acme", firmware_version="1.0")
    url = reverse("admin:ocpp_app_charger_change", args=[charger.pk])
    superuser_client.post(url, change_data(charger, vendor="Evil", firmware_version="9.9", charger_id="HACK"))
    charger.refresh_from_db()
    assert (charger.charger_id, charger.vendor, charger.firmware_version) == ("CP1", "Acme", "1.0")


@pytest.mark.django_db(transaction=True)  # the code is made after commit
def test_adding_a_charger_creates_its_qr_code(superuser_client):
    response = superuser_client.post(
        reverse("admin:ocpp_app_charger_add"),
        change_data(Charger(), charger_id="NEW-1", registration_status="Accepted"),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    wait_for_qr_codes()
    assert Charger.objects.get(charger_id="NEW-1").qr_png


@pytest.mark.parametrize("bad", ["a/b", "a\\b", "..", "tab\there"])
def test_adding_a_charger_refuses_ids_no_charger_could_use(superuser_client, bad):
    superuser_client.post(
        reverse("admin:ocpp_app_charger_add"),
        change_data(Charger(), charger_id=bad, registration_status="Accepted"),
    )
    assert not Charger.objects.filter(charger_id=bad).exists()


def test_the_admin_finds_a_command_by_the_message_id_of_its_call(superuser_client):
    charger = Charger.objects.create(charger_id="ADM-MID")
    wanted = Command.objects.create(charger=charger, action="Reset", message_id="0b6f0c4e-4b1d-4c42-9d9e-1c1f1b1a1a1a")
    Command.objects.create(charger=charger, action="Reset", message_id="another-id")
    response = superuser_client.get("/admin/ocpp_app/command/", {"q": wanted.message_id})
    assert response.status_code == 200
    assert [command.pk for command in response.context["cl"].result_list] == [wanted.pk]
