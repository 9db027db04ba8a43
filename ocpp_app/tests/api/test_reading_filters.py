"""The meter-reading filters of the API: a blank filter is no filter, and
transaction 0 is a transaction id like any other (none has it)."""

import pytest
from django.utils import timezone

from ocpp_app.models import MeterReading
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


def values(api_client, query: str) -> list[str]:
    return [row["value"] for row in api_client.get(f"/ocpp/chargers/CP1/meter-readings/{query}").json()["results"]]


@pytest.fixture
def readings():
    charger = make_charger("CP1")
    tx = make_session(charger, readings=1, meter_start=0, step_wh=500, power_w=7400)
    MeterReading.objects.create(charger=charger, connector_id=1, timestamp=timezone.now(), value="42")
    return tx


def test_it_treats_a_blank_filter_as_no_filter(api_client, readings):
    assert len(values(api_client, "?measurand=&transaction=&since=")) == 3


def test_it_filters_by_transaction_zero_rather_than_ignoring_it(api_client, readings):
    assert values(api_client, "?transaction=0") == []
    assert len(values(api_client, f"?transaction={readings.pk}")) == 2
