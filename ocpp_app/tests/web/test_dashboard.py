"""The operator dashboard: state, connectors, active transactions, counts, filters, map."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app import selectors
from ocpp_app.models import Charger, RegistrationStatus
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db
URL = "/ocpp/"


def rows_of(response) -> list[str]:
    return [c.charger_id for c in response.context["chargers"]]


def test_it_shows_state_connectors_and_the_active_transaction(staff_client):
    charger = make_charger("CP1", statuses=("Charging", "Faulted"), registration_status=RegistrationStatus.PENDING)
    make_session(charger, id_tag="TAGX", meter_start=1000, readings=4, step_wh=500, power_w=7400)
    html = staff_client.get(URL).content.decode()
    assert 'data-charger-id="CP1"' in html
    assert "conn-online" in html
    assert "Pending" in html
    assert 'class="connector st-charging" data-connector="1" data-status="Charging"' in html
    assert 'class="connector st-fault" data-connector="2" data-status="Faulted"' in html
    assert "TAGX" in html
    assert "2.000 kWh" in html  # 4 x 500 Wh so far
    assert "7.40 kW" in html  # latest power reading


def test_it_adds_stopped_and_running_energy_into_the_total(staff_client):
    charger = make_charger("CP1")
    make_session(charger, readings=2, step_wh=1000, stop=True, start=timezone.now() - timedelta(hours=3))
    make_session(charger, connector_id=1, readings=1, step_wh=250, meter_start=5000)
    response = staff_client.get(URL)
    (row,) = response.context["chargers"]
    assert row.total_energy_wh == 2250
    assert "2.250 kWh" in response.content.decode()


def test_it_tells_offline_and_stale_chargers_apart(staff_client, settings):
    make_charger("OFF", connected=False)
    old = timezone.now() - timedelta(hours=1)
    make_charger("STALE", connected=True, last_seen=old, last_heartbeat=old, connected_since=old)
    make_charger("ON")
    response = staff_client.get(URL)
    states = {c.charger_id: c.current_state for c in response.context["chargers"]}
    assert states == {"OFF": "offline", "STALE": "stale", "ON": "online"}
    counts = response.context["counts"]
    assert (counts.total, counts.online, counts.stale, counts.offline) == (3, 1, 1, 1)


def test_it_counts_charging_and_faulted_chargers_once_each(staff_client):
    make_charger("A", statuses=("Charging", "Charging"))
    make_charger("B", statuses=("Faulted", "Charging"))
    make_charger("C", statuses=("Available",))
    counts = staff_client.get(URL).context["counts"]
    assert (counts.charging, counts.faulted) == (2, 1)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=alp", ["ALPHA-1"]),
        ("q=garage", ["BETA-2"]),
        ("state=offline", ["GAMMA-3"]),
        ("state=online", ["ALPHA-1", "BETA-2"]),
        ("state=stale", ["DELTA-4"]),
        ("status=Faulted", ["BETA-2"]),
        ("vendor=Zap", ["DELTA-4", "GAMMA-3"]),
        ("vendor=acme&state=online", ["ALPHA-1", "BETA-2"]),
    ],
)
def test_it_filters_by_id_state_status_and_vendor(staff_client, query, expected):
    make_charger("ALPHA-1", statuses=("Available",))
    make_charger("BETA-2", name="Garage", statuses=("Faulted",))
    make_charger("GAMMA-3", connected=False, vendor="Zap")
    old = timezone.now() - timedelta(hours=2)
    make_charger("DELTA-4", vendor="Zap", last_seen=old, last_heartbeat=old, connected_since=old)
    assert rows_of(staff_client.get(f"{URL}?{query}")) == expected


def test_it_puts_located_chargers_on_the_map_coloured_by_status(staff_client):
    make_charger("MAP1", statuses=("Charging",), latitude="25.686600", longitude="-100.316100")
    make_charger("MAP2", statuses=("Faulted",), latitude="25.700000", longitude="-100.300000")
    make_charger("MAP3", connected=False, latitude="25.710000", longitude="-100.310000")
    make_charger("NOWHERE")
    response = staff_client.get(URL)
    points = {p["id"]: p for p in response.context["map_points"]}
    assert set(points) == {"MAP1", "MAP2", "MAP3"}
    assert (points["MAP1"]["colour"], points["MAP2"]["colour"], points["MAP3"]["colour"]) == (
        "charging",
        "faulted",
        "offline",
    )
    assert points["MAP1"]["lat"] == pytest.approx(25.6866)
    html = response.content.decode()
    assert 'id="map-points"' in html and "leaflet/leaflet.js" in html


def test_it_runs_a_fixed_number_of_queries_for_many_chargers(staff_client, django_assert_max_num_queries):
    for i in range(40):
        charger = make_charger(f"CP{i:03}", statuses=("Charging", "Available"), latitude="25.1", longitude="-100.1")
        make_session(charger, readings=2)
        make_session(charger, connector_id=2, readings=1, stop=True, start=timezone.now() - timedelta(days=1))
    # session + user + the role's permissions (2), page count + page + 2
    # prefetches, counts (3), vendors, map (2), expiring certificates:
    # independent of the number of chargers.
    with django_assert_max_num_queries(17):
        response = staff_client.get(URL)
    assert len(response.context["chargers"]) == 40


def test_it_paginates_thousands_of_chargers(staff_client):
    Charger.objects.bulk_create([Charger(charger_id=f"BULK{i:04}") for i in range(250)])
    response = staff_client.get(URL + "?page=3")
    assert rows_of(response)[0] == "BULK0200"
    assert len(rows_of(response)) == 50
    assert response.context["counts"].total == 250


def test_it_links_each_row_to_the_charger_page_log_and_landing_page(staff_client):
    make_charger("CP 7#a:ü")
    html = staff_client.get(URL).content.decode()
    assert reverse("ocpp:charger-view", args=["CP 7#a:ü"]) in html
    assert "/ocpp/chargers/CP%207%23a:%C3%BC/view/" in html
    assert reverse("ocpp:log", args=["CP 7#a:ü"]) in html
    assert reverse("ocpp:landing", args=["CP 7#a:ü"]) in html


def test_the_map_points_are_json_for_the_script(staff_client):
    make_charger("J1", latitude="1.5", longitude="2.5")
    html = staff_client.get(URL).content.decode()
    start = html.index('<script id="map-points" type="application/json">') + len(
        '<script id="map-points" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert data[0]["id"] == "J1"


def test_marker_colour_prefers_faults_over_charging():
    assert selectors.marker_colour("online", {"Charging", "Faulted"}) == "faulted"
    assert selectors.marker_colour("online", {"Charging"}) == "charging"
    assert selectors.marker_colour("offline", {"Charging"}) == "offline"
    assert selectors.marker_colour("stale", {"Available"}) == "stale"


def test_the_sql_liveness_agrees_with_charger_state(staff_client, settings):
    """The counts and the state filter decide in SQL what Charger.state decides
    in Python; mixed heartbeat intervals and missing timestamps included."""
    settings.OCPP_HEARTBEAT_INTERVAL, settings.OCPP_STALE_GRACE = 60, 30
    now = timezone.now()
    ago = lambda seconds: now - timedelta(seconds=seconds)  # noqa: E731
    cases = {
        "default-fresh": dict(last_seen=ago(80)),
        "default-stale": dict(last_seen=ago(100)),
        "long-interval-fresh": dict(heartbeat_interval=600, last_heartbeat=ago(500)),
        "long-interval-stale": dict(heartbeat_interval=600, last_heartbeat=ago(700)),
        "zero-interval-uses-default": dict(heartbeat_interval=0, connected_since=ago(85)),
        "only-connected-since-old": dict(connected_since=ago(1000)),
        "never-heard": dict(),
        "mixed-one-fresh": dict(last_seen=ago(5000), last_heartbeat=ago(10), connected_since=ago(9000)),
    }
    for cid, fields in cases.items():
        make_charger(cid, connected=False, **fields)
        Charger.objects.filter(charger_id=cid).update(connected=True)
    make_charger("offline", connected=False, last_seen=now)
    expected = {c.charger_id: c.state for c in Charger.objects.all()}
    assert expected["default-fresh"] == "online" and expected["long-interval-stale"] == "stale"
    for state in ("online", "stale", "offline"):
        ids = set(rows_of(staff_client.get(f"{URL}?state={state}")))
        assert ids == {cid for cid, s in expected.items() if s == state}, state
    counts = selectors.dashboard_counts()
    assert (counts.online, counts.stale, counts.offline) == tuple(
        list(expected.values()).count(s) for s in ("online", "stale", "offline")
    )
