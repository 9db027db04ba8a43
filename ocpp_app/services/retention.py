"""Retention: what the central system writes every minute for every charger
(the message log, status history, meter readings...) is deleted once it is
older than its retention, so the database stops growing with time.

Each table is pruned in batches of at most `batch` rows, each batch its own
short transaction: one DELETE of the rows whose primary key is among the
`batch` oldest, found through an index on the row's own server time (never
the charger's clock, which can be wrong in either direction). A batch locks
only the rows it deletes, for as long as one such statement runs; the writer
only ever inserts new rows, so it never waits for one.

What is never pruned here: transactions (their meter start and stop values
stay with them), chargers, connectors, the charger events (diagnostics,
firmware, security), certificates. A pruned row's relations must never take
kept data with them: a model pruned here may be referenced only by a
nullable foreign key that is emptied (a charger event keeps its status,
without the command record that asked for it), never by one that cascades.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from ocpp_app.models import (
    CircuitLoadSample,
    Command,
    DataTransferRecord,
    Delivery,
    MessageLog,
    MeterReading,
    Node,
    StatusNotificationRecord,
)

logger = logging.getLogger("ocpp_app.retention")

# A node's row outlives its lease by this long: long enough to tell, after a
# weekend, which node held a charger and when it died.
NODE_RETENTION_DAYS = 7

MESSAGE_LOG = "message_log"
COMMANDS = "commands"
STATUS_NOTIFICATIONS = "status_notifications"
DATA_TRANSFERS = "data_transfers"
METER_READINGS = "meter_readings"
NODES = "nodes"
CIRCUIT_SAMPLES = "circuit_samples"
ALERT_DELIVERIES = "alert_deliveries"


@dataclass(frozen=True)
class _Table:
    label: str
    model: type[models.Model]
    # The indexed column the oldest rows are found by (and ordered by).
    column: str
    # The rows older than `cutoff`, as a filter.
    old: Callable[[datetime], Q]


def _older(column: str) -> Callable[[datetime], Q]:
    return lambda cutoff: Q(**{f"{column}__lt": cutoff})


def _dead_node(cutoff: datetime) -> Q:
    # A node that stopped cleanly, or whose lease ran out and whose chargers
    # were marked offline (swept). A dead node nobody swept yet is kept: its
    # row is what tells the next sweep that its chargers are not connected.
    return Q(stopped_at__lt=cutoff) | Q(lease_expires_at__lt=cutoff, swept_at__isnull=False)


# In the order they are pruned; the first four, the circuits' load samples
# and the alert deliveries follow the message-log retention, meter readings
# their own, nodes a fixed one. A delivery is pruned by when it was delivered
# or failed for good: one still pending (finished_at empty) is never.
_TABLES = (
    _Table(MESSAGE_LOG, MessageLog, "timestamp", _older("timestamp")),
    _Table(COMMANDS, Command, "created_at", _older("created_at")),
    _Table(STATUS_NOTIFICATIONS, StatusNotificationRecord, "received_at", _older("received_at")),
    _Table(DATA_TRANSFERS, DataTransferRecord, "created_at", _older("created_at")),
    _Table(METER_READINGS, MeterReading, "received_at", _older("received_at")),
    _Table(NODES, Node, "lease_expires_at", _dead_node),
    _Table(CIRCUIT_SAMPLES, CircuitLoadSample, "at", _older("at")),
    _Table(ALERT_DELIVERIES, Delivery, "finished_at", _older("finished_at")),
)
TABLES: tuple[str, ...] = tuple(t.label for t in _TABLES)


def retention_days(*, message_log_days: int | None = None, meter_reading_days: int | None = None) -> dict[str, int]:
    """Days each table keeps (0: kept forever); None means the setting."""
    log_days = settings.OCPP_MESSAGE_LOG_RETENTION_DAYS if message_log_days is None else message_log_days
    reading_days = settings.OCPP_METER_READING_RETENTION_DAYS if meter_reading_days is None else meter_reading_days
    for name, value in (("message_log_days", log_days), ("meter_reading_days", reading_days)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}={value!r}: use a whole number of days, or 0 to keep everything")
    days = dict.fromkeys(
        (MESSAGE_LOG, COMMANDS, STATUS_NOTIFICATIONS, DATA_TRANSFERS, CIRCUIT_SAMPLES, ALERT_DELIVERIES), log_days
    )
    return {**days, METER_READINGS: reading_days, NODES: NODE_RETENTION_DAYS}


def prune(
    *,
    now: datetime | None = None,
    batch: int | None = None,
    message_log_days: int | None = None,
    meter_reading_days: int | None = None,
) -> dict[str, int]:
    """Delete every row older than its table's retention: {table: rows
    deleted}, 0 for a table kept. None means the setting
    (OCPP_PRUNE_BATCH, OCPP_MESSAGE_LOG_RETENTION_DAYS,
    OCPP_METER_READING_RETENTION_DAYS). Logs one line per table."""
    batch = settings.OCPP_PRUNE_BATCH if batch is None else batch
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch={batch!r}: use a whole number of rows, 1 or more")
    days = retention_days(message_log_days=message_log_days, meter_reading_days=meter_reading_days)
    for table in _TABLES:
        _refuse_cascades(table.model)  # before any table is touched
    now = now or timezone.now()
    deleted: dict[str, int] = {}
    for table in _TABLES:
        if not days[table.label]:
            deleted[table.label] = 0
            logger.info("%s: kept (retention 0 days)", table.label)
            continue
        cutoff = now - timedelta(days=days[table.label])
        started = time.perf_counter()
        rows, batches, longest = _prune_table(table, cutoff, batch)
        deleted[table.label] = rows
        logger.info(
            "%s: %d rows older than %s deleted in %d %s of at most %d rows (longest batch %.1f ms, %.3f s in all)",
            table.label,
            rows,
            cutoff.isoformat(timespec="seconds"),
            batches,
            "batch" if batches == 1 else "batches",
            batch,
            longest * 1000,
            time.perf_counter() - started,
        )
    return deleted


def prune_count(
    *, now: datetime | None = None, message_log_days: int | None = None, meter_reading_days: int | None = None
) -> dict[str, int]:
    """What `prune` would delete now: {table: rows}, 0 for a table kept."""
    days = retention_days(message_log_days=message_log_days, meter_reading_days=meter_reading_days)
    now = now or timezone.now()
    return {
        t.label: t.model._base_manager.filter(t.old(now - timedelta(days=days[t.label]))).count()
        if days[t.label]
        else 0
        for t in _TABLES
    }


def _prune_table(table: _Table, cutoff: datetime, batch: int) -> tuple[int, int, float]:
    """Rows deleted, batches run and the longest batch's seconds."""
    manager = table.model._base_manager
    label = table.model._meta.label
    rows = batches = 0
    longest = 0.0
    while True:
        # The primary keys of the `batch` oldest rows, read through the index
        # on `column` and deleted by the same statement (no id list crosses
        # the wire, so no backend's parameter limit applies).
        oldest = manager.filter(table.old(cutoff)).order_by(table.column).values("pk")[:batch]
        started = time.perf_counter()
        with transaction.atomic():
            _, per_model = manager.filter(pk__in=oldest).delete()
        longest = max(longest, time.perf_counter() - started)
        count = per_model.get(label, 0)
        rows += count
        batches += 1
        if count < batch:
            return rows, batches, longest


def _refuse_cascades(model: type[models.Model]) -> None:
    """A pruned row may only empty the foreign keys that point at it: a
    cascade would delete rows this module is meant to keep."""
    for relation in model._meta.related_objects:
        if relation.on_delete not in (models.SET_NULL, models.SET_DEFAULT):
            raise ImproperlyConfigured(
                f"{relation.related_model._meta.label}.{relation.field.name} refers to {model._meta.label} with "
                f"on_delete={relation.on_delete.__name__}: pruning {model._meta.label} would touch kept rows"
            )
