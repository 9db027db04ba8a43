"""The circuit pages and the charger page's load card."""

from decimal import Decimal

import pytest
from django.test import Client

from ocpp_app.models import Charger
from ocpp_app.services import load
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    main = load.circuit_write(circuit=None, fields={"name": "Main supply", "max_current": Decimal("32")})
    garage = load.circuit_write(
        circuit=None, fields={"name": "Garage <feeder>", "max_current": Decimal("16"), "parent_id": main.pk}
    )
    for charger_id, circuit in (("CP1", garage), ("CP2", garage), ("CP3", main)):
        make_charger(charger_id)
        load.charger_load_update(charger=Charger.objects.get(charger_id=charger_id), fields={"circuit": circuit})
        make_session(Charger.objects.get(charger_id=charger_id), readings=0)
    load.load_plan()
    load.load_sample()
    return main, garage


def test_the_tree_lists_each_circuit_with_its_limit_and_load(staff_client, site):
    page = staff_client.get("/ocpp/circuits/view/").content.decode()
    assert page.index("Main supply") < page.index("Garage &lt;feeder&gt;")  # tree order, escaped
    assert "32.0 A" in page and "16.0 A" in page
    assert "<feeder>" not in page


def test_a_circuit_page_shows_its_sessions_why_and_its_chart_data(staff_client, site):
    _, garage = site
    page = staff_client.get(f"/ocpp/circuits/{garage.pk}/view/").content.decode()
    assert page.count('class="allocated">8.0 A') == 2
    assert "fair share of &#x27;Garage &lt;feeder&gt;&#x27;" in page
    assert 'id="circuit-chart-data"' in page
    assert "16.0 A allocated" in page


def test_the_charger_page_shows_the_limit_in_force_and_why(staff_client, site):
    page = staff_client.get("/ocpp/chargers/CP3/view/").content.decode()
    assert "Load management" in page
    assert "<strong>16.0 A</strong> in force" in page  # 32 A main - the garage's 16 A
    assert "fair share of &#x27;Main supply&#x27;" in page
    unattached = make_charger("CP9")
    assert "Load management" not in staff_client.get(f"/ocpp/chargers/{unattached.charger_id}/view/").content.decode()


def test_unknown_circuit_is_a_404_and_the_pages_need_staff(staff_client, site):
    assert staff_client.get("/ocpp/circuits/424242/view/").status_code == 404
    assert Client().get("/ocpp/circuits/view/").status_code == 302
