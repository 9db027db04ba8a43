"""The sessions page and its CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def two_chargers():
    a, b = make_charger("A"), make_charger("B")
    old = make_session(a, id_tag="OLD", readings=2, stop=True, start=timezone.now() - timedelta(days=10))
    live = make_session(a, id_tag="LIVE", readings=3, step_wh=100)
    other = make_session(
        b, id_tag="=cmd|' /C calc'!A0", readings=1, stop=True, start=timezone.now() - timedelta(days=1)
    )
    return old, live, other


def test_it_lists_sessions_with_energy(staff_client, two_chargers):
    response = staff_client.get(reverse("ocpp:sessions"))
    html = response.content.decode()
    assert response.context["page"].paginator.count == 3
    assert "0.300 kWh" in html  # the running one: 3 x 100 Wh so far
    assert "1.000 kWh" in html


@pytest.mark.parametrize(
    ("query", "tags"),
    [
        ("charger=A", {"OLD", "LIVE"}),
        ("id_tag=OLD", {"OLD"}),
        ("state=active", {"LIVE"}),
        ("state=stopped", {"OLD", "=cmd|' /C calc'!A0"}),
    ],
)
def test_it_filters_sessions(staff_client, two_chargers, query, tags):
    response = staff_client.get(reverse("ocpp:sessions") + "?" + query)
    assert {tx.id_tag for tx in response.context["page"].object_list} == tags


def test_it_filters_sessions_by_date(staff_client, two_chargers):
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    response = staff_client.get(reverse("ocpp:sessions") + f"?since={since}")
    assert {tx.id_tag for tx in response.context["page"].object_list} == {"LIVE", "=cmd|' /C calc'!A0"}


def test_it_exports_the_filtered_sessions_as_csv(staff_client, two_chargers):
    old, live, _ = two_chargers
    response = staff_client.get(reverse("ocpp:sessions-csv") + "?charger=A")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert [int(r["transaction_id"]) for r in rows] == [live.pk, old.pk]
    assert rows[0]["energy_wh"] == "300" and rows[0]["stop_time"] == ""
    assert rows[1]["energy_wh"] == "1000"


def test_it_neutralises_formulas_in_the_csv(staff_client, two_chargers):
    rows = csv_rows(staff_client.get(reverse("ocpp:sessions-csv") + "?charger=B"))
    assert rows[0]["id_tag"] == "'=cmd|' /C calc'!A0"


def test_the_sessions_page_runs_a_fixed_number_of_queries(staff_client, django_assert_max_num_queries):
    for i in range(30):
        make_session(make_charger(f"C{i}"), readings=2)
    with django_assert_max_num_queries(7):  # 2 of them the role's permissions
        staff_client.get(reverse("ocpp:sessions"))
