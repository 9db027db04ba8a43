"""The dashboard WebSocket: staff only, pushes re-rendered rows, coalesces events."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from ocpp_app.models import Connector
from ocpp_app.runtime import events
from ocpp_app.tests.helpers import create_staff, create_without_role, make_charger
from ocpp_app.web.dashboard import DashboardConsumer, dashboard_update

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_throttle(settings):
    settings.OCPP_DASHBOARD_THROTTLE = 0.05
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


async def communicator_for(user):
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    return communicator, connected


async def test_it_refuses_anonymous_and_non_staff_users():
    _, connected = await communicator_for(AnonymousUser())
    assert not connected
    _, connected = await communicator_for(await database_sync_to_async(create_without_role)("u"))
    assert not connected


async def test_it_pushes_the_rerendered_row_of_a_changed_charger():
    communicator, connected = await communicator_for(await database_sync_to_async(create_staff)("u"))
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    await database_sync_to_async(make_charger)("LIVE1", statuses=("Charging",))
    await events.publish("LIVE1", "connected")
    update = await communicator.receive_json_from(timeout=5)
    assert update["type"] == "update"
    (row,) = update["chargers"]
    assert row["charger_id"] == "LIVE1" and row["state"] == "online"
    assert 'data-charger-id="LIVE1"' in row["html"] and "st-charging" in row["html"]
    assert row["connectors"] == [
        {"id": 1, "status": "Charging", "error_code": "NoError", "vendor_error_code": "", "vendor_id": "", "info": ""}
    ]
    assert row["last_seen"] is not None and row["last_seen"].endswith("Z")
    assert update["counts"]["charging"] == 1
    await communicator.disconnect()


async def test_it_coalesces_a_burst_of_events_into_one_update():
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    await database_sync_to_async(make_charger)("BUSY")
    await database_sync_to_async(make_charger)("CALM")
    for _ in range(20):
        await events.publish("BUSY", "meter", connector_id=1, transaction_id=1)
    await events.publish("CALM", "status", connector_id=1, status="Faulted", error_code="OtherError")
    update = await communicator.receive_json_from(timeout=5)
    assert sorted(c["charger_id"] for c in update["chargers"]) == ["BUSY", "CALM"]
    kinds = {c["charger_id"]: c["kinds"] for c in update["chargers"]}
    assert kinds == {"BUSY": ["meter"], "CALM": ["status"]}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_it_refreshes_rows_the_browser_asks_for():
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    await database_sync_to_async(make_charger)("ASK")
    await communicator.send_json_to({"refresh": ["ASK", 5, "NOPE"]})
    update = await communicator.receive_json_from(timeout=5)
    assert [c["charger_id"] for c in update["chargers"]] == ["ASK"]
    await communicator.disconnect()


async def test_a_refresh_without_rows_still_answers_with_the_counts():
    # A page showing no rows, back after an outage, must learn the counts too.
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    await database_sync_to_async(make_charger)("NEW1", statuses=("Faulted",))
    await communicator.send_json_to({"only": [], "follow_new": True, "refresh": []})
    update = await communicator.receive_json_from(timeout=5)
    assert update["chargers"] == [] and update["counts"]["total"] == 1 and update["counts"]["faulted"] == 1
    assert 'data-count="total"><b>1</b>' in update["counts_html"]
    await communicator.disconnect()


async def test_it_leaves_the_group_on_disconnect():
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    layer = get_channel_layer()
    assert layer.groups.get(events.DASHBOARD_GROUP)
    await communicator.disconnect()
    await asyncio.sleep(0)
    assert not layer.groups.get(events.DASHBOARD_GROUP)


def test_the_update_runs_a_fixed_number_of_queries(django_assert_max_num_queries):
    ids = []
    for i in range(25):
        charger = make_charger(f"Q{i}", statuses=("Charging", "Available"), latitude="1", longitude="2")
        ids.append(charger.charger_id)
    Connector.objects.filter(charger__charger_id="Q3", connector_id=2).update(status="Faulted")
    with django_assert_max_num_queries(9):
        update = dashboard_update(ids)
    assert len(update["chargers"]) == 25
    q3 = next(c for c in update["chargers"] if c["charger_id"] == "Q3")
    assert q3["point"]["colour"] == "faulted"


def test_the_update_lists_chargers_that_are_gone():
    make_charger("STAYS")
    update = dashboard_update(["STAYS", "DELETED"])
    assert [c["charger_id"] for c in update["chargers"]] == ["STAYS"]
    assert update["removed"] == ["DELETED"]


async def test_a_page_following_one_charger_gets_only_its_updates():
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    await database_sync_to_async(make_charger)("MINE")
    await database_sync_to_async(make_charger)("OTHER")
    await communicator.send_json_to({"only": ["MINE"]})
    await asyncio.sleep(0.1)
    await events.publish("OTHER", "meter")
    await events.publish("MINE", "heartbeat")
    update = await communicator.receive_json_from(timeout=5)
    assert [c["charger_id"] for c in update["chargers"]] == ["MINE"]
    await communicator.disconnect()


async def test_the_dashboard_gets_rows_for_shown_and_new_chargers_and_markers_for_the_rest():
    communicator, _ = await communicator_for(await database_sync_to_async(create_staff)("u"))
    await communicator.receive_json_from()
    await database_sync_to_async(make_charger)("SHOWN")
    await database_sync_to_async(make_charger)("HIDDEN", latitude="25.7", longitude="-100.3")
    await database_sync_to_async(make_charger)("NEWCOMER")
    await communicator.send_json_to({"only": ["SHOWN"], "follow_new": True})
    await asyncio.sleep(0.1)
    await events.publish("HIDDEN", "status", connector_id=1, status="Faulted")
    await events.publish("SHOWN", "heartbeat")
    update = await communicator.receive_json_from(timeout=5)
    assert [c["charger_id"] for c in update["chargers"]] == ["SHOWN"]
    assert [p["id"] for p in update["points"]] == ["HIDDEN"]
    await events.publish("NEWCOMER", "connected")
    update = await communicator.receive_json_from(timeout=5)
    assert [c["charger_id"] for c in update["chargers"]] == ["NEWCOMER"]
    await events.publish("NEWCOMER", "meter")  # followed from now on
    update = await communicator.receive_json_from(timeout=5)
    assert [c["charger_id"] for c in update["chargers"]] == ["NEWCOMER"]
    await communicator.disconnect()
