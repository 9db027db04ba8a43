"""The charger page: identity, connectors, configuration, transactions, chart, commands."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app import selectors
from ocpp_app.models import MeterReading
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db
ODD_ID = "CP 7#a:ü"


def chart_of(response) -> dict:
    return response.context["chart"]


def test_it_shows_identity_connectors_and_configuration(staff_client):
    make_charger(
        "CP1",
        statuses=("Charging", "Available"),
        firmware_version="4.2.1",
        serial_number="SN-9",
        config={"configurationKey": [{"key": "HeartbeatInterval", "value": "60", "readonly": False}]},
    )
    html = staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    for text in ("4.2.1", "SN-9", "HeartbeatInterval", "st-charging", "st-ok", "uPlot.iife.min.js"):
        assert text in html


def test_it_charts_the_active_transaction_from_stored_readings(staff_client):
    charger = make_charger("CP1", statuses=("Charging",))
    make_session(charger, readings=2, stop=True, start=timezone.now() - timedelta(days=1))
    active = make_session(charger, meter_start=10_000, readings=3, step_wh=400, power_w=11_000)
    response = staff_client.get(reverse("ocpp:charger-view", args=["CP1"]))
    assert response.context["chart_tx"].pk == active.pk
    chart = chart_of(response)
    assert chart["energy"] == [400, 800, 1200]
    assert chart["power"] == [11_000, 11_000, 11_000]
    assert len(chart["t"]) == 3
    assert 'id="chart-data"' in response.content.decode()


def test_it_charts_a_chosen_transaction(staff_client):
    charger = make_charger("CP1")
    old = make_session(charger, readings=5, stop=True, start=timezone.now() - timedelta(days=1))
    make_session(charger, readings=1)
    response = staff_client.get(reverse("ocpp:charger-view", args=["CP1"]) + f"?tx={old.pk}")
    assert response.context["chart_tx"].pk == old.pk
    assert len(chart_of(response)["t"]) == 5


def test_it_converts_kilowatt_units_and_sums_phases(staff_client):
    charger = make_charger("CP1")
    tx = make_session(charger, readings=0, meter_start=0)
    ts = tx.start_time + timedelta(minutes=1)
    rows = [
        ("Energy.Active.Import.Register", "", "kWh", 1.5),
        ("Power.Active.Import", "L1", "kW", 3.0),
        ("Power.Active.Import", "L2", "kW", 3.5),
    ]
    for measurand, phase, unit, value in rows:
        MeterReading.objects.create(
            charger=charger,
            connector_id=1,
            transaction=tx,
            timestamp=ts,
            measurand=measurand,
            phase=phase,
            unit=unit,
            value=str(value),
            value_numeric=value,
        )
    data = staff_client.get(reverse("ocpp:charger-chart", args=["CP1"]) + f"?tx={tx.pk}").json()
    assert data["transaction"] == tx.pk
    assert data["energy"] == [1500.0]
    assert data["power"] == [6500.0]


def test_the_chart_endpoint_answers_empty_series_without_transactions(staff_client):
    make_charger("CP1")
    data = staff_client.get(reverse("ocpp:charger-chart", args=["CP1"])).json()
    assert data == {"transaction": None, "t": [], "power": [], "energy": []}


def test_it_answers_404_for_another_chargers_transaction(staff_client):
    other = make_charger("OTHER")
    tx = make_session(other)
    make_charger("CP1")
    assert staff_client.get(reverse("ocpp:charger-view", args=["CP1"]) + f"?tx={tx.pk}").status_code == 404


def test_it_offers_the_common_commands_against_the_api_endpoint(staff_client):
    charger = make_charger(ODD_ID)
    tx = make_session(charger)
    response = staff_client.get(reverse("ocpp:charger-view", args=[ODD_ID]))
    html = response.content.decode()
    for action in (
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "Reset",
        "UnlockConnector",
        "ChangeAvailability",
        "TriggerMessage",
        "GetConfiguration",
    ):
        assert f'data-action="{action}"' in html
    assert 'data-action-url="/ocpp/chargers/CP%207%23a:%C3%BC/action/"' in html
    assert f'name="transactionId" type="number" value="{tx.pk}"' in html
    assert "csrfmiddlewaretoken" in html


def test_it_serves_a_charger_whose_id_has_spaces_hash_colon_and_unicode(staff_client):
    make_charger(ODD_ID)
    url = reverse("ocpp:charger-view", args=[ODD_ID])
    assert url == "/ocpp/chargers/CP%207%23a:%C3%BC/view/"
    response = staff_client.get(url)
    assert response.status_code == 200
    assert response.context["charger"].charger_id == ODD_ID


def test_it_runs_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    charger = make_charger("CP1", statuses=("Charging", "Available", "Faulted"))
    for day in range(15):
        make_session(charger, connector_id=2, readings=3, stop=True, start=timezone.now() - timedelta(days=day + 1))
    make_session(charger, readings=30)
    # The certificate card costs three (issued, installed, commands), the
    # role's permissions two (the user's and their groups'), the command
    # forms five (RFID cards, the local list, reservations held, the highest
    # reservation id, profiles in force).
    with django_assert_max_num_queries(22):
        staff_client.get(reverse("ocpp:charger-view", args=["CP1"]))


def test_chart_series_are_json_serialisable(staff_client):
    charger = make_charger("CP1")
    make_session(charger)
    data = staff_client.get(reverse("ocpp:charger-chart", args=["CP1"])).json()
    json.dumps(data)
    assert data["active"] is True


def test_the_configuration_table_lists_the_keys_get_configuration_stored():
    config = {
        "configurationKey": {
            "HeartbeatInterval": {"value": "60", "readonly": False},
            "ChargePointModel": {"value": "X1", "readonly": True},
        },
        "unknownKey": [],
    }
    assert selectors.configuration_rows(config) == [
        {"key": "ChargePointModel", "value": "X1", "readonly": True},
        {"key": "HeartbeatInterval", "value": "60", "readonly": False},
    ]


@pytest.mark.parametrize("who, edit", [("viewer_client", False), ("superuser_client", True)])
def test_the_header_links_are_separated_with_no_dot_left_over(request, who, edit):
    charger = make_charger("CP1")
    html = request.getfixturevalue(who).get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    head = html[html.index('id="charger-page"') : html.index('<span id="live"')]
    links = head[head.index("message log") :].strip()
    assert not links.endswith("·")
    assert (reverse("admin:ocpp_app_charger_change", args=[charger.pk]) in links) is edit
    assert links.count("·") == (3 if edit else 2)
