"""Logging out from the operator pages: a POST form (Django 5's logout view
takes no GET) in the top bar, with the user's name, only when logged in. The
pages' own logout view, not the admin's: that one logs out staff only."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name, args", [("ocpp:dashboard", []), ("ocpp:charger-view", ["CP1"]), ("ocpp:log", ["CP1"])])
def test_every_operator_page_offers_a_logout_form_with_the_user_name(staff_client, staff, name, args):
    make_charger("CP1")
    html = staff_client.get(reverse(name, args=args)).content.decode()
    form = re.search(r'<form class="logout" id="logout" method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form and form.group(1) == reverse("ocpp:logout")
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert f">{staff.get_username()}</span>" in form.group(2) and "Log out</button>" in form.group(2)


def test_the_form_logs_out_and_the_pages_then_ask_for_a_login(staff, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    html = client.get(reverse("ocpp:dashboard")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(reverse("ocpp:logout"), {"csrfmiddlewaretoken": token, "next": reverse("ocpp:dashboard")})
    assert response.status_code == 302 and response["Location"] == reverse("ocpp:dashboard")
    assert SESSION_KEY not in client.session
    again = client.get(reverse("ocpp:dashboard"))
    assert again.status_code == 302 and again["Location"].startswith("/ocpp/login/")


def test_public_pages_show_no_logout(client, staff_client):
    make_charger("CP1")
    for visitor in (client, staff_client):
        assert 'id="logout"' not in visitor.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
