"""The admin's charger form applies the rules the handshake applies."""

import pytest
from django.urls import reverse

from ocpp_app.models import Charger
from ocpp_app.services.secrets import secret_verify
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


def test_the_admin_sets_and_removes_a_charger_password_never_showing_it(superuser_client):
    charger = Charger.objects.create(charger_id="CPW")
    url = reverse("admin:ocpp_app_charger_change", args=[charger.pk])
    too_short = superuser_client.post(url, charger_admin_form(new_password="short"))
    assert too_short.status_code == 200 and "16-40" in too_short.content.decode()
    assert Charger.objects.get(pk=charger.pk).password_hash == ""
    secret = "0123456789abcdef-admin"
    assert superuser_client.post(url, charger_admin_form(new_password=secret)).status_code == 302
    stored = Charger.objects.get(pk=charger.pk).password_hash
    assert stored and secret not in stored and secret_verify(password=secret, password_hash=stored)
    page = superuser_client.get(url).content.decode()
    assert secret not in page and stored not in page
    # Saving without a new one keeps it; removing clears it.
    assert superuser_client.post(url, charger_admin_form(name="kept")).status_code == 302
    assert Charger.objects.get(pk=charger.pk).password_hash == stored
    assert superuser_client.post(url, charger_admin_form(remove_password="on")).status_code == 302
    assert Charger.objects.get(pk=charger.pk).password_hash == ""
