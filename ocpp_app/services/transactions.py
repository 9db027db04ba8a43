"""Authorization, transactions and meter values: the durable heart of the CSMS.

Chargers store transaction messages while offline and replay them after an
outage (OCPP 1.6 §4.7), and resend one whose answer was lost, so every write
here is idempotent: the same message twice changes nothing the second time.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ocpp_app.lib.limits import INT64_MAX
from ocpp_app.models import (
    RFID,
    Charger,
    ChargerEvent,
    ChargerEventKind,
    MeterReading,
    Reservation,
    ReservationStatus,
    RFIDStatus,
    Transaction,
)
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.common import IdTagInfo, clip

logger = logging.getLogger(__name__)

ENERGY_REGISTER = "Energy.Active.Import.Register"


def authorize_id_tag(*, charger: Charger, id_tag: str) -> IdTagInfo:
    """The RFID table decides for known tags; an unknown tag is Invalid where the
    charger requires RFID, else Accepted for OCPP_UNKNOWN_TAG_EXPIRY_HOURS."""
    now = timezone.now()
    card = RFID.objects.filter(id_tag=id_tag).values_list("status", "expiry_date", "parent_id_tag").first()
    if card is None:
        if charger.require_rfid:
            return IdTagInfo(status=RFIDStatus.INVALID)
        return IdTagInfo(
            status=RFIDStatus.ACCEPTED, expiry_date=now + timedelta(hours=settings.OCPP_UNKNOWN_TAG_EXPIRY_HOURS)
        )
    status, expiry_date, parent = card
    if expiry_date is not None and expiry_date <= now and status == RFIDStatus.ACCEPTED:
        status = RFIDStatus.EXPIRED
    return IdTagInfo(status=status, expiry_date=expiry_date, parent_id_tag=parent or None)


def id_tag_authorize(*, charger_id: str, id_tag: str) -> IdTagInfo:
    return authorize_id_tag(charger=charger_get_or_create(charger_id=charger_id), id_tag=id_tag)


@dataclass(frozen=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo
    created: bool


def transaction_start(
    *,
    charger_id: str,
    connector_id: int,
    id_tag: str,
    meter_start: int,
    timestamp: datetime,
    reservation_id: int | None = None,
) -> StartResult:
    """Always returns a transaction id, even for a tag that is not Accepted (the
    charger then stops the session). A replay with the same connector,
    timestamp and meterStart returns the same id and creates nothing."""
    charger = charger_get_or_create(charger_id=charger_id)
    id_tag_info = authorize_id_tag(charger=charger, id_tag=id_tag)
    existing = Transaction.objects.filter(
        charger=charger, connector_id=connector_id, start_time=timestamp, meter_start=meter_start
    ).first()
    if existing is not None:
        return StartResult(existing.pk, id_tag_info, created=False)
    try:
        with transaction.atomic():
            # A connector has at most one open transaction. A new start on a
            # connector whose previous stop never arrived closes that one; a
            # late real StopTransaction still overwrites these values.
            for stale in Transaction.objects.select_for_update().filter(
                charger=charger, connector_id=connector_id, stop_time__isnull=True
            ):
                stale.stop_time = max(timestamp, stale.start_time)
                stale.stopped_by_server = True
                stale.stop_reason = "Other"
                stale.notes = (stale.notes + "\nClosed by the server: a newer StartTransaction arrived.").strip()
                stale.save()
            tx = Transaction.objects.create(
                charger=charger,
                connector_id=connector_id,
                id_tag=id_tag,
                id_tag_status=id_tag_info.status,
                meter_start=meter_start,
                start_time=timestamp,
                reservation_id=reservation_id,
            )
            if reservation_id is not None:
                Reservation.objects.filter(charger=charger, reservation_id=reservation_id).exclude(
                    status=ReservationStatus.USED
                ).update(status=ReservationStatus.USED, transaction=tx)
    except IntegrityError:
        # The same start raced in on another socket of this charger.
        tx = Transaction.objects.get(
            charger=charger, connector_id=connector_id, start_time=timestamp, meter_start=meter_start
        )
        return StartResult(tx.pk, id_tag_info, created=False)
    return StartResult(tx.pk, id_tag_info, created=True)


def _record_anomaly(charger: Charger, status: str, payload: dict) -> None:
    ChargerEvent.objects.create(
        charger=charger, kind=ChargerEventKind.TRANSACTION, status=status, payload=payload, timestamp=timezone.now()
    )
    logger.warning("charger %s: %s %s", charger.charger_id, status, payload)


@dataclass(frozen=True)
class StopResult:
    id_tag_info: IdTagInfo | None
    stopped: bool  # False for a replay, an unknown or a foreign transaction


def transaction_stop(
    *,
    charger_id: str,
    transaction_id: int,
    meter_stop: int,
    timestamp: datetime,
    id_tag: str | None = None,
    reason: str | None = None,
    transaction_data: list[dict] | None = None,
) -> StopResult:
    """Never fails for charger mistakes: an unknown id, an already stopped one,
    another charger's id or meterStop < meterStart is recorded and answered, so
    the charger can drain its queue; it never stops someone else's transaction."""
    charger = charger_get_or_create(charger_id=charger_id)
    id_tag_info = authorize_id_tag(charger=charger, id_tag=id_tag) if id_tag else None
    facts = {"transactionId": transaction_id, "meterStop": meter_stop, "timestamp": timestamp.isoformat()}
    with transaction.atomic():
        # Lock: a replayed stop on a second socket must not stop twice.
        tx = Transaction.objects.select_for_update().filter(pk=transaction_id, charger=charger).first()
        if tx is None:
            foreign = Transaction.objects.filter(pk=transaction_id).exists()
            _record_anomaly(charger, "ForeignTransaction" if foreign else "UnknownTransaction", facts)
            if transaction_data:
                # Keep the readings even without a transaction to attach them to.
                _store_meter_values(charger, 0, None, transaction_data)
            return StopResult(id_tag_info, stopped=False)
        if tx.stop_time is not None and not tx.stopped_by_server:
            # A replay: answered again, no second stop, but kept on record.
            _record_anomaly(charger, "TransactionAlreadyStopped", facts)
            return StopResult(id_tag_info, stopped=False)
        tx.meter_stop = meter_stop
        tx.stop_time = timestamp
        tx.stop_reason = clip(reason or "Local", 30)
        tx.stop_id_tag = clip(id_tag, 20)
        tx.stopped_by_server = False
        if meter_stop < tx.meter_start:
            tx.energy_wh = 0
            tx.notes = (tx.notes + f"\nmeterStop {meter_stop} is below meterStart {tx.meter_start}.").strip()
            _record_anomaly(charger, "MeterStopBelowStart", facts | {"meterStart": tx.meter_start})
        else:
            # Both meters fit a BIGINT, their difference may not (an absurd
            # negative meterStart): clamp rather than fail the stop.
            tx.energy_wh = min(meter_stop - tx.meter_start, INT64_MAX)
        tx.save()
        if transaction_data:
            _store_meter_values(charger, tx.connector_id, tx, transaction_data)
    return StopResult(id_tag_info, stopped=True)


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
    charger_pks = dict(Charger.objects.filter(charger_id__in=charger_ids).values_list("charger_id", "pk"))
    for charger_id in charger_ids - charger_pks.keys():
        charger_pks[charger_id] = charger_get_or_create(charger_id=charger_id).pk
    tx_ids = {call["transaction_id"] for call in calls if call["transaction_id"] is not None}
    tx_owner = dict(Transaction.objects.filter(pk__in=tx_ids).values_list("pk", "charger_id")) if tx_ids else {}

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


def _store_meter_values(charger: Charger, connector_id: int, tx: Transaction | None, meter_value: list[dict]) -> int:
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
