"""The pagers of the list pages keep the filters of the page they are on and
drop only the page number or cursor they replace."""

import pytest
from django.urls import reverse

from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db


def test_it_keeps_the_dashboard_filters_in_its_page_links(staff_client):
    make_charger("CP1", vendor="Acme")
    response = staff_client.get(reverse("ocpp:dashboard") + "?vendor=Acme&page=2&q=CP")
    assert response.context["page_query"] == "vendor=Acme&q=CP"


def test_it_keeps_the_session_filters_in_its_page_links(staff_client):
    response = staff_client.get(reverse("ocpp:sessions") + "?page=3&charger=CP1&state=active")
    assert response.context["query"] == "charger=CP1&state=active"


def test_it_keeps_the_log_filters_and_drops_both_cursors(staff_client):
    make_charger("CP1")
    url = reverse("ocpp:log", args=["CP1"]) + "?before=40&action=Heartbeat&after=7&direction=in"
    response = staff_client.get(url)
    assert response.context["filter_query"] == "action=Heartbeat&direction=in"
