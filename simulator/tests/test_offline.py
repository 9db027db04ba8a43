"""Offline: the charger keeps charging, queues transaction messages, reconnects
with back-off and replays the queue in order."""

import asyncio

from simulator import ChargePointSimulator
from simulator.tests.conftest import fast_config


def ts(payload: dict) -> str:
    return payload["meter_value"][0]["timestamp"]


async def test_queue_replays_in_order_after_the_server_went_away(csms):
    sim = ChargePointSimulator(fast_config(csms.port, reconnect_min=0.3, reconnect_max=0.3))
    try:
        await asyncio.wait_for(sim.start(), 10)
        task = sim.start_session(1, "OFF1")
        await csms.wait_for(lambda: len(csms.actions("MeterValues")) >= 2)
        port = csms.port
        await csms.stop()

        # Still charging while offline: transaction messages pile up.
        async def queued():
            while len(sim.outbox) < 4:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(queued(), 10)
        assert not sim.online
        await csms.start(port)
        await asyncio.wait_for(sim._online.wait(), 10)
        sim.request_stop(connector_id=1, reason="Local")
        session = await asyncio.wait_for(task, 10)
        await asyncio.wait_for(sim.wait_drained(), 10)
    finally:
        await sim.stop(drain_timeout=1)

    assert sim.stats.reconnects >= 1
    tx = [(a, p) for a, p in csms.received if a in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert tx[0][0] == "StartTransaction" and tx[-1][0] == "StopTransaction"
    meter_values = [p for a, p in tx if a == "MeterValues"]
    # A message sent just as the socket died may arrive twice (the CSMS dedupes);
    # none is lost and the order is kept.
    unique = list(dict.fromkeys(ts(p) for p in meter_values))
    assert unique == sorted(unique)
    assert len(unique) == session.meter_values_sent
    assert {p["transaction_id"] for p in meter_values} == {101}
    assert tx[-1][1]["transaction_id"] == 101 and tx[-1][1]["meter_stop"] == round(sim.connectors[1].meter_wh)


async def test_a_session_started_offline_gets_its_transaction_id_on_replay(csms):
    sim = ChargePointSimulator(fast_config(csms.port, reconnect_min=0.3, reconnect_max=0.3))
    try:
        await asyncio.wait_for(sim.start(), 10)
        port = csms.port
        await csms.stop()
        while sim.online:
            await asyncio.sleep(0.01)
        task = sim.start_session(1, None)
        while sim.connectors[1].session is None or sim.connectors[1].session.meter_values_sent < 3:
            await asyncio.sleep(0.02)
        sim.request_stop(connector_id=1, reason="Local")
        await asyncio.wait_for(task, 10)
        assert [type(q.payload).__name__ for q in sim.outbox][0] == "StartTransaction"
        await csms.start(port)
        await asyncio.wait_for(sim.wait_drained(), 10)
    finally:
        await sim.stop(drain_timeout=1)
    actions = [a for a, _ in csms.received if a in ("StartTransaction", "MeterValues", "StopTransaction")]
    assert actions[0] == "StartTransaction" and actions[-1] == "StopTransaction"
    assert {p["transaction_id"] for p in csms.actions("MeterValues")} == {101}
