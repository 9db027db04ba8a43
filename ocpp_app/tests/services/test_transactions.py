"""Authorization, transactions and meter values: idempotency, ownership, expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import RFID, Charger, ChargerEvent, ChargingProfileRecord, MeterReading, Reservation, Transaction
from ocpp_app.services.meter_values import meter_values_store
from ocpp_app.services.transactions import id_tag_authorize, transaction_start, transaction_stop

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def start(charger_id: str = "CP1", connector_id: int = 1, meter_start: int = 1000, timestamp=T0, id_tag="TAG1", **kw):
    return transaction_start(
        charger_id=charger_id,
        connector_id=connector_id,
        id_tag=id_tag,
        meter_start=meter_start,
        timestamp=timestamp,
        **kw,
    )


def stop(transaction_id: int, charger_id: str = "CP1", meter_stop: int = 1500, timestamp=None, **kw):
    return transaction_stop(
        charger_id=charger_id,
        transaction_id=transaction_id,
        meter_stop=meter_stop,
        timestamp=timestamp or T0 + timedelta(hours=1),
        **kw,
    )


def sample(value: str = "1234", **fields) -> dict:
    return {"value": value, **fields}


def readings(timestamp=T0, *samples) -> list[dict]:
    return [{"timestamp": timestamp, "sampled_value": list(samples) or [sample()]}]


def transaction_events(status: str | None = None):
    events = ChargerEvent.objects.filter(kind="transaction")
    return events.filter(status=status) if status else events


# -- Authorize -------------------------------------------------------------------


def test_it_answers_a_known_tag_with_its_status():
    RFID.objects.create(id_tag="TAG1", status="Accepted")
    assert id_tag_authorize(charger_id="CP1", id_tag="TAG1").status == "Accepted"


def test_it_answers_a_blocked_tag_as_blocked():
    RFID.objects.create(id_tag="TAG1", status="Blocked")
    assert id_tag_authorize(charger_id="CP1", id_tag="TAG1").status == "Blocked"


def test_it_answers_an_expired_tag_as_expired():
    RFID.objects.create(id_tag="TAG1", status="Accepted", expiry_date=timezone.now() - timedelta(minutes=1))
    assert id_tag_authorize(charger_id="CP1", id_tag="TAG1").status == "Expired"


def test_it_answers_a_tag_with_a_future_expiry_as_accepted_with_its_expiry():
    expiry = timezone.now() + timedelta(days=3)
    RFID.objects.create(id_tag="TAG1", status="Accepted", expiry_date=expiry)
    info = id_tag_authorize(charger_id="CP1", id_tag="TAG1")
    assert (info.status, info.expiry_date) == ("Accepted", expiry)


def test_it_answers_the_parent_id_tag():
    RFID.objects.create(id_tag="TAG1", parent_id_tag="FLEET")
    assert id_tag_authorize(charger_id="CP1", id_tag="TAG1").parent_id_tag == "FLEET"


def test_it_leaves_out_an_empty_parent_id_tag():
    RFID.objects.create(id_tag="TAG1")
    assert id_tag_authorize(charger_id="CP1", id_tag="TAG1").parent_id_tag is None


def test_it_answers_an_unknown_tag_invalid_where_rfid_is_required():
    Charger.objects.create(charger_id="CP1", require_rfid=True)
    assert id_tag_authorize(charger_id="CP1", id_tag="NOPE").status == "Invalid"


def test_it_accepts_an_unknown_tag_for_24_hours_where_rfid_is_not_required():
    before = timezone.now()
    info = id_tag_authorize(charger_id="CP1", id_tag="NOPE")
    assert info.status == "Accepted"
    assert before + timedelta(hours=24) <= info.expiry_date <= timezone.now() + timedelta(hours=24)


# -- StartTransaction --------------------------------------------------------------


def test_it_creates_a_transaction_row_on_start():
    result = start()
    tx = Transaction.objects.get(pk=result.transaction_id)
    assert (tx.charger.charger_id, tx.connector_id, tx.id_tag, tx.meter_start, tx.start_time) == (
        "CP1",
        1,
        "TAG1",
        1000,
        T0,
    )
    assert result.created is True


def test_it_answers_start_with_an_int32_transaction_id():
    assert 0 < start().transaction_id <= 2**31 - 1


def test_it_gives_each_start_a_unique_id():
    ids = {start(connector_id=c).transaction_id for c in (1, 2, 3)}
    assert len(ids) == 3


def test_it_creates_a_transaction_even_for_a_blocked_tag():
    RFID.objects.create(id_tag="TAG1", status="Blocked")
    result = start()
    assert result.id_tag_info.status == "Blocked"
    assert Transaction.objects.get(pk=result.transaction_id).id_tag_status == "Blocked"


def test_it_creates_a_transaction_even_for_an_invalid_tag():
    Charger.objects.create(charger_id="CP1", require_rfid=True)
    result = start(id_tag="NOPE")
    assert (result.id_tag_info.status, Transaction.objects.count()) == ("Invalid", 1)


def test_it_answers_a_replayed_start_with_the_same_id():
    first = start()
    again = start()
    assert (again.transaction_id, again.created) == (first.transaction_id, False)


def test_it_creates_nothing_for_a_replayed_start():
    start()
    start()
    assert Transaction.objects.count() == 1


def test_it_treats_a_start_with_another_meter_start_as_new():
    first = start(meter_start=1000)
    second = start(meter_start=2000, timestamp=T0 + timedelta(minutes=5))
    assert first.transaction_id != second.transaction_id


def test_it_closes_the_open_transaction_when_a_new_one_starts_on_its_connector():
    old = start()
    start(meter_start=2000, timestamp=T0 + timedelta(minutes=5))
    tx = Transaction.objects.get(pk=old.transaction_id)
    assert (tx.stop_time, tx.stopped_by_server) == (T0 + timedelta(minutes=5), True)


def test_it_leaves_one_open_transaction_per_connector():
    start()
    new = start(meter_start=2000, timestamp=T0 + timedelta(minutes=5))
    assert list(Transaction.objects.filter(stop_time__isnull=True).values_list("pk", flat=True)) == [new.transaction_id]


def test_it_does_not_close_another_connectors_transaction():
    other = start(connector_id=2)
    start(connector_id=1)
    assert Transaction.objects.get(pk=other.transaction_id).stop_time is None


def test_it_marks_the_reservation_used_by_a_start():
    charger = Charger.objects.create(charger_id="CP1")
    Reservation.objects.create(
        reservation_id=7, charger=charger, connector_id=1, id_tag="TAG1", expiry_date=T0 + timedelta(hours=1)
    )
    result = start(reservation_id=7)
    reservation = Reservation.objects.get(reservation_id=7)
    assert (reservation.status, reservation.transaction_id) == ("Used", result.transaction_id)


# -- StopTransaction ----------------------------------------------------------------


def test_it_stores_the_stop():
    tx_id = start().transaction_id
    result = stop(tx_id, meter_stop=1500, reason="EVDisconnected", id_tag="TAG1")
    tx = Transaction.objects.get(pk=tx_id)
    assert (tx.meter_stop, tx.stop_time, tx.stop_reason, tx.stop_id_tag, tx.energy_wh) == (
        1500,
        T0 + timedelta(hours=1),
        "EVDisconnected",
        "TAG1",
        500,
    )
    assert result.stopped is True


def test_it_defaults_the_stop_reason_to_local():
    tx_id = start().transaction_id
    stop(tx_id)
    assert Transaction.objects.get(pk=tx_id).stop_reason == "Local"


def test_it_answers_a_stop_with_an_id_tag_with_its_status():
    RFID.objects.create(id_tag="TAG1", status="Blocked")
    tx_id = start().transaction_id
    assert stop(tx_id, id_tag="TAG1").id_tag_info.status == "Blocked"


def test_it_answers_a_stop_without_an_id_tag_without_tag_info():
    tx_id = start().transaction_id
    assert stop(tx_id).id_tag_info is None


def test_it_stores_transaction_data_with_the_stop():
    tx_id = start().transaction_id
    stop(tx_id, transaction_data=readings(T0 + timedelta(hours=1), sample("1500", context="Transaction.End")))
    reading = MeterReading.objects.get()
    assert (reading.transaction_id, reading.value, reading.context) == (tx_id, "1500", "Transaction.End")


def test_it_records_a_stop_for_an_unknown_transaction():
    result = stop(424242)
    assert result.stopped is False
    assert transaction_events("UnknownTransaction").get().payload["transactionId"] == 424242


def test_it_keeps_the_readings_of_a_stop_for_an_unknown_transaction():
    stop(424242, transaction_data=readings())
    assert MeterReading.objects.filter(transaction__isnull=True).count() == 1


def test_it_never_stops_another_chargers_transaction():
    tx_id = start(charger_id="CP2").transaction_id
    result = stop(tx_id, charger_id="CP1")
    tx = Transaction.objects.get(pk=tx_id)
    assert (result.stopped, tx.stop_time, tx.meter_stop) == (False, None, None)


def test_it_records_a_stop_for_another_chargers_transaction():
    tx_id = start(charger_id="CP2").transaction_id
    stop(tx_id, charger_id="CP1")
    assert transaction_events("ForeignTransaction").get().charger.charger_id == "CP1"


def test_it_answers_a_replayed_stop_without_stopping_again():
    tx_id = start().transaction_id
    stop(tx_id, meter_stop=1500)
    result = stop(tx_id, meter_stop=1800, timestamp=T0 + timedelta(hours=2))
    tx = Transaction.objects.get(pk=tx_id)
    assert (result.stopped, tx.meter_stop, tx.energy_wh, tx.stop_time) == (False, 1500, 500, T0 + timedelta(hours=1))


def test_it_does_not_store_the_readings_of_a_replayed_stop_twice():
    tx_id = start().transaction_id
    data = readings(T0 + timedelta(hours=1))
    stop(tx_id, transaction_data=data)
    stop(tx_id, transaction_data=data)
    assert MeterReading.objects.count() == 1


def test_it_records_a_stop_for_an_already_stopped_transaction():
    tx_id = start().transaction_id
    stop(tx_id)
    stop(tx_id)
    assert transaction_events("TransactionAlreadyStopped").get().payload["transactionId"] == tx_id


def test_it_records_a_meter_stop_below_meter_start():
    tx_id = start(meter_start=1000).transaction_id
    result = stop(tx_id, meter_stop=900)
    tx = Transaction.objects.get(pk=tx_id)
    assert (result.stopped, tx.meter_stop, tx.energy_wh) == (True, 900, 0)
    assert transaction_events("MeterStopBelowStart").count() == 1


def test_it_lets_a_late_real_stop_overwrite_a_server_closed_transaction():
    old = start().transaction_id
    start(meter_start=2000, timestamp=T0 + timedelta(minutes=5))
    result = stop(old, meter_stop=1700, timestamp=T0 + timedelta(minutes=4), reason="PowerLoss")
    tx = Transaction.objects.get(pk=old)
    assert (result.stopped, tx.meter_stop, tx.energy_wh, tx.stop_reason, tx.stopped_by_server) == (
        True,
        1700,
        700,
        "PowerLoss",
        False,
    )


# -- MeterValues -----------------------------------------------------------------------


def test_it_stores_every_sampled_value():
    tx_id = start().transaction_id
    meter_values_store(
        charger_id="CP1",
        connector_id=1,
        transaction_id=tx_id,
        meter_value=readings(
            T0,
            sample("1234"),
            sample(
                "16.2",
                measurand="Current.Import",
                phase="L1",
                unit="A",
                context="Sample.Clock",
                location="Inlet",
                format="Raw",
            ),
        ),
    )
    current = MeterReading.objects.get(measurand="Current.Import")
    assert (current.phase, current.unit, current.context, current.location, current.format) == (
        "L1",
        "A",
        "Sample.Clock",
        "Inlet",
        "Raw",
    )
    assert (current.value, current.value_numeric, current.transaction_id, current.connector_id) == (
        "16.2",
        16.2,
        tx_id,
        1,
    )
    assert MeterReading.objects.count() == 2


def test_it_fills_in_sampled_value_defaults():
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=None, meter_value=readings(T0, sample("5")))
    reading = MeterReading.objects.get()
    assert (reading.measurand, reading.unit, reading.context, reading.location, reading.format, reading.phase) == (
        "Energy.Active.Import.Register",
        "Wh",
        "Sample.Periodic",
        "Outlet",
        "Raw",
        "",
    )


def test_it_keeps_a_signed_value_without_a_number():
    meter_values_store(
        charger_id="CP1",
        connector_id=1,
        transaction_id=None,
        meter_value=readings(T0, sample("deadbeef", format="SignedData")),
    )
    reading = MeterReading.objects.get()
    assert (reading.value, reading.value_numeric) == ("deadbeef", None)


def test_it_keeps_a_non_numeric_raw_value_without_a_number():
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=None, meter_value=readings(T0, sample("n/a")))
    assert MeterReading.objects.get().value_numeric is None


def test_it_stores_a_replayed_meter_value_once():
    tx_id = start().transaction_id
    for _ in range(2):
        meter_values_store(charger_id="CP1", connector_id=1, transaction_id=tx_id, meter_value=readings(T0))
    assert MeterReading.objects.count() == 1


def test_it_stores_one_sample_set_per_transaction_and_timestamp():
    """A replay is recognised by its transaction and timestamp, even when the
    replayed set differs (a replay is never stored twice)."""
    tx_id = start().transaction_id
    first = readings(T0, sample("1", measurand="Energy.Active.Import.Register"))
    second = readings(T0, sample("16", measurand="Current.Import", unit="A"))
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=tx_id, meter_value=first)
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=tx_id, meter_value=second)
    assert list(MeterReading.objects.values_list("measurand", flat=True)) == ["Energy.Active.Import.Register"]


def test_it_stores_a_replayed_meter_value_without_transaction_once():
    for _ in range(2):
        meter_values_store(charger_id="CP1", connector_id=1, transaction_id=None, meter_value=readings(T0))
    assert MeterReading.objects.count() == 1


def test_it_stores_meter_values_of_different_timestamps():
    tx_id = start().transaction_id
    for minute in range(3):
        meter_values_store(
            charger_id="CP1",
            connector_id=1,
            transaction_id=tx_id,
            meter_value=readings(T0 + timedelta(minutes=minute)),
        )
    assert MeterReading.objects.count() == 3


def test_it_answers_how_many_readings_it_wrote():
    written = meter_values_store(
        charger_id="CP1",
        connector_id=1,
        transaction_id=None,
        meter_value=readings(T0, sample("1"), sample("2", phase="L1")),
    )
    assert written == 2


def test_it_records_meter_values_for_an_unknown_transaction():
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=999, meter_value=readings())
    assert transaction_events("MeterValuesForUnknownTransaction").count() == 1
    assert MeterReading.objects.get().transaction is None


def test_it_does_not_link_meter_values_to_another_chargers_transaction():
    tx_id = start(charger_id="CP2").transaction_id
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=tx_id, meter_value=readings())
    assert MeterReading.objects.get().transaction is None


def test_it_keeps_the_latest_meter_values_payload():
    raw = {"connectorId": 1, "meterValue": [{"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [{"value": "1"}]}]}
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=None, meter_value=readings(), raw=raw)
    assert Charger.objects.get(charger_id="CP1").last_meter_values == raw


@pytest.mark.parametrize("value", ["1e999", "inf", "-Infinity", "nan"])
def test_it_keeps_a_value_that_is_not_a_finite_number_without_a_number(value):
    meter_values_store(charger_id="CP1", connector_id=1, transaction_id=None, meter_value=readings(T0, sample(value)))
    reading = MeterReading.objects.get()
    assert (reading.value, reading.value_numeric) == (value, None)


def test_it_stops_a_transaction_whose_energy_would_overflow():
    int64_max = 2**63 - 1
    tx_id = start(meter_start=-int64_max).transaction_id
    result = stop(tx_id, meter_stop=int64_max)
    tx = Transaction.objects.get(pk=tx_id)
    assert (result.stopped, tx.meter_stop, tx.energy_wh) == (True, int64_max, int64_max)


def test_a_sessions_tx_profiles_are_no_longer_in_force_once_it_stops():
    result = start()
    charger = Charger.objects.get(charger_id="CP1")

    def profile(connector_id: int, purpose: str, profile_id: int) -> ChargingProfileRecord:
        return ChargingProfileRecord.objects.create(
            charger=charger, connector_id=connector_id, charging_profile_id=profile_id, purpose=purpose
        )

    tx_profile = profile(1, "TxProfile", 1)
    default = profile(1, "TxDefaultProfile", 2)
    other_connector = profile(2, "TxProfile", 3)
    stop(result.transaction_id)
    in_force = set(ChargingProfileRecord.objects.filter(cleared_at__isnull=True).values_list("pk", flat=True))
    assert in_force == {default.pk, other_connector.pk}
    assert tx_profile.pk not in in_force
    # A replayed stop changes nothing more.
    stop(result.transaction_id)
    assert set(ChargingProfileRecord.objects.filter(cleared_at__isnull=True).values_list("pk", flat=True)) == in_force
