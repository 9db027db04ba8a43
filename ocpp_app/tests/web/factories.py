"""Small builders for the web tests: chargers with connectors, transactions and
meter readings, straight through the ORM."""

from datetime import timedelta

from django.utils import timezone

from ocpp_app.models import Charger, Connector, MeterReading, Transaction

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


def make_charger(charger_id: str = "CP1", *, connected: bool = True, statuses=("Available",), **fields) -> Charger:
    now = timezone.now()
    defaults = {"vendor": "Acme", "model": "X1", "firmware_version": "1.0"}
    if connected:
        defaults.update(connected=True, connected_since=now, last_seen=now, last_heartbeat=now)
    charger = Charger.objects.create(charger_id=charger_id, **{**defaults, **fields})
    for number, status in enumerate(statuses, start=1):
        Connector.objects.create(charger=charger, connector_id=number, status=status, error_code="NoError")
    return charger


def make_session(
    charger: Charger,
    *,
    connector_id: int = 1,
    id_tag: str = "TAG12345",
    meter_start: int = 1000,
    readings: int = 3,
    step_wh: int = 500,
    power_w: float = 7400.0,
    stop: bool = False,
    start=None,
) -> Transaction:
    start = start or timezone.now() - timedelta(minutes=30)
    tx = Transaction.objects.create(
        charger=charger, connector_id=connector_id, id_tag=id_tag, meter_start=meter_start, start_time=start
    )
    for i in range(1, readings + 1):
        ts = start + timedelta(minutes=i)
        MeterReading.objects.create(
            charger=charger,
            connector_id=connector_id,
            transaction=tx,
            timestamp=ts,
            measurand=ENERGY,
            unit="Wh",
            value=str(meter_start + i * step_wh),
            value_numeric=meter_start + i * step_wh,
        )
        MeterReading.objects.create(
            charger=charger,
            connector_id=connector_id,
            transaction=tx,
            timestamp=ts,
            measurand=POWER,
            unit="W",
            value=str(power_w),
            value_numeric=power_w,
        )
    if stop:
        tx.stop_time = start + timedelta(minutes=readings + 1)
        tx.meter_stop = meter_start + readings * step_wh
        tx.energy_wh = readings * step_wh
        tx.save()
    return tx
