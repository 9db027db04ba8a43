"""Charger events reach browsers in batches (ocpp_app/events.py)."""

import asyncio

from channels.layers import get_channel_layer

from ocpp_app.runtime import events


async def test_it_sends_the_events_of_a_flush_interval_as_one_group_message():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.DASHBOARD_GROUP, channel)
    try:
        await events.publish("A", "status", connector_id=1, status="Charging")
        await events.publish("B", "heartbeat")
        await events.publish("A", "meter", connector_id=1)
        message = await asyncio.wait_for(layer.receive(channel), 2)
        assert message["type"] == "charger.events"
        assert message["events"] == [
            {"charger_id": "A", "kind": "status", "connector_id": 1, "status": "Charging"},
            {"charger_id": "B", "kind": "heartbeat"},
            {"charger_id": "A", "kind": "meter", "connector_id": 1},
        ]
        # Nothing more was sent for those three events.
        await asyncio.sleep(events.FLUSH_INTERVAL * 3)
        assert not await _has_message(layer, channel)
    finally:
        await layer.group_discard(events.DASHBOARD_GROUP, channel)


async def _has_message(layer, channel) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), 0.05)
    except TimeoutError:
        return False
    return True
