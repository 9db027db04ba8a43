"""The message log page: rendered payloads, filters, keyset pagination, fast on big tables."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from ocpp_app import selectors
from ocpp_app.models import MessageLog

pytestmark = pytest.mark.django_db


def log(cid="CP1", n=1, **fields):
    now = timezone.now()
    rows = [
        MessageLog(
            charger_id=cid,
            direction=fields.get("direction", "in"),
            message_type=fields.get("message_type", 2),
            action=fields.get("action", "Heartbeat"),
            message_id=f"m{i}",
            payload=fields.get("payload", {"i": i}),
            timestamp=fields.get("timestamp", now + timedelta(milliseconds=i)),
        )
        for i in range(n)
    ]
    MessageLog.objects.bulk_create(rows, batch_size=5000)


def ids_of(response) -> list[int]:
    return [m.id for m in response.context["page"].rows]


def test_it_renders_direction_action_message_id_and_pretty_payload(staff_client):
    log(action="BootNotification", payload={"chargePointVendor": "Acme", "chargePointModel": "<X1>"})
    html = staff_client.get(reverse("ocpp:log", args=["CP1"])).content.decode()
    assert "BootNotification" in html
    assert "m0" in html
    assert "⇐ in" in html
    assert '"chargePointVendor": "Acme"' in html.replace("&quot;", '"')
    assert "<X1>" not in html  # escaped


def test_it_filters_by_action_direction_and_time(staff_client):
    base = timezone.now().replace(microsecond=0) - timedelta(hours=5)
    log(action="Heartbeat", timestamp=base)
    log(action="MeterValues", direction="out", message_type=3, timestamp=base + timedelta(hours=1))
    log(action="MeterValues", timestamp=base + timedelta(hours=2))
    log(cid="OTHER", action="MeterValues", timestamp=base + timedelta(hours=2))
    url = reverse("ocpp:log", args=["CP1"])
    assert len(ids_of(staff_client.get(url))) == 3
    assert len(ids_of(staff_client.get(url + "?action=MeterValues"))) == 2
    assert len(ids_of(staff_client.get(url + "?action=MeterValues&direction=out"))) == 1
    since = (base + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    until = (base + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%S")
    only = staff_client.get(url + f"?since={since}&until={until}")
    assert [m.action for m in only.context["page"].rows] == ["MeterValues"]


def test_it_pages_with_keyset_cursors_both_ways(staff_client):
    log(n=250)
    url = reverse("ocpp:log", args=["CP1"])
    first = staff_client.get(url)
    all_ids = sorted(MessageLog.objects.values_list("id", flat=True), reverse=True)
    assert ids_of(first) == all_ids[:100]
    page = first.context["page"]
    assert page.newer_cursor is None
    second = staff_client.get(url + f"?before={page.older_cursor}")
    assert ids_of(second) == all_ids[100:200]
    third = staff_client.get(url + f"?before={second.context['page'].older_cursor}")
    assert ids_of(third) == all_ids[200:]
    assert third.context["page"].older_cursor is None
    back = staff_client.get(url + f"?after={third.context['page'].newer_cursor}")
    assert ids_of(back) == all_ids[100:200]


def test_it_stays_on_the_index_with_100000_messages(staff_client, django_assert_max_num_queries):
    log(n=100_000)
    log(cid="OTHER", n=1000)
    url = reverse("ocpp:log", args=["CP1"])
    cursor = MessageLog.objects.filter(charger_id="CP1").order_by("-id").values_list("id", flat=True)[50_000]
    with django_assert_max_num_queries(5):  # session, user, charger exists, the page
        response = staff_client.get(url + f"?before={cursor}&action=Heartbeat")
    assert len(ids_of(response)) == 100
    assert ids_of(response)[0] == cursor - 1


@pytest.mark.skipif(connection.vendor != "sqlite", reason="plan text is SQLite's")
def test_the_page_query_is_an_index_range_scan_not_a_sort():
    log(n=10)
    qs = MessageLog.objects.filter(charger_id="CP1", id__lt=10**9).order_by("-id")[:101]
    plan = qs.explain()
    assert "msglog_charger" in plan
    assert "TEMP B-TREE" not in plan  # no sort of the whole table
    with_action = MessageLog.objects.filter(charger_id="CP1", action="Heartbeat").order_by("-id")[:101].explain()
    assert "msglog_charger_action" in with_action and "TEMP B-TREE" not in with_action


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plan text is PostgreSQL's")
def test_the_page_query_can_walk_the_index_without_a_sort_on_postgresql():
    log(n=10)
    with connection.cursor() as cursor:
        # A tiny table is always scanned and sorted; ask whether the index can
        # serve the page in order at all (a Sort left in the plan says no).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    qs = MessageLog.objects.filter(charger_id="CP1", id__lt=10**9).order_by("-id")[:101]
    plan = qs.explain()
    assert "msglog_charger" in plan and "Sort" not in plan
    with_action = MessageLog.objects.filter(charger_id="CP1", action="Heartbeat").order_by("-id")[:101].explain()
    assert "msglog_charger_action" in with_action and "Sort" not in with_action


def test_it_shows_an_empty_log_when_no_message_matches_the_filters(staff_client):
    log(cid="GHOST", action="Heartbeat")  # logged, no charger row (refused or deleted)
    response = staff_client.get(reverse("ocpp:log", args=["GHOST"]) + "?action=BootNotification")
    assert response.status_code == 200
    assert "No messages." in response.content.decode()


def test_the_selector_ignores_other_chargers():
    log(cid="A", n=3)
    log(cid="B", n=2)
    page = selectors.message_log_page(charger_id="B")
    assert {m.charger_id for m in page.rows} == {"B"} and len(page.rows) == 2
