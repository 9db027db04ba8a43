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
    with django_assert_max_num_queries(7):  # session, user, role (2), charger exists, the page
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


# -- search (?q=) ------------------------------------------------------------------------


def texts_of(response) -> list:
    return [m.payload for m in response.context["page"].rows]


def test_the_search_finds_an_id_tag_a_transaction_id_and_a_key(staff_client):
    log(action="Authorize", payload={"idTag": "RFID-CAFE42"})
    log(action="StopTransaction", payload={"transactionId": 90125, "meterStop": 10, "idTag": "OTHER"})
    log(action="DataTransfer", payload={"vendorId": "acme", "data": "x"})
    log(cid="CP2", action="Authorize", payload={"idTag": "RFID-CAFE42"})
    url = reverse("ocpp:log", args=["CP1"])
    assert texts_of(staff_client.get(url + "?q=rfid-cafe")) == [{"idTag": "RFID-CAFE42"}]  # any case
    assert [p["transactionId"] for p in texts_of(staff_client.get(url + "?q=90125"))] == [90125]
    assert texts_of(staff_client.get(url + "?q=vendorId")) == [{"vendorId": "acme", "data": "x"}]
    assert texts_of(staff_client.get(url + "?q=idTag&action=StopTransaction"))[0]["idTag"] == "OTHER"
    response = staff_client.get(url + "?q=nothing-like-it")
    assert response.status_code == 200 and "No message contains “nothing-like-it”" in response.content.decode()


def test_the_search_finds_quotes_percent_signs_and_non_ascii_text(staff_client):
    log(action="Authorize", payload={"idTag": 'Zoë "7" 100%'})
    log(action="Authorize", payload={"idTag": "plain"})
    url = reverse("ocpp:log", args=["CP1"])
    for q in ["zoë", '"7"', "100%"]:
        assert texts_of(staff_client.get(url, {"q": q})) == [{"idTag": 'Zoë "7" 100%'}], q
    assert texts_of(staff_client.get(url, {"q": "%"})) == [{"idTag": 'Zoë "7" 100%'}]  # not a wildcard


def test_the_search_pages_through_its_matches(staff_client):
    log(n=250, action="Heartbeat", payload={"idTag": "HIT"})
    log(n=50, action="Heartbeat", payload={"idTag": "MISS"})
    url = reverse("ocpp:log", args=["CP1"])
    hits = sorted(MessageLog.objects.filter(payload__idTag="HIT").values_list("id", flat=True), reverse=True)
    first = staff_client.get(url + "?q=HIT")
    assert ids_of(first) == hits[:100]
    second = staff_client.get(url + f"?q=HIT&before={first.context['page'].older_cursor}")
    assert ids_of(second) == hits[100:200]
    back = staff_client.get(url + f"?q=HIT&after={second.context['page'].newer_cursor}")
    assert ids_of(back) == hits[:100]


def test_the_search_reads_a_bounded_window_then_offers_to_go_on(staff_client, django_assert_max_num_queries):
    log(n=1, payload={"idTag": "NEEDLE"})  # the oldest message
    log(n=selectors.message_log.SEARCH_WINDOW + 10, payload={"idTag": "HAY"})
    url = reverse("ocpp:log", args=["CP1"])
    newest_first = list(MessageLog.objects.order_by("-id").values_list("id", flat=True))
    # session, user, role (2), window edge, matches, charger exists, log exists
    with django_assert_max_num_queries(8):
        first = staff_client.get(url + "?q=needle")
    page = first.context["page"]
    assert page.rows == [] and page.window_full
    assert page.older_cursor == newest_first[selectors.message_log.SEARCH_WINDOW - 1]
    html = first.content.decode()
    assert f"Searched {selectors.message_log.SEARCH_WINDOW} messages without a match" in html
    assert f"before={page.older_cursor}" in html
    further = staff_client.get(url + f"?q=needle&before={page.older_cursor}")
    assert texts_of(further) == [{"idTag": "NEEDLE"}]
    assert not further.context["page"].window_full and further.context["page"].older_cursor is None


def test_the_search_never_matches_a_redacted_secret(staff_client):
    # A row written before the log was redacted on its way in.
    secret = "0123456789abcdef-secret"
    log(action="ChangeConfiguration", direction="out", payload={"key": "AuthorizationKey", "value": secret})
    url = reverse("ocpp:log", args=["CP1"])
    assert ids_of(staff_client.get(url, {"q": secret[:12]})) == []
    shown = staff_client.get(url, {"q": "AuthorizationKey"})
    assert [p["key"] for p in texts_of(shown)] == ["AuthorizationKey"]
    assert secret not in shown.content.decode()
    assert secret not in staff_client.get(url).content.decode()


# -- bad filter values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("before=abc", "before"),
        ("after=-3", "after"),
        ("before=99999999999999999999", "before"),
        ("before=5&after=2", "after"),
        ("action=NoSuchAction", "action"),
        ("direction=sideways", "direction"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00", "until"),
        ("page=2", "page"),
        ("q=" + "x" * 201, "q"),
        ("q=a%00b", "q"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_the_parameter(staff_client, query, parameter):
    log(n=3)
    response = staff_client.get(reverse("ocpp:log", args=["CP1"]) + "?" + query)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<li data-parameter="{parameter}"><code>{parameter}</code>:' in html
    assert '<form class="filters"' in html  # the page, with its form to fix the filter
    assert ids_of(response) == []  # nothing shown as if the filter had been applied


def test_every_bad_parameter_is_named_at_once(staff_client):
    log(n=1)
    response = staff_client.get(reverse("ocpp:log", args=["CP1"]) + "?before=x&direction=up&action=Nope")
    assert response.status_code == 400
    assert set(response.context["errors"]) == {"before", "direction", "action"}


def test_an_action_in_another_case_is_that_action(staff_client):
    log(action="Heartbeat")
    log(action="MeterValues")
    response = staff_client.get(reverse("ocpp:log", args=["CP1"]) + "?action=heartbeat&direction=in")
    assert response.status_code == 200
    assert [m.action for m in response.context["page"].rows] == ["Heartbeat"]


def test_empty_filter_values_are_no_filter(staff_client):
    log(n=2)
    response = staff_client.get(reverse("ocpp:log", args=["CP1"]) + "?q=&action=&direction=&since=&until=&before=")
    assert response.status_code == 200 and len(ids_of(response)) == 2
