"""A charger's security profile is the operator's to set, in the REST API and
the admin: 0-3, or null for the site default."""

import pytest

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import charger_admin_form, create_charger

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", [0, 1, 2, 3, None])
def test_the_api_sets_a_security_profile(api_client, value):
    create_charger("CP1", security_profile=2 if value is None else None)
    response = api_client.patch("/ocpp/chargers/CP1/", {"security_profile": value}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["security_profile"] == value
    assert Charger.objects.get(charger_id="CP1").security_profile == value


@pytest.mark.parametrize("value", [4, -1, "high", 2.5, True])
def test_the_api_refuses_anything_else_with_400(api_client, value):
    create_charger("CP1", security_profile=1)
    response = api_client.patch("/ocpp/chargers/CP1/", {"security_profile": value}, format="json")
    assert response.status_code == 400
    assert "security_profile" in response.json()
    assert Charger.objects.get(charger_id="CP1").security_profile == 1


def test_the_admin_form_sets_a_security_profile(superuser_client):
    charger = create_charger("CP1")
    response = superuser_client.post(
        f"/admin/ocpp_app/charger/{charger.pk}/change/", charger_admin_form(security_profile="3")
    )
    assert response.status_code == 302, response.content[:2000]
    assert Charger.objects.get(charger_id="CP1").security_profile == 3
