"""The driver's page of a charger and of one connector (public): live figures
as JSON from the page's own address, offline and fault notices, and nothing
of a session that is not in progress on it, whatever the query asks."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger, Connector
from ocpp_app.services.qr import landing_url, qr_render
from ocpp_app.tests.helpers import make_charger, make_session, strings

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def live(client, *args, query: str = "") -> dict:
    response = client.get(reverse("ocpp:landing", args=args) + query, **JSON)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_its_json_has_the_session_in_progress_and_nothing_else(client):
    charger = make_charger("CP1", statuses=("Charging", "Available"))
    make_session(charger, id_tag="OLD-DRIVER-77", stop=True, start=timezone.now() - timedelta(days=1))
    make_session(charger, id_tag="04A1B2C3D4E5F6", readings=3, step_wh=500, power_w=7200)
    data = live(client, "CP1")
    assert data["charger"] == {"id": "CP1", "state": "online", "state_text": "Online", "notice": "", "fault": ""}
    one, two = data["connectors"]
    assert (one["id"], one["status"], one["status_class"], one["fault"]) == (1, "Charging", "st-charging", False)
    session = one["session"]
    assert session["card"] == "••••F6"
    assert (session["energy_wh"], session["energy_text"]) == (1500.0, "1.500 kWh")
    assert (session["power_w"], session["power_text"]) == (7200.0, "7.20 kW")
    assert 29 * 60 <= session["elapsed_s"] <= 31 * 60
    assert session["started_at"].endswith("Z")
    assert two["session"] is None and two["status_text"] == "Available"
    every = list(strings(data))
    assert not any("04A1B2C3" in s or "OLD-DRIVER" in s or "77" in s for s in every)


def test_the_page_and_its_json_ignore_a_tx_of_a_finished_or_another_chargers_session(client):
    charger = make_charger("CP1", statuses=("Available",))
    finished = make_session(charger, id_tag="FINISHED-11", readings=2, step_wh=4321, stop=True)
    other = make_charger("OTHER", statuses=("Charging",))
    elsewhere = make_session(other, id_tag="ELSEWHERE-22", readings=2, step_wh=777)
    for tx in (finished, elsewhere):
        query = f"?tx={tx.pk}&transaction={tx.pk}&connector=1"
        html = client.get(reverse("ocpp:landing", args=["CP1"]) + query).content.decode()
        text = json.dumps(live(client, "CP1", query=query), ensure_ascii=False)
        for shown in (html, text):
            assert "••••11" not in shown and "••••22" not in shown
            assert "8.642 kWh" not in shown and "1.554 kWh" not in shown  # nor in a total
        assert json.loads(text)["connectors"][0]["session"] is None


def test_an_open_session_on_a_connector_that_reported_available_since_is_not_in_progress(client):
    # Its StopTransaction was lost: it is the last driver's, not a session now.
    charger = make_charger("CP1", statuses=())
    make_session(charger, id_tag="LAST-DRIVER-33", start=timezone.now() - timedelta(hours=2))
    Connector.objects.create(charger=charger, connector_id=1, status="Available", timestamp=timezone.now())
    assert live(client, "CP1")["connectors"][0]["session"] is None
    assert "••••33" not in client.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
    # A charger that reported Available only before the session started still shows it.
    Connector.objects.filter(charger=charger).update(timestamp=timezone.now() - timedelta(hours=3))
    assert live(client, "CP1")["connectors"][0]["session"]["card"] == "••••33"


def test_an_offline_charger_and_a_faulted_connector_are_said_so(client):
    charger = make_charger("CP1", connected=False, statuses=("Available", "Faulted"))
    Connector.objects.filter(charger=charger, connector_id=2).update(
        error_code="GroundFailure", vendor_error_code="E-INTERNAL-9", info="relay board 3 fused"
    )
    data = live(client, "CP1")
    assert (data["charger"]["state"], data["charger"]["state_text"]) == ("offline", "Offline")
    assert data["charger"]["notice"].startswith("This charger is offline")
    faulted = data["connectors"][1]
    assert faulted["fault"] is True and faulted["status_text"] == "Out of order"
    assert "GroundFailure" in faulted["fault_text"]
    html = client.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
    assert "This charger is offline" in html and "GroundFailure" in html and "Out of order" in html
    for shown in (html, json.dumps(data)):
        assert "E-INTERNAL-9" not in shown and "relay board" not in shown


def test_a_charger_that_reports_a_fault_itself_is_said_so(client):
    charger = make_charger("CP1")
    Connector.objects.create(charger=charger, connector_id=0, status="Faulted", error_code="PowerMeterFailure")
    data = live(client, "CP1")
    assert "PowerMeterFailure" in data["charger"]["fault"]
    assert [c["id"] for c in data["connectors"]] == [1]  # connector 0 is the charger, not a cable


def test_a_connectors_page_shows_that_connector_only(client):
    charger = make_charger("CP1", statuses=("Charging", "Available"))
    make_session(charger, connector_id=1, id_tag="FIRST-CAR-01")
    make_session(charger, connector_id=2, id_tag="SECOND-CAR-02")
    Connector.objects.filter(charger=charger, connector_id=2).update(status="Charging")
    response = client.get(reverse("ocpp:landing", args=["CP1", 2]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Connector 2" in html and "••••02" in html
    assert "••••01" not in html and 'data-connector-card="1"' not in html
    assert reverse("ocpp:landing", args=["CP1"]) in html  # the way to the other connectors
    assert [c["id"] for c in live(client, "CP1", 2)["connectors"]] == [2]


@pytest.mark.parametrize("connector_id", [0, 3, 99])
def test_an_unknown_connector_is_a_public_404(client, connector_id):
    make_charger("CP1", statuses=("Available", "Available"))
    response = client.get(reverse("ocpp:landing", args=["CP1", connector_id]))
    html = response.content.decode()
    assert response.status_code == 404
    assert f"Charger “CP1” has no connector {connector_id}." in html
    assert "<h1>Not found</h1>" in html and "/admin/" not in html and "dashboard" not in html.lower()
    as_json = client.get(reverse("ocpp:landing", args=["CP1", connector_id]), **JSON)
    assert as_json.status_code == 404
    assert as_json.json() == {"detail": f"Charger “CP1” has no connector {connector_id}."}
    for name in ("ocpp:qr-png", "ocpp:qr-svg"):
        assert client.get(reverse(name, args=["CP1", connector_id])).status_code == 404


def test_a_connector_with_a_session_but_no_status_yet_has_a_page(client):
    charger = make_charger("CP1", statuses=())
    make_session(charger, connector_id=2)
    assert client.get(reverse("ocpp:landing", args=["CP1", 2])).status_code == 200


def test_json_is_never_cached_and_both_answers_vary_on_accept(client):
    make_charger("CP1")
    url = reverse("ocpp:landing", args=["CP1"])
    as_json, page = client.get(url, **JSON), client.get(url)
    assert as_json["Cache-Control"] == "no-store"
    assert "Accept" in as_json["Vary"] and "Accept" in page["Vary"]
    assert page["Content-Type"].startswith("text/html")


def test_each_connector_has_its_own_qr_code(client, settings):
    settings.OCPP_PUBLIC_URL = "https://csms.example.com"
    make_charger("CP 1#ü", statuses=("Available", "Available"))
    png = client.get(reverse("ocpp:qr-png", args=["CP 1#ü", 2]))
    assert png["Content-Type"] == "image/png"
    assert png.content == qr_render("https://csms.example.com/ocpp/c/CP%201%23%C3%BC/2/")[0]
    svg = client.get(reverse("ocpp:qr-svg", args=["CP 1#ü", 2]) + "?download=1")
    assert svg["Content-Disposition"] == 'attachment; filename="qr-CP_1_ü-2.svg"'
    assert svg.content.decode() == qr_render(landing_url("CP 1#ü", 2))[1]
    assert Charger.objects.get(charger_id="CP 1#ü").qr_url == ""  # never stored


def test_the_page_and_its_json_run_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    charger = make_charger("CP1", statuses=("Charging", "Available", "Available"))
    for day in range(10):
        make_session(charger, connector_id=2, stop=True, start=timezone.now() - timedelta(days=day + 1))
    make_session(charger)
    with django_assert_max_num_queries(4):
        client.get(reverse("ocpp:landing", args=["CP1"]), **JSON)
    with django_assert_max_num_queries(5):
        client.get(reverse("ocpp:landing", args=["CP1", 1]))


def test_only_the_session_that_just_ended_on_a_connector_gives_its_final_energy_briefly(client):
    charger = make_charger("CP1", statuses=("Finishing", "Available"))
    now = timezone.now()
    # Long ago on connector 1, and just now on connector 2: neither is connector 1's latest.
    make_session(charger, id_tag="OLD-DRIVER-77", stop=True, start=now - timedelta(days=1))
    make_session(
        charger,
        connector_id=2,
        id_tag="NEIGHBOUR-33",
        readings=2,
        step_wh=4000,
        stop=True,
        start=now - timedelta(minutes=6),
    )
    just = make_session(charger, id_tag="JUST-ENDED-42", readings=2, step_wh=153, start=now - timedelta(minutes=20))
    just.stop_time, just.meter_stop, just.energy_wh = now - timedelta(seconds=5), just.meter_start + 500, 500
    just.save()

    data = live(client, "CP1", 1)
    (one,) = data["connectors"]
    assert one["session"] is None
    assert one["ended"] == {
        "started_at": format_datetime_utc(just.start_time, timespec="seconds"),
        "energy_wh": 500.0,
        "energy_text": "0.500 kWh",
    }
    every = list(strings(data))
    assert not any("••••" in s or "8.000" in s or "DRIVER" in s or "NEIGHBOUR" in s for s in every)  # no card
    # The neighbour's session ended three minutes ago: past ENDED_SHOWN, it is gone.
    assert live(client, "CP1", 2)["connectors"][0]["ended"] is None
    # Nor is it in the page itself: only the script that showed the session uses it.
    html = client.get(reverse("ocpp:landing", args=["CP1", 1])).content.decode()
    assert "0.500 kWh" not in html

    # A new session on the connector: the ended one is no longer said.
    make_session(charger, id_tag="NEXT-DRIVER-55", readings=1, start=now - timedelta(seconds=2))
    Connector.objects.filter(charger=charger, connector_id=1).update(status="Charging")
    assert live(client, "CP1", 1)["connectors"][0]["ended"] is None
