"""The admin's charger form applies the rules the handshake applies."""

import pytest
from django.urls import reverse

from ocpp_app.models import Charger

pytestmark = pytest.mark.django_db


def add_data(charger_id: str) -> dict:
    return {
        "charger_id": charger_id,
        "name": "",
        "registration_status": "Accepted",
        "config": "{}",
        "latitude": "",
        "longitude": "",
        "connectors-TOTAL_FORMS": "0",
        "connectors-INITIAL_FORMS": "0",
        "connectors-MIN_NUM_FORMS": "0",
        "connectors-MAX_NUM_FORMS": "1000",
    }


@pytest.mark.parametrize("bad", ["CP\x851", "CP\x9f1", "."])
def test_it_refuses_ids_the_handshake_refuses(superuser_client, bad):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), add_data(bad))
    assert response.status_code == 200  # the form again, with the error
    assert not Charger.objects.exists()


def test_it_says_why_an_id_is_refused(superuser_client):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), add_data("a/b"))
    assert "Charger id contains a slash." in response.content.decode()


def test_it_stores_an_id_with_surrounding_whitespace_stripped(superuser_client):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), add_data("  CP 7  "))
    assert response.status_code == 302
    assert Charger.objects.filter(charger_id="CP 7").exists()
