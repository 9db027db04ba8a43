"""What a StatusNotification said about a fault (error code, vendor error
code, vendor id, info) and when a charger was last heard, on the charger page
and the dashboard."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from ocpp_app.models import Connector
from ocpp_app.tests.helpers import make_charger
from ocpp_app.web.dashboard import dashboard_update

pytestmark = pytest.mark.django_db
SEEN = datetime(2026, 3, 1, 12, 34, 56, tzinfo=UTC)
HEARTBEAT = datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


def faulted(charger_id: str = "CP1", **fields) -> None:
    charger = make_charger(charger_id, statuses=("Faulted", "Available"))
    Connector.objects.filter(charger=charger, connector_id=1).update(
        error_code="GroundFailure",
        vendor_error_code=fields.get("vendor_error_code", "E-4711"),
        vendor_id=fields.get("vendor_id", "com.acme.rcd"),
        info=fields.get("info", "RCD tripped <b>twice</b>"),
    )


def test_the_charger_page_shows_the_vendor_error_code_vendor_id_and_info(staff_client):
    faulted()
    html = staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    cell = html.split('data-fault-connector="1">', 1)[1].split("</td>", 1)[0]
    assert '<b class="error-code">GroundFailure</b>' in cell
    assert "vendor code <code>E-4711</code>" in cell
    assert "(com.acme.rcd)" in cell
    assert "· RCD tripped &lt;b&gt;twice&lt;/b&gt;" in cell  # charger text, escaped
    healthy = html.split('data-fault-connector="2">', 1)[1].split("</td>", 1)[0]
    assert "NoError" in healthy and "vendor" not in healthy


def test_the_dashboard_row_shows_a_faulted_connectors_details_and_only_those(staff_client):
    faulted()
    make_charger("OK1", statuses=("Available",))
    html = staff_client.get("/ocpp/").content.decode()
    row = html.split('data-charger-id="CP1"', 1)[1].split("</tr>", 1)[0]
    note = row.split('<div class="fault-note" data-fault-connector="1">', 1)[1].split("</div>", 1)[0]
    assert "#1" in note and "GroundFailure" in note and "E-4711" in note and "com.acme.rcd" in note
    assert 'data-fault-connector="2"' not in row
    healthy = html.split('data-charger-id="OK1"', 1)[1].split("</tr>", 1)[0]
    assert "fault-note" not in healthy


def test_a_live_update_carries_the_fault_details_and_last_seen():
    faulted()
    (row,) = dashboard_update(["CP1"])["chargers"]
    assert row["connectors"][0] == {
        "id": 1,
        "status": "Faulted",
        "error_code": "GroundFailure",
        "vendor_error_code": "E-4711",
        "vendor_id": "com.acme.rcd",
        "info": "RCD tripped <b>twice</b>",
    }
    assert "E-4711" in row["html"]


def test_last_seen_is_beside_last_heartbeat_on_both_pages(staff_client):
    make_charger("CP1", last_seen=SEEN, last_heartbeat=HEARTBEAT)
    page = staff_client.get(reverse("ocpp:charger-view", args=["CP1"])).content.decode()
    assert '<dd id="last-heartbeat">2026-03-01 12:00:05</dd>' in page
    assert '<dd id="last-seen" title="any message from the charger">2026-03-01 12:34:56</dd>' in page
    dashboard = staff_client.get("/ocpp/").content.decode()
    assert "<th>Last heartbeat</th><th>Last seen</th>" in dashboard
    seen_cell = dashboard.split('data-role="last-seen">', 1)[1].split("</td>", 1)[0]
    assert 'datetime="2026-03-01T12:34:56+00:00"' in seen_cell
    assert dashboard_update(["CP1"])["chargers"][0]["last_seen"] == "2026-03-01T12:34:56Z"


def test_never_is_only_for_a_charger_never_heard_from(staff_client):
    # Heard (a heartbeat) but without last_seen: it was seen then.
    make_charger("HEARD", connected=False, last_heartbeat=HEARTBEAT)
    make_charger("NEVER", connected=False)
    heard = staff_client.get(reverse("ocpp:charger-view", args=["HEARD"])).content.decode()
    assert '<dd id="last-seen" title="any message from the charger">2026-03-01 12:00:05</dd>' in heard
    never = staff_client.get(reverse("ocpp:charger-view", args=["NEVER"])).content.decode()
    assert '<dd id="last-seen" title="any message from the charger">never</dd>' in never
    dashboard = staff_client.get("/ocpp/").content.decode()
    cells = [part.split("</td>", 1)[0] for part in dashboard.split('data-role="last-seen">')[1:]]
    assert ["never" in cell for cell in cells] == [False, True]  # HEARD, NEVER (by id)
