"""The circuit tree in the admin: the same rules as the API, as form errors."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ocpp_app.models import Charger, Circuit
from ocpp_app.tests.helpers import charger_admin_form, make_charger

pytestmark = pytest.mark.django_db


def circuit_form(**fields):
    return {
        "name": "Feeder",
        "max_current": "16",
        "phases": "3",
        "phase": "L1",
        "voltage": "230",
        "parent": "",
        "schedule-TOTAL_FORMS": "0",
        "schedule-INITIAL_FORMS": "0",
        "schedule-MIN_NUM_FORMS": "0",
        "schedule-MAX_NUM_FORMS": "1000",
        **fields,
    }


def test_a_child_above_its_parent_is_a_form_error_and_not_saved(superuser_client):
    main = Circuit.objects.create(name="Main", max_current=Decimal("32"))
    response = superuser_client.post(
        reverse("admin:ocpp_app_circuit_add"), circuit_form(max_current="40", parent=str(main.pk))
    )
    assert response.status_code == 200
    assert "above its parent" in response.content.decode()
    assert not Circuit.objects.filter(name="Feeder").exists()
    ok = superuser_client.post(reverse("admin:ocpp_app_circuit_add"), circuit_form(parent=str(main.pk)))
    assert ok.status_code == 302
    assert Circuit.objects.get(name="Feeder").parent_id == main.pk


def test_a_cycle_is_a_form_error(superuser_client):
    main = Circuit.objects.create(name="Main", max_current=Decimal("32"))
    feeder = Circuit.objects.create(name="Feeder", max_current=Decimal("16"), parent=main)
    response = superuser_client.post(
        reverse("admin:ocpp_app_circuit_change", args=[main.pk]),
        circuit_form(name="Main", max_current="32", parent=str(feeder.pk)),
    )
    assert response.status_code == 200 and "cycle" in response.content.decode()
    assert Circuit.objects.get(pk=main.pk).parent_id is None


def test_a_charger_s_wiring_is_checked_against_its_circuit(superuser_client):
    single = Circuit.objects.create(name="Single", max_current=Decimal("16"), phases=1, phase="L2")
    make_charger("CP1")
    url = reverse("admin:ocpp_app_charger_change", args=[Charger.objects.get().pk])
    refused = superuser_client.post(url, charger_admin_form(circuit=str(single.pk)))
    assert refused.status_code == 200 and "set the charger&#x27;s phases to 1" in refused.content.decode()
    assert Charger.objects.get().circuit_id is None
    saved = superuser_client.post(url, charger_admin_form(circuit=str(single.pk), phases="1"))
    assert saved.status_code == 302
    charger = Charger.objects.get()
    assert (charger.circuit_id, charger.phase) == (single.pk, "L2")


def test_schedule_windows_are_checked_in_the_admin_too(superuser_client):
    window = {
        "schedule-TOTAL_FORMS": "1",
        "schedule-0-days": "0,1,2,3,4",
        "schedule-0-start": "17:00",
        "schedule-0-end": "17:00",
        "schedule-0-max_current": "40",
    }
    response = superuser_client.post(reverse("admin:ocpp_app_circuit_add"), {**circuit_form(name="Peak"), **window})
    page = response.content.decode()
    assert response.status_code == 200
    assert "start and end are the same" in page and "above the circuit" in page
    assert not Circuit.objects.filter(name="Peak").exists()
    fixed = {**window, "schedule-0-end": "20:00", "schedule-0-max_current": "10"}
    assert (
        superuser_client.post(reverse("admin:ocpp_app_circuit_add"), {**circuit_form(name="Peak"), **fixed}).status_code
        == 302
    )
    assert Circuit.objects.get(name="Peak").schedule.get().max_current == 10
