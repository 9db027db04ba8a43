"""The admin's charger form applies the rules the handshake applies."""

import pytest
from django.urls import reverse

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import charger_admin_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("bad", ["CP\x851", "CP\x9f1", "."])
def test_it_refuses_ids_the_handshake_refuses(superuser_client, bad):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), charger_admin_form(charger_id=bad))
    assert response.status_code == 200  # the form again, with the error
    assert not Charger.objects.exists()


def test_it_says_why_an_id_is_refused(superuser_client):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), charger_admin_form(charger_id="a/b"))
    assert "Charger id contains a slash." in response.content.decode()


def test_it_stores_an_id_with_surrounding_whitespace_stripped(superuser_client):
    response = superuser_client.post(reverse("admin:ocpp_app_charger_add"), charger_admin_form(charger_id="  CP 7  "))
    assert response.status_code == 302
    assert Charger.objects.filter(charger_id="CP 7").exists()
