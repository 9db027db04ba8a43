"""Operator pages need a login with a role (services/roles.py; every role and
write in test_roles.py); the landing page and its QR code are public."""

import pytest
from django.urls import reverse

from ocpp_app.tests.helpers import create_without_role, make_charger

pytestmark = pytest.mark.django_db

OPERATOR_PAGES = [
    ("ocpp:dashboard", []),
    ("ocpp:charger-view", ["CP1"]),
    ("ocpp:charger-chart", ["CP1"]),
    ("ocpp:log", ["CP1"]),
    ("ocpp:sessions", []),
    ("ocpp:sessions-csv", []),
]


@pytest.mark.parametrize(("name", "args"), OPERATOR_PAGES)
def test_it_redirects_anonymous_visitors_to_the_login(client, name, args):
    make_charger("CP1")
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/ocpp/login/?next=")


@pytest.mark.parametrize(("name", "args"), OPERATOR_PAGES)
def test_it_refuses_users_who_are_not_staff(client, name, args):
    make_charger("CP1")
    client.force_login(create_without_role())
    response = client.get(reverse(name, args=args))
    assert response.status_code == 403


@pytest.mark.parametrize(("name", "args"), OPERATOR_PAGES)
def test_it_serves_operator_pages_to_staff(staff_client, name, args):
    make_charger("CP1")
    assert staff_client.get(reverse(name, args=args)).status_code == 200


@pytest.mark.parametrize("name", ["ocpp:landing", "ocpp:qr-png", "ocpp:qr-svg"])
def test_it_serves_the_landing_page_and_qr_codes_without_login(client, name):
    make_charger("CP1")
    assert client.get(reverse(name, args=["CP1"])).status_code == 200


@pytest.mark.parametrize("name", ["ocpp:landing", "ocpp:qr-png", "ocpp:qr-svg"])
def test_it_answers_404_for_an_unknown_charger_on_public_pages(client, name):
    assert client.get(reverse(name, args=["NOPE"])).status_code == 404


def test_it_answers_404_for_an_unknown_charger_page(staff_client):
    assert staff_client.get(reverse("ocpp:charger-view", args=["NOPE"])).status_code == 404
