"""Retention: rows older than their table's retention are deleted in short
batches, recent ones and everything never pruned (transactions, charger
events) stay, 0 days keeps a table whole."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import (
    Charger,
    ChargerEvent,
    Circuit,
    CircuitLoadSample,
    Command,
    DataTransferRecord,
    MessageLog,
    MeterReading,
    Node,
    StatusNotificationRecord,
    Transaction,
)
from ocpp_app.services.retention import TABLES, prune, prune_count

pytestmark = pytest.mark.django_db

NOW = timezone.now()
LOGGED = (MessageLog, Command, StatusNotificationRecord, DataTransferRecord)


def days_ago(days: float):
    return NOW - timedelta(days=days)


@pytest.fixture
def charger() -> Charger:
    return Charger.objects.create(charger_id="CP1")


def a_session(charger: Charger, *, started: float = 100) -> Transaction:
    return Transaction.objects.create(
        charger=charger,
        connector_id=1,
        id_tag="TAG1",
        meter_start=1000,
        start_time=days_ago(started),
        meter_stop=5000,
        stop_time=days_ago(started - 0.1),
        energy_wh=4000,
    )


def logged_rows(charger: Charger, age: float, count: int = 1) -> None:
    """`count` rows of each table the message-log retention prunes, all `age` days old."""
    when = days_ago(age)
    for _ in range(count):
        MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", timestamp=when)
        Command.objects.create(charger=charger, action="Reset", created_at=when)
        StatusNotificationRecord.objects.create(
            charger=charger, connector_id=1, status="Available", error_code="NoError", received_at=when
        )
        DataTransferRecord.objects.create(charger=charger, vendor_id="ACME", created_at=when)


def readings(charger: Charger, tx: Transaction | None, age: float, count: int = 1) -> None:
    for i in range(count):
        MeterReading.objects.create(
            charger=charger,
            connector_id=1,
            transaction=tx,
            timestamp=days_ago(age) + timedelta(seconds=i),
            value=str(1000 + i),
            value_numeric=1000 + i,
            received_at=days_ago(age),
        )


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (*LOGGED, MeterReading, Transaction, Node)}


def test_it_deletes_rows_older_than_their_retention_and_keeps_the_recent_ones(charger):
    logged_rows(charger, age=31, count=2)
    logged_rows(charger, age=29)
    tx = a_session(charger)
    readings(charger, tx, age=91, count=3)
    readings(charger, tx, age=89)
    circuit = Circuit.objects.create(name="Main", max_current=32)
    for age in (31, 31, 29):
        CircuitLoadSample.objects.create(circuit=circuit, at=days_ago(age), limit=32, allocated=10)

    deleted = prune(now=NOW, message_log_days=30, meter_reading_days=90)

    assert deleted == {
        "message_log": 2,
        "commands": 2,
        "status_notifications": 2,
        "data_transfers": 2,
        "meter_readings": 3,
        "nodes": 0,
        "circuit_samples": 2,
        "alert_deliveries": 0,
    }
    assert CircuitLoadSample.objects.count() == 1
    assert counts() == {
        "MessageLog": 1,
        "Command": 1,
        "StatusNotificationRecord": 1,
        "DataTransferRecord": 1,
        "MeterReading": 1,
        "Transaction": 1,
        "Node": 0,
    }
    cutoff = days_ago(30)
    for model, column in ((MessageLog, "timestamp"), (Command, "created_at"), (DataTransferRecord, "created_at")):
        assert not model.objects.filter(**{f"{column}__lt": cutoff}).exists()
    assert not StatusNotificationRecord.objects.filter(received_at__lt=cutoff).exists()
    assert not MeterReading.objects.filter(received_at__lt=days_ago(90)).exists()


def test_a_row_exactly_as_old_as_the_retention_stays(charger):
    MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", timestamp=days_ago(30))
    assert prune(now=NOW, message_log_days=30)["message_log"] == 0
    assert MessageLog.objects.count() == 1


def test_zero_days_keeps_every_row_however_old(charger, settings):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 0
    settings.OCPP_METER_READING_RETENTION_DAYS = 0
    logged_rows(charger, age=3650)
    readings(charger, a_session(charger, started=3650), age=3650)
    before = counts()

    assert prune(now=NOW) == dict.fromkeys(TABLES, 0)
    assert prune(now=NOW, message_log_days=0, meter_reading_days=0) == dict.fromkeys(TABLES, 0)
    assert counts() == before


def test_the_retentions_and_the_batch_default_to_the_settings(charger, settings):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 5
    settings.OCPP_METER_READING_RETENTION_DAYS = 0  # readings kept: the default
    settings.OCPP_PRUNE_BATCH = 100
    logged_rows(charger, age=6)
    logged_rows(charger, age=4)
    readings(charger, None, age=3650)

    deleted = prune(now=NOW)

    assert deleted["message_log"] == deleted["commands"] == 1
    assert deleted["meter_readings"] == 0
    assert MessageLog.objects.get().timestamp == days_ago(4)
    assert MeterReading.objects.count() == 1


def test_it_deletes_every_old_row_in_batches_smaller_than_their_count(charger, caplog):
    for i in range(25):
        MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", timestamp=days_ago(40 + i))
    readings(charger, a_session(charger), age=100, count=8)
    logged_rows(charger, age=1)

    with caplog.at_level(logging.INFO, logger="ocpp_app.retention"):
        deleted = prune(now=NOW, batch=4, message_log_days=30, meter_reading_days=30)

    assert deleted["message_log"] == 25 and deleted["meter_readings"] == 8
    assert MessageLog.objects.count() == 1 and MeterReading.objects.count() == 0
    # 25 rows: six full batches and a last one of 1; 8 rows: two full, then one that finds none.
    assert "message_log: 25 rows older than" in caplog.text and "in 7 batches of at most 4 rows" in caplog.text
    assert "meter_readings: 8 rows older than" in caplog.text and "in 3 batches of at most 4 rows" in caplog.text


def test_it_logs_one_line_per_table_with_its_count(charger, caplog):
    logged_rows(charger, age=31, count=3)
    with caplog.at_level(logging.INFO, logger="ocpp_app.retention"):
        prune(now=NOW, message_log_days=30, meter_reading_days=0)
    lines = [r.getMessage() for r in caplog.records if r.name == "ocpp_app.retention"]
    assert [line.split(":")[0] for line in lines] == list(TABLES)
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "ocpp_app.retention")
    assert lines[0].startswith("message_log: 3 rows older than")
    assert lines[4] == "meter_readings: kept (retention 0 days)"


def test_transactions_survive_the_pruning_of_their_readings(charger):
    tx = a_session(charger, started=400)
    readings(charger, tx, age=400, count=5)

    assert prune(now=NOW, message_log_days=30, meter_reading_days=30)["meter_readings"] == 5

    assert not MeterReading.objects.exists()
    kept = Transaction.objects.get(pk=tx.pk)
    assert (kept.meter_start, kept.meter_stop, kept.energy_wh, kept.stop_time) == (1000, 5000, 4000, tx.stop_time)


def test_a_charger_event_stays_when_the_command_that_asked_for_it_is_pruned(charger):
    command = Command.objects.create(charger=charger, action="UpdateFirmware", created_at=days_ago(60))
    event = ChargerEvent.objects.create(charger=charger, kind="firmware", status="Installed", command=command)

    assert prune(now=NOW, message_log_days=30)["commands"] == 1

    assert not Command.objects.exists()
    kept = ChargerEvent.objects.get(pk=event.pk)
    assert (kept.status, kept.command_id) == ("Installed", None)


def test_it_deletes_dead_nodes_a_week_after_they_stopped_or_were_swept():
    def node(node_id: str, *, lease_ended: float, stopped: float | None = None, swept: float | None = None) -> None:
        Node.objects.create(
            node_id=node_id,
            lease_expires_at=days_ago(lease_ended),
            stopped_at=None if stopped is None else days_ago(stopped),
            swept_at=None if swept is None else days_ago(swept),
        )

    node("stopped-long-ago", lease_ended=8, stopped=8, swept=8)
    node("died-and-swept", lease_ended=8, swept=8)
    node("died-unswept", lease_ended=8)  # its chargers are not marked offline yet
    node("stopped-recently", lease_ended=6, stopped=6, swept=6)
    node("alive", lease_ended=-1)

    # Even with the message log kept forever.
    assert prune(now=NOW, message_log_days=0)["nodes"] == 2

    assert sorted(Node.objects.values_list("node_id", flat=True)) == ["alive", "died-unswept", "stopped-recently"]


def test_prune_count_counts_what_prune_then_deletes(charger):
    logged_rows(charger, age=31, count=2)
    logged_rows(charger, age=1)
    readings(charger, None, age=10, count=3)
    before = counts()

    expected = prune_count(now=NOW, message_log_days=30, meter_reading_days=5)

    assert counts() == before
    assert expected["message_log"] == 2 and expected["meter_readings"] == 3
    assert prune(now=NOW, message_log_days=30, meter_reading_days=5) == expected


@pytest.mark.parametrize(
    "arguments",
    [
        {"batch": 0},
        {"batch": -5},
        {"batch": 2.5},
        {"message_log_days": -1},
        {"meter_reading_days": -30},
        {"message_log_days": "30"},
    ],
)
def test_it_refuses_bad_arguments_and_deletes_nothing(charger, arguments):
    logged_rows(charger, age=400)
    before = counts()
    with pytest.raises(ValueError):
        prune(now=NOW, **arguments)
    assert counts() == before
