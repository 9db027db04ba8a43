"""GET /ocpp/chargers/<id>/events/: a charger's events, newest first, with the
critical flag of security events and ?critical= and ?kind= filters."""

import json

import pytest

from ocpp_app.models import ChargerEventKind
from ocpp_app.services.notifications import charger_event_record
from ocpp_app.tests.helpers import call, charger_socket, make_charger

URL = "/ocpp/chargers/CP1/events/"


def record(event_type: str, kind: str = ChargerEventKind.SECURITY) -> None:
    charger_event_record(charger_id="CP1", kind=kind, status=event_type, payload={"type": event_type})


@pytest.mark.django_db
def test_events_carry_the_critical_flag_and_filter_by_it(api_client):
    make_charger("CP1")
    record("ResetOrReboot")
    record("InvalidTLSCipherSuite")
    record("Downloading", ChargerEventKind.SIGNED_FIRMWARE)
    every = api_client.get(URL).json()["results"]
    assert [(e["status"], e["critical"]) for e in every] == [
        ("Downloading", False),
        ("InvalidTLSCipherSuite", False),
        ("ResetOrReboot", True),
    ]
    assert [e["status"] for e in api_client.get(URL + "?critical=1").json()["results"]] == ["ResetOrReboot"]
    others = api_client.get(URL + "?critical=0").json()["results"]
    assert [e["status"] for e in others] == ["Downloading", "InvalidTLSCipherSuite"]
    security = api_client.get(URL + "?kind=security").json()["results"]
    assert [e["status"] for e in security] == ["InvalidTLSCipherSuite", "ResetOrReboot"]


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "field"), [("?critical=maybe", "critical"), ("?kind=gossip", "kind")])
def test_a_bad_filter_is_a_clear_400(api_client, query, field):
    make_charger("CP1")
    response = api_client.get(URL + query)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_an_unknown_charger_is_404(api_client):
    assert api_client.get("/ocpp/chargers/NOPE/events/").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_critical_event_sent_by_a_charger_is_flagged(api_client):
    async with charger_socket() as comm:
        payload = {"type": "TamperDetectionActivated", "timestamp": "2026-03-01T10:00:00Z", "techInfo": "door"}
        assert (await call(comm, "SecurityEventNotification", payload))[0] == 3
    from asgiref.sync import sync_to_async

    response = await sync_to_async(api_client.get)(URL + "?critical=1")
    events = json.loads(response.content)["results"]
    assert [(e["status"], e["critical"], e["payload"]["techInfo"]) for e in events] == [
        ("TamperDetectionActivated", True, "door")
    ]
