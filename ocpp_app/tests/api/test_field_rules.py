"""The API applies the shared field rules: RFID id tags, charger ids and
positions, and the one date-time rule of its filters."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ocpp_app.models import RFID, Charger, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_client):
    """Every test here speaks to the API as the operator, with a token."""
    return api_client


@pytest.mark.parametrize(
    ("id_tag", "message"),
    [
        ("A\x01B", "Id tag contains characters that are not printable."),
        ("A\tB", "Id tag contains characters that are not printable."),
        ("A\x85B", "Id tag contains characters that are not printable."),
        ("A/B", "Id tag contains a slash."),
    ],
)
def test_it_refuses_an_id_tag_that_is_not_printable_or_has_a_slash_with_a_clear_message(client, id_tag, message):
    response = client.post("/ocpp/rfids/", {"id_tag": id_tag}, format="json")
    assert response.status_code == 400
    assert response.json() == {"id_tag": [message]}
    assert not RFID.objects.exists()


def test_it_refuses_a_parent_id_tag_with_control_characters(client):
    response = client.post("/ocpp/rfids/", {"id_tag": "CARD1", "parent_id_tag": "P\x07"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"parent_id_tag": ["Id tag contains characters that are not printable."]}


def test_it_accepts_a_printable_id_tag_with_spaces_and_a_parent(client):
    response = client.post("/ocpp/rfids/", {"id_tag": "04 A2 B3 ÜC", "parent_id_tag": "FLEET-1"}, format="json")
    assert response.status_code == 201, response.json()
    assert RFID.objects.get(id_tag="04 A2 B3 ÜC").parent_id_tag == "FLEET-1"


def test_it_refuses_a_charger_id_with_a_c1_control_character(client):
    response = client.post("/ocpp/chargers/", {"charger_id": "CP\x851"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"charger_id": ["Charger id contains control characters."]}


@pytest.mark.parametrize(("field", "value"), [("latitude", "90.000001"), ("longitude", "-180.5")])
def test_it_refuses_an_impossible_position(client, field, value):
    Charger.objects.create(charger_id="P1")
    response = client.patch("/ocpp/chargers/P1/", {field: value}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert getattr(Charger.objects.get(charger_id="P1"), field) is None


def test_a_url_naming_an_id_with_a_control_character_is_404(client):
    Charger.objects.create(charger_id="a\x85b")  # only possible behind the rules' back
    assert client.get("/ocpp/chargers/a%C2%85b/").status_code == 404


def test_it_reads_a_filter_time_without_offset_as_utc_whatever_the_current_time_zone(client):
    charger = Charger.objects.create(charger_id="T1")
    early = Transaction.objects.create(
        charger=charger, connector_id=1, id_tag="A", meter_start=0, start_time=datetime(2026, 3, 1, 10, tzinfo=UTC)
    )
    Transaction.objects.create(
        charger=charger, connector_id=2, id_tag="A", meter_start=0, start_time=datetime(2026, 3, 1, 14, tzinfo=UTC)
    )
    with timezone.override("America/Mexico_City"):  # UTC-6: 12:00 there is 18:00 UTC
        response = client.get("/ocpp/transactions/?until=2026-03-01T12:00:00")
    assert response.status_code == 200
    assert [row["transaction_id"] for row in response.json()["results"]] == [early.pk]
