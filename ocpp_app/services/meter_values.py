"""Meter values: every sampled value a charger reports, stored once.

A replay (the same transaction and timestamp, or for readings outside a
transaction the same connector and timestamp) changes nothing: chargers
resend what they are not sure was received, and replay their offline queue.
"""

import math
from datetime import datetime

from django.db import connection
from django.utils import timezone

from ocpp_app.models import Charger, ChargerEvent, ChargerEventKind, MeterReading, Transaction
from ocpp_app.models.transactions import ENERGY_REGISTER
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.sql import column_map


def meter_values_store(
    *, charger_id: str, connector_id: int, transaction_id: int | None, meter_value: list[dict], raw: dict | None = None
) -> int:
    """Store every sampled value; a replay of the same transaction and timestamp
    is stored once. Returns the number of readings written."""
    return meter_values_store_many(
        [
            {
                "charger_id": charger_id,
                "connector_id": connector_id,
                "transaction_id": transaction_id,
                "meter_value": meter_value,
                "raw": raw,
            }
        ]
    )[0]


def meter_values_store_many(calls: list[dict]) -> list[int]:
    """meter_values_store for a whole group-commit batch: one query each to find
    the chargers, their transactions and the readings already stored, one
    INSERT for every reading and one UPDATE for every charger's latest payload,
    instead of five statements per message. Calls come in arrival order, and a
    charger has one message in flight, so keeping the last `raw` per charger
    keeps its latest MeterValues."""
    charger_ids = {call["charger_id"] for call in calls}
    charger_pks = column_map(Charger, "charger_id", "id", charger_ids)
    for charger_id in charger_ids - charger_pks.keys():
        charger_pks[charger_id] = charger_get_or_create(charger_id=charger_id).pk
    tx_ids = {call["transaction_id"] for call in calls if call["transaction_id"] is not None}
    tx_owner = column_map(Transaction, "id", "charger", tx_ids)

    # (charger pk, connector, transaction pk or None) per call.
    keys = []
    for call in calls:
        charger_pk = charger_pks[call["charger_id"]]
        tx_pk = call["transaction_id"]
        if tx_pk is not None and tx_owner.get(tx_pk) != charger_pk:
            # Unknown or another charger's: keep the readings, unattached.
            ChargerEvent.objects.create(
                charger_id=charger_pk,
                kind=ChargerEventKind.TRANSACTION,
                status="MeterValuesForUnknownTransaction",
                payload={"transactionId": tx_pk},
                timestamp=timezone.now(),
            )
            tx_pk = None
        keys.append((charger_pk, call["connector_id"], tx_pk))

    seen = _stored_timestamps(keys, calls)
    rows: list[tuple] = []
    counts = []
    latest_raw: dict[int, dict] = {}
    for (charger_pk, connector_id, tx_pk), call in zip(keys, calls, strict=True):
        dedupe_key = ("tx", tx_pk) if tx_pk is not None else ("cp", charger_pk, connector_id)
        before = len(rows)
        for mv in call["meter_value"]:
            moment = _moment(mv["timestamp"])
            if (dedupe_key, moment) in seen:
                continue
            seen.add((dedupe_key, moment))  # a replay within the same batch
            rows.extend(_reading_rows(charger_pk, connector_id, tx_pk, mv))
        counts.append(len(rows) - before)
        if call.get("raw") is not None:
            latest_raw[charger_pk] = call["raw"]
    _insert_readings(rows)
    _set_last_meter_values(latest_raw)
    return counts


def _set_last_meter_values(latest_raw: dict[int, dict]) -> None:
    """One prepared UPDATE run for every charger of the batch: the ORM's
    UPDATE ... CASE WHEN compiled an expression per charger, two thirds of
    the batch's time."""
    if not latest_raw:
        return
    field = Charger._meta.get_field("last_meter_values")
    quote = connection.ops.quote_name
    sql = f"UPDATE {quote(Charger._meta.db_table)} SET {quote(field.column)} = %s WHERE {quote('id')} = %s"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(field.get_db_prep_value(raw, connection), pk) for pk, raw in latest_raw.items()])


meter_values_store.many = meter_values_store_many  # type: ignore[attr-defined]


def _stored_timestamps(keys: list[tuple], calls: list[dict]) -> set:
    """The (dedupe key, moment) pairs already stored for these calls, where a
    moment is a timestamp as the database holds it (`_moment`). Looked up by
    exact (transaction, timestamp) pairs, so the cost follows the batch, not
    the transactions' history: `transaction_id IN (...) AND timestamp IN
    (...)` read every reading of every transaction in the batch."""
    tx_pairs: set[tuple] = set()
    unbound: set[tuple] = set()
    for (charger_pk, connector_id, tx_pk), call in zip(keys, calls, strict=True):
        for mv in call["meter_value"]:
            if tx_pk is not None:
                tx_pairs.add((tx_pk, _moment(mv["timestamp"])))
            else:
                unbound.add((charger_pk, connector_id, _moment(mv["timestamp"])))
    table = connection.ops.quote_name(MeterReading._meta.db_table)
    seen = set()
    for tx_pk, moment in _select_pairs(
        f"SELECT DISTINCT transaction_id, timestamp FROM {table} WHERE (transaction_id, timestamp) IN", tx_pairs
    ):
        seen.add((("tx", tx_pk), _moment(moment)))
    for charger_pk, connector_id, moment in _select_pairs(
        f"SELECT DISTINCT charger_id, connector_id, timestamp FROM {table} "
        "WHERE transaction_id IS NULL AND (charger_id, connector_id, timestamp) IN",
        unbound,
    ):
        seen.add((("cp", charger_pk, connector_id), _moment(moment)))
    return seen


def _moment(timestamp: datetime):
    """A timestamp as the database stores it (SQLite: text), for comparing
    what a message carries with what a query returned."""
    return connection.ops.adapt_datetimefield_value(timestamp)


def _select_pairs(sql: str, rows: set[tuple], chunk: int = 300) -> list[tuple]:
    """`sql` followed by `(VALUES (...), ...)` of `rows`, in chunks."""
    found: list[tuple] = []
    ordered = list(rows)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), chunk):
            part = ordered[start : start + chunk]
            width = len(part[0])
            values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(part))
            cursor.execute(f"{sql} (VALUES {values})", [value for row in part for value in row])
            found.extend(cursor.fetchall())
    return found


def store_transaction_readings(
    charger: Charger, connector_id: int, tx: Transaction | None, meter_value: list[dict]
) -> int:
    """Readings of one message (StopTransaction's transactionData).
    meter_value: [{"timestamp": datetime, "sampled_value": [{...snake_case}]}]"""
    tx_pk = tx.pk if tx is not None else None
    keys = [(charger.pk, connector_id, tx_pk)]
    seen = _stored_timestamps(keys, [{"meter_value": meter_value}])
    dedupe_key = ("tx", tx_pk) if tx_pk is not None else ("cp", charger.pk, connector_id)
    rows = []
    for mv in meter_value:
        moment = _moment(mv["timestamp"])
        if (dedupe_key, moment) in seen:
            continue
        seen.add((dedupe_key, moment))
        rows.extend(_reading_rows(charger.pk, connector_id, tx_pk, mv))
    _insert_readings(rows)
    return len(rows)


_READING_COLUMNS = (
    "charger_id",
    "connector_id",
    "transaction_id",
    "timestamp",
    "measurand",
    "phase",
    "unit",
    "context",
    "location",
    "format",
    "value",
    "value_numeric",
    "received_at",
)


def _reading_rows(charger_pk: int, connector_id: int, tx_pk: int | None, mv: dict) -> list[tuple]:
    rows = []
    received = timezone.now()
    for sv in mv.get("sampled_value", []):
        measurand = sv.get("measurand") or ENERGY_REGISTER
        value = str(sv.get("value", ""))
        fmt = sv.get("format") or "Raw"
        try:
            numeric = float(value) if fmt == "Raw" else None
        except ValueError:
            numeric = None
        if numeric is not None and not math.isfinite(numeric):
            # "nan", "inf", "1e999" are strings the schema allows; an
            # infinity would poison sums and break JSON output.
            numeric = None
        rows.append(
            (
                charger_pk,
                connector_id,
                tx_pk,
                mv["timestamp"],
                measurand,
                sv.get("phase") or "",
                sv.get("unit") or ("Wh" if measurand.startswith("Energy") else ""),
                sv.get("context") or "Sample.Periodic",
                sv.get("location") or "Outlet",
                fmt,
                value,
                numeric,
                received,
            )
        )
    return rows


def _insert_readings(rows: list[tuple]) -> None:
    """One executemany for all readings: the ORM's bulk_create compiled every
    field of every row and was a third of the writer's time. Conflicts with
    the unique constraint (a concurrent replay on another socket) are skipped."""
    if not rows:
        return
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    columns = ", ".join(quote(column) for column in _READING_COLUMNS)
    values = ", ".join(["%s"] * len(_READING_COLUMNS))
    table = quote(MeterReading._meta.db_table)
    if connection.vendor == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({values})"
    else:
        sql = f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING"
    # A message's readings share its timestamp and receipt time: adapt each
    # datetime once, not once per sampled value (a fifth of the writer's time).
    adapted: dict = {}

    def once(moment):
        value = adapted.get(moment)
        if value is None:
            value = adapted[moment] = adapt(moment)
        return value

    params = [(*row[:3], once(row[3]), *row[4:12], once(row[12])) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
