"""Malformed input in a page's URL, in its path or its query, is a 404, a 400
naming it (the message log's filters) or is ignored: never a server error."""

import pytest
from django.urls import reverse

from ocpp_app.models import Charger

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["ocpp:landing", "ocpp:qr-png", "ocpp:log", "ocpp:charger-view"])
def test_a_nul_in_a_page_url_is_a_404_not_a_server_error(admin_client, name):
    url = reverse(name, args=["CP1"]).replace("CP1", "a%00b")
    assert admin_client.get(url).status_code == 404


@pytest.mark.parametrize("query", ["since=0001-01-01T00:00:00%2B05:00", "until=9999-12-31T23:59:59-05:00"])
def test_an_out_of_range_filter_date_is_never_a_server_error(admin_client, query):
    Charger.objects.create(charger_id="CP1")
    log = admin_client.get(reverse("ocpp:log", args=["CP1"]) + "?" + query)
    assert log.status_code == 400 and "date-time out of range" in log.content.decode()
    assert admin_client.get(reverse("ocpp:sessions") + "?" + query).status_code == 200
