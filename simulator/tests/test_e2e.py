"""The simulator against the real server (`manage.py serve` on the test database)."""

import asyncio

import pytest

from ocpp_app.models import Charger, MeterReading, Transaction
from simulator import ChargePointSimulator, SimulatorConfig

pytestmark = [pytest.mark.e2e]


def test_the_package_docstring_example_runs_a_full_session(live_ocpp_server):
    config = SimulatorConfig(
        host="127.0.0.1",
        ws_port=live_ocpp_server.port,
        cp_path="SIM1/",
        rfid="TAG1",
        interval=0.1,
        kwh_max=0.5,
        speed=200,
    )
    session = asyncio.run(asyncio.wait_for(ChargePointSimulator(config).run_session(), 30))

    charger = Charger.objects.get(charger_id="SIM1")
    assert charger.vendor == "Simulator" and charger.model == "SimCP"
    tx = Transaction.objects.get(charger=charger)
    assert tx.pk == session.transaction_id
    assert (tx.id_tag, tx.meter_start, tx.meter_stop, tx.energy_wh) == ("TAG1", 0, 500, 500)
    assert tx.stop_reason == "EVDisconnected"
    readings = MeterReading.objects.filter(transaction=tx)
    measurands = set(readings.values_list("measurand", flat=True))
    assert {"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC"} <= measurands
    energy = list(
        readings.filter(measurand="Energy.Active.Import.Register", context="Sample.Periodic")
        .order_by("timestamp")
        .values_list("value_numeric", flat=True)
    )
    assert len(energy) == session.meter_values_sent and energy == sorted(energy) and energy[-1] == 500
    assert set(charger.connectors.values_list("connector_id", "status")) == {(0, "Available"), (1, "Available")}


def test_the_queue_is_stored_in_order_after_a_dropped_connection(live_ocpp_server):
    config = SimulatorConfig(
        host="127.0.0.1",
        ws_port=live_ocpp_server.port,
        cp_path="ocpp/OFFLINE1",
        interval=0.05,
        kwh_max=1000,
        speed=1,
        reconnect_min=0.5,
        reconnect_max=0.5,
    )

    async def scenario():
        sim = ChargePointSimulator(config)
        try:
            await sim.start()
            task = sim.start_session(1, "TAGX")
            while sim.connectors[1].session is None or sim.connectors[1].session.transaction_id is None:
                await asyncio.sleep(0.02)
            await sim.drop_connection()
            while len(sim.outbox) < 5:  # keeps charging while offline
                await asyncio.sleep(0.02)
            await sim._online.wait()
            sim.request_stop(connector_id=1, reason="Local")
            session = await task
            await sim.wait_drained()
            return sim, session
        finally:
            await sim.stop()

    sim, session = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert sim.stats.reconnects >= 1
    tx = Transaction.objects.get(pk=session.transaction_id)
    assert tx.stop_time is not None and tx.meter_stop == round(sim.connectors[1].meter_wh)
    periodic = MeterReading.objects.filter(
        transaction=tx, measurand="Energy.Active.Import.Register", context="Sample.Periodic"
    )
    assert periodic.count() == session.meter_values_sent
    # Stored in the order they were taken: ids follow timestamps.
    by_id = list(periodic.order_by("id").values_list("timestamp", flat=True))
    assert by_id == sorted(by_id)
