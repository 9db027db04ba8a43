"""MeterValues of a whole group-commit batch stored together."""

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_app.models import Charger, ChargerEvent, MeterReading
from ocpp_app.services.meter_values import meter_values_store_many
from ocpp_app.services.transactions import transaction_start

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def call(charger_id, tx_id, minute, value, raw_tag=None):
    return {
        "charger_id": charger_id,
        "connector_id": 1,
        "transaction_id": tx_id,
        "meter_value": [{"timestamp": T0 + timedelta(minutes=minute), "sampled_value": [{"value": str(value)}]}],
        "raw": {"tag": raw_tag} if raw_tag else None,
    }


def start(charger_id):
    return transaction_start(
        charger_id=charger_id, connector_id=1, id_tag="TAG", meter_start=0, timestamp=T0
    ).transaction_id


def test_it_stores_the_readings_of_many_chargers_and_counts_each_call():
    tx_a, tx_b = start("A"), start("B")
    counts = meter_values_store_many([call("A", tx_a, 1, 10), call("B", tx_b, 1, 20), call("A", tx_a, 2, 30)])
    assert counts == [1, 1, 1]
    assert sorted(MeterReading.objects.values_list("transaction_id", "value")) == sorted(
        [(tx_a, "10"), (tx_b, "20"), (tx_a, "30")]
    )


def test_it_stores_a_replay_once_within_a_batch_and_across_batches():
    tx = start("A")
    assert meter_values_store_many([call("A", tx, 1, 10), call("A", tx, 1, 10)]) == [1, 0]
    assert meter_values_store_many([call("A", tx, 1, 10)]) == [0]
    assert MeterReading.objects.count() == 1


def test_it_keeps_readings_of_an_unknown_or_foreign_transaction_unattached_and_records_it():
    tx_b = start("B")
    assert meter_values_store_many([call("A", tx_b, 1, 10), call("A", 999999, 2, 20)]) == [1, 1]
    assert list(MeterReading.objects.filter(charger__charger_id="A").values_list("transaction_id", flat=True)) == [
        None,
        None,
    ]
    assert ChargerEvent.objects.filter(status="MeterValuesForUnknownTransaction").count() == 2
    assert not MeterReading.objects.filter(transaction_id=tx_b).exists()


def test_it_keeps_the_latest_payload_of_each_charger():
    tx_a, tx_b = start("A"), start("B")
    meter_values_store_many([call("A", tx_a, 1, 10, "a1"), call("B", tx_b, 1, 20, "b1"), call("A", tx_a, 2, 30, "a2")])
    latest = dict(Charger.objects.values_list("charger_id", "last_meter_values"))
    assert latest == {"A": {"tag": "a2"}, "B": {"tag": "b1"}}
