"""The circuits API and a charger's load fields: CRUD, the live allocation,
and bad input answered 400 with nothing half-saved."""

from decimal import Decimal

import pytest

from ocpp_app.models import Charger, Circuit
from ocpp_app.services import load
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


def test_create_a_tree_attach_chargers_and_read_the_live_allocation(api_client):
    main = api_client.post("/ocpp/circuits/", {"name": "Main", "max_current": "32"}, format="json")
    assert main.status_code == 201, main.content
    assert main.json() == {
        "id": main.json()["id"],
        "name": "Main",
        "max_current": "32.0",
        "phases": 3,
        "phase": "L1",
        "voltage": "230.0",
        "parent": None,
        "chargers": [],
        "schedule": [],
    }
    for charger_id in ("CP1", "CP2"):
        make_charger(charger_id)
    feeder = api_client.post(
        "/ocpp/circuits/",
        {"name": "Garage", "max_current": "16", "parent": main.json()["id"], "chargers": ["CP1"]},
        format="json",
    )
    assert feeder.status_code == 201, feeder.content
    patched = api_client.patch("/ocpp/chargers/CP2/", {"circuit": feeder.json()["id"]}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["circuit"] == feeder.json()["id"]
    for charger_id in ("CP1", "CP2"):
        make_session(Charger.objects.get(charger_id=charger_id), readings=0)
    load.load_plan()

    detail = api_client.get(f"/ocpp/circuits/{feeder.json()['id']}/").json()
    assert detail["chargers"] == ["CP1", "CP2"]
    assert detail["live"]["limit"] == "16.0"
    assert detail["live"]["phases"]["L1"] == {"allocated": 16.0, "measured": 0.0}
    sessions = detail["live"]["sessions"]
    assert [(s["charger_id"], s["allocated"], s["reason"], s["state"]) for s in sessions] == [
        ("CP1", "8.0", "share", "pending"),
        ("CP2", "8.0", "share", "pending"),
    ]
    assert sessions[0]["transaction_id"] is not None
    # The charger resource shows its load too.
    charger = api_client.get("/ocpp/chargers/CP1/").json()
    assert charger["load"][0]["allocated"] == "8.0"
    assert (charger["min_current"], charger["max_current"], charger["phases"]) == ("6.0", "32.0", 3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad", "max_current": "0"}, "max_current"),
        ({"name": "Bad", "max_current": "-5"}, "max_current"),
        ({"name": "Bad", "max_current": "40", "parent": "main"}, "max_current"),
        ({"name": "Bad", "max_current": "10", "chargers": ["CP1", "NOPE"]}, "chargers"),
        ({"name": "Bad", "max_current": "10", "phases": 2}, "phases"),
        ({"name": "Bad", "max_current": "10", "parent": 999999}, "parent"),
        (
            {"name": "Bad", "max_current": "10", "schedule": [{"start": "17:00", "end": "20:00", "max_current": "12"}]},
            "schedule",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(api_client, body, field):
    main = Circuit.objects.create(name="Main", max_current=Decimal("32"))
    make_charger("CP1")
    if body.get("parent") == "main":
        body = {**body, "parent": main.pk}
    response = api_client.post("/ocpp/circuits/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert list(Circuit.objects.values_list("name", flat=True)) == ["Main"]
    assert Charger.objects.get(charger_id="CP1").circuit_id is None


def test_a_cycle_is_a_400_and_the_tree_is_unchanged(api_client):
    main = Circuit.objects.create(name="Main", max_current=Decimal("32"))
    feeder = Circuit.objects.create(name="Feeder", max_current=Decimal("16"), parent=main)
    response = api_client.patch(f"/ocpp/circuits/{main.pk}/", {"parent": feeder.pk}, format="json")
    assert response.status_code == 400
    assert "cycle" in response.json()["parent"][0]
    assert Circuit.objects.get(pk=main.pk).parent_id is None


def test_charger_load_fields_are_checked_against_the_tree(api_client):
    single = Circuit.objects.create(name="Single", max_current=Decimal("16"), phases=1, phase="L3")
    make_charger("CP1")
    refused = api_client.patch("/ocpp/chargers/CP1/", {"circuit": single.pk, "name": "kept?"}, format="json")
    assert refused.status_code == 400
    assert "phases" in refused.json()
    charger = Charger.objects.get(charger_id="CP1")
    assert (charger.circuit_id, charger.name) == (None, "")
    bad_range = api_client.patch("/ocpp/chargers/CP1/", {"min_current": "20", "max_current": "16"}, format="json")
    assert bad_range.status_code == 400 and "min_current" in bad_range.json()
    unknown = api_client.patch("/ocpp/chargers/CP1/", {"circuit": 424242}, format="json")
    assert unknown.status_code == 400 and "circuit" in unknown.json()
    ok = api_client.patch("/ocpp/chargers/CP1/", {"circuit": single.pk, "phases": 1}, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["phase"] == "L3"


def test_delete_refuses_a_circuit_with_sub_circuits_and_detaches_chargers(api_client):
    main = Circuit.objects.create(name="Main", max_current=Decimal("32"))
    feeder = Circuit.objects.create(name="Feeder", max_current=Decimal("16"), parent=main)
    make_charger("CP1", circuit=feeder)
    refused = api_client.delete(f"/ocpp/circuits/{main.pk}/")
    assert refused.status_code == 400 and "sub-circuits" in refused.json()["circuit"][0]
    assert api_client.delete(f"/ocpp/circuits/{feeder.pk}/").status_code == 204
    assert Charger.objects.get(charger_id="CP1").circuit_id is None
    assert api_client.get("/ocpp/circuits/").json()["results"][0]["name"] == "Main"


def test_the_circuits_api_needs_staff(client, db):
    assert client.get("/ocpp/circuits/").status_code in (401, 403)
