"""The public landing page: status, connectors, the masked session in progress and its energy, QR code."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.selectors import mask_id_tag
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


def test_it_shows_status_connectors_and_the_session_in_progress_without_login(client):
    charger = make_charger("CP1", name="Plaza Norte", statuses=("Charging", "Available"))
    make_session(
        charger, id_tag="SECRET-TAG-42", readings=2, step_wh=1000, stop=True, start=timezone.now() - timedelta(days=1)
    )
    make_session(charger, id_tag="LIVETAG99", readings=1, step_wh=500)
    response = client.get(reverse("ocpp:landing", args=["CP1"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Plaza Norte" in html
    assert "Online" in html
    assert "st-charging" in html and "st-ok" in html
    assert "0.500 kWh" in html  # the session in progress
    assert "2.000 kWh" not in html and "••••42" not in html  # never a finished one
    assert "2.500 kWh" not in html  # nor the total, a sum of other people's sessions
    assert 'name="viewport"' in html


def test_it_never_shows_a_full_id_tag(client):
    charger = make_charger("CP1", statuses=("Charging", "Charging"))
    make_session(charger, id_tag="SECRET-TAG-42")
    make_session(charger, connector_id=2, id_tag="ABCD")
    html = client.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
    assert "SECRET-TAG-42" not in html and "SECRET" not in html
    assert "ABCD" not in html
    assert "••••42" in html


def test_it_embeds_the_qr_code_image(client):
    make_charger("CP1")
    html = client.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
    assert 'src="data:image/png;base64,' in html


def test_it_has_no_operator_links(client):
    make_charger("CP1")
    html = client.get(reverse("ocpp:landing", args=["CP1"])).content.decode()
    assert "/admin/" not in html and "/ocpp/log/" not in html


def test_it_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    charger = make_charger("CP1", statuses=("Charging", "Available"))
    for day in range(20):
        make_session(charger, connector_id=2, stop=True, start=timezone.now() - timedelta(days=day + 1))
    make_session(charger)
    with django_assert_max_num_queries(6):
        client.get(reverse("ocpp:landing", args=["CP1"]))


@pytest.mark.parametrize(
    ("tag", "masked"), [("", ""), ("AB", "••••"), ("ABCD", "••••"), ("ABCDE", "••••DE"), ("04A1B2C3D4E5F6", "••••F6")]
)
def test_mask_id_tag(tag, masked):
    assert mask_id_tag(tag) == masked


def test_it_does_not_publish_transaction_ids(client):
    other = make_charger("OTHER")
    for day in range(7):  # so the id differs from every number on the page
        make_session(other, stop=True, start=timezone.now() - timedelta(days=day + 1))
    charger = make_charger("CP1", statuses=("Charging",))
    tx = make_session(charger, id_tag="TAG-XYZ")
    response = client.get(reverse("ocpp:landing", args=["CP1"]))
    assert "number" not in response.context["sessions"][0]
    assert f">{tx.pk}<" not in response.content.decode()
