"""A page that finds nothing answers a 404 page in the site's layout, readable
on a phone, saying what was not found; the message log of an id no charger
and no logged message has is one of them."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.models import Charger, MessageLog
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
HEADING = "<h1>Not found</h1>"


def log(cid: str, n: int) -> None:
    MessageLog.objects.bulk_create(
        MessageLog(
            charger_id=cid,
            direction="in",
            message_type=2,
            action="Heartbeat",
            message_id=f"m{i}",
            payload={},
            timestamp=timezone.now(),
        )
        for i in range(n)
    )


def assert_styled_404(response, *words: str) -> str:
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    html = response.content.decode()
    assert VIEWPORT in html
    assert 'href="/static/ocpp/app.css"' in html
    assert HEADING in html
    for word in words:
        assert word in html
    return html


def test_the_charger_page_of_an_unknown_charger_is_a_styled_404_with_a_way_back(staff_client):
    make_charger("CP1")
    assert staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).status_code == 200
    html = assert_styled_404(
        staff_client.get(reverse("ocpp:charger-view", args=["NOPE"])), "There is no charger with the id “NOPE”."
    )
    assert '<a href="/ocpp/">Back to the dashboard</a>' in html


def test_a_transaction_the_charger_does_not_have_is_a_styled_404(staff_client):
    charger = make_charger("CP1")
    tx = make_session(charger)
    other = make_session(make_charger("CP2"))
    url = reverse("ocpp:charger-view", args=["CP1"])
    assert staff_client.get(f"{url}?tx={tx.pk}").status_code == 200
    assert_styled_404(staff_client.get(f"{url}?tx=999999"), "Charger “CP1” has no transaction 999999.")
    assert_styled_404(staff_client.get(f"{url}?tx={other.pk}"), f"Charger “CP1” has no transaction {other.pk}.")


def test_the_landing_page_of_an_unknown_charger_is_a_styled_404_that_shows_nothing_private(client):
    make_charger("CP1")
    assert client.get(reverse("ocpp:landing", args=["CP1"])).status_code == 200
    html = assert_styled_404(
        client.get(reverse("ocpp:landing", args=["NOPE"])), "There is no charger with the id “NOPE”."
    )
    assert '<body class="public">' in html
    for private in ("/ocpp/", "/ocpp/sessions/", "/admin/"):
        assert f'href="{private}"' not in html


def test_an_odd_unknown_id_is_named_escaped(client):
    response = client.get(reverse("ocpp:landing", args=["<b>CP 1#ü"]))
    assert_styled_404(
        response, "There is no charger with the id “&lt;b&gt;CP 1#ü”.", "<code>/ocpp/c/%3Cb%3ECP%201%23ü/</code>"
    )
    assert "<b>CP" not in response.content.decode()
    assert_styled_404(client.get("/ocpp/c/a%00b/"), "<code>/ocpp/c/a%00b/</code>")


def test_an_address_no_route_matches_is_a_styled_404(staff_client):
    assert staff_client.get(reverse("ocpp:dashboard")).status_code == 200
    assert_styled_404(staff_client.get("/ocpp/nope/"), "There is no page at this address.", "<code>/ocpp/nope/</code>")
    assert_styled_404(staff_client.get("/ocpp/chargers/CP1/view/nope/"), "There is no page at this address.")


def test_the_message_log_of_an_id_without_charger_or_messages_is_a_404(staff_client):
    assert_styled_404(
        staff_client.get(reverse("ocpp:log", args=["NOPE"])),
        "There is no charger and no logged message with the id “NOPE”.",
    )
    assert_styled_404(staff_client.get(reverse("ocpp:log", args=["NOPE"]) + "?action=Heartbeat&before=5"))


def test_the_message_log_stays_readable_while_a_charger_or_its_messages_exist(staff_client):
    make_charger("QUIET")  # a charger that never spoke: an empty log
    make_charger("GONE")
    log("GONE", 2)
    Charger.objects.filter(charger_id="GONE").delete()  # its messages stay
    quiet = staff_client.get(reverse("ocpp:log", args=["QUIET"]))
    assert quiet.status_code == 200 and "No messages." in quiet.content.decode()
    gone = staff_client.get(reverse("ocpp:log", args=["GONE"]))
    assert gone.status_code == 200 and len(gone.context["page"].rows) == 2
    # A filter that matches none of its messages is an empty page, not a 404.
    filtered = staff_client.get(reverse("ocpp:log", args=["GONE"]) + "?action=BootNotification")
    assert filtered.status_code == 200 and "No messages." in filtered.content.decode()
    assert_styled_404(staff_client.get(reverse("ocpp:log", args=["NOPE"])))
