"""manage.py prune: deletes what is older than its retention and prints the
rows per table; --dry-run only counts; bad values are refused."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ocpp_app.models import Charger, Command, MessageLog, MeterReading, StatusNotificationRecord, Transaction

pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def rows() -> Transaction:
    """Two message-log rows and a command 40 days old, one of each a day old,
    a status record 40 days old; a session of 400 days ago with 3 readings."""
    charger = Charger.objects.create(charger_id="CP1")
    for age in (40, 40, 1):
        MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", timestamp=days_ago(age))
    for age in (40, 1):
        Command.objects.create(charger=charger, action="Reset", created_at=days_ago(age))
    StatusNotificationRecord.objects.create(
        charger=charger, connector_id=1, status="Available", error_code="NoError", received_at=days_ago(40)
    )
    tx = Transaction.objects.create(
        charger=charger, connector_id=1, id_tag="TAG1", meter_start=0, start_time=days_ago(400), meter_stop=900
    )
    for i in range(3):
        MeterReading.objects.create(
            charger=charger,
            connector_id=1,
            transaction=tx,
            timestamp=days_ago(400) + timedelta(minutes=i),
            value=str(300 * i),
            received_at=days_ago(400),
        )
    return tx


def prune(*args: str) -> list[str]:
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue().splitlines()


def stored() -> tuple[int, int, int, int, int]:
    return (
        MessageLog.objects.count(),
        Command.objects.count(),
        StatusNotificationRecord.objects.count(),
        MeterReading.objects.count(),
        Transaction.objects.count(),
    )


def test_it_deletes_what_is_older_than_the_given_retentions_and_prints_the_rows_per_table(rows):
    lines = prune("--message-log-days", "30", "--meter-reading-days", "365")
    assert lines == [
        "message_log: 2 deleted (older than 30 days)",
        "commands: 1 deleted (older than 30 days)",
        "status_notifications: 1 deleted (older than 30 days)",
        "data_transfers: 0 deleted (older than 30 days)",
        "meter_readings: 3 deleted (older than 365 days)",
        "nodes: 0 deleted (older than 7 days)",
        "circuit_samples: 0 deleted (older than 30 days)",
        "alert_deliveries: 0 deleted (older than 30 days)",
        "total: 7 deleted",
    ]
    # The session stays, without its readings.
    assert stored() == (1, 1, 0, 0, 1)
    assert Transaction.objects.get(pk=rows.pk).meter_stop == 900


def test_it_follows_the_settings_by_default_and_says_which_tables_are_kept(rows, settings):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 30
    settings.OCPP_METER_READING_RETENTION_DAYS = 0
    lines = prune()
    assert lines[0] == "message_log: 2 deleted (older than 30 days)"
    assert lines[4] == "meter_readings: kept (retention 0 days)"
    assert stored() == (1, 1, 0, 3, 1)


def test_zero_days_keeps_everything(rows):
    before = stored()
    lines = prune("--message-log-days", "0", "--meter-reading-days", "0")
    kept = ["message_log", "commands", "status_notifications", "data_transfers", "meter_readings"]
    assert lines[:5] == [f"{label}: kept (retention 0 days)" for label in kept]
    assert lines[-1] == "total: 0 deleted"
    assert stored() == before


def test_a_dry_run_counts_what_would_go_and_deletes_nothing(rows):
    before = stored()
    lines = prune("--dry-run", "--message-log-days", "30", "--meter-reading-days", "365")
    assert lines[0] == "message_log: 2 would be deleted (older than 30 days)"
    assert lines[4] == "meter_readings: 3 would be deleted (older than 365 days)"
    assert lines[-1] == "total: 7 would be deleted"
    assert stored() == before


def test_a_batch_of_one_row_still_deletes_every_old_row(rows):
    lines = prune("--batch", "1", "--message-log-days", "30", "--meter-reading-days", "30")
    assert lines[0] == "message_log: 2 deleted (older than 30 days)"
    assert lines[4] == "meter_readings: 3 deleted (older than 30 days)"
    assert stored() == (1, 1, 0, 0, 1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--batch", "0"], "--batch 0: use a number of rows from 1 to 100000"),
        (["--batch", "100001"], "--batch 100001: use a number of rows from 1 to 100000"),
        (["--batch", "many"], "invalid int value"),
        (["--message-log-days", "-1"], "--message-log-days -1: use a number of days, or 0 to keep everything"),
        (["--meter-reading-days", "-7"], "--meter-reading-days -7: use a number of days"),
        (["--meter-reading-days", "1.5"], "invalid int value"),
    ],
)
def test_it_refuses_bad_values_and_deletes_nothing(rows, settings, args, message):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 30  # a run would delete the 40-day-old rows
    before = stored()
    with pytest.raises(CommandError, match=message):
        call_command("prune", *args, stdout=StringIO())
    assert stored() == before
