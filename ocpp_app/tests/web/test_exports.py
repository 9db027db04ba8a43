"""The transactions CSV export: the sessions page and the REST API give the
same columns, the same cells and the same protection against formulas."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from ocpp_app.models import Transaction
from ocpp_app.tests.helpers import make_charger, make_session
from ocpp_app.web.exports import TRANSACTION_COLUMNS

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def exports(staff_client, api_client):
    """Both exports of one filter, as lists of rows (header first)."""

    def read(query: str = "") -> dict[str, list[list[str]]]:
        pages = {
            "web": staff_client.get(reverse("ocpp:sessions-csv") + query),
            "api": api_client.get("/ocpp/transactions/export.csv" + query),
        }
        out = {}
        for name, response in pages.items():
            assert response.status_code == 200, name
            out[name] = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        return out

    return read


def test_both_exports_give_the_same_columns_and_cells(exports):
    charger = make_charger("CP1")
    make_session(charger, id_tag="DONE", readings=2, stop=True, start=T0)
    make_session(charger, id_tag="LIVE", readings=3, step_wh=100, start=T0.replace(day=2))
    both = exports()
    assert both["web"] == both["api"]
    header, live, done = both["web"]
    assert header == [
        "transaction_id",
        "charger_id",
        "connector_id",
        "id_tag",
        "meter_start",
        "meter_stop",
        "start_time",
        "stop_time",
        "stop_reason",
        "energy_wh",
    ]
    assert live[3] == "LIVE" and live[7] == "" and live[9] == "300"  # energy so far of a running session
    assert done[3] == "DONE" and done[6] == "2026-03-01T12:00:00Z" and done[9] == "1000"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_both_exports_quote_text_that_starts_like_a_formula(exports, start):
    make_session(make_charger("CP1"), id_tag=start + "1", readings=0)
    for name, rows in exports().items():
        assert rows[1][3] == "'" + start + "1", name  # even "-1": an id tag is text, not a number


def test_numbers_are_never_quoted(exports):
    Transaction.objects.create(charger=make_charger("CP1"), connector_id=1, id_tag="T", meter_start=-5, start_time=T0)
    for name, rows in exports().items():
        assert rows[1][4] == "-5", name


def test_both_exports_apply_the_same_filters(exports):
    make_session(make_charger("A"), id_tag="AT", start=T0)
    make_session(make_charger("B"), id_tag="BT", start=T0.replace(day=3))
    for query, tags in [("?charger=A", ["AT"]), ("?id_tag=BT", ["BT"]), ("?since=2026-03-02T00:00:00Z", ["BT"])]:
        for name, rows in exports(query).items():
            assert [row[3] for row in rows[1:]] == tags, (name, query)


def test_the_exports_and_the_api_resource_share_one_column_order(exports, api_client):
    make_session(make_charger("CP1"), id_tag="DONE", readings=2, stop=True, start=T0)
    both = exports()
    assert both["web"][0] == both["api"][0] == TRANSACTION_COLUMNS
    (listed,) = api_client.get("/ocpp/transactions/").json()["results"]
    assert list(listed) == TRANSACTION_COLUMNS  # the JSON keys, in the same order
    for name, rows in both.items():
        cells = dict(zip(rows[0], rows[1], strict=True))
        assert cells == {key: "" if value is None else str(value) for key, value in listed.items()}, name
