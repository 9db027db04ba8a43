"""Authorization and transactions: the durable heart of the CSMS.

Chargers store transaction messages while offline and replay them after an
outage (OCPP 1.6 §4.7), and resend one whose answer was lost, so every write
here is idempotent: the same message twice changes nothing the second time.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ocpp_app.lib.limits import INT64_MAX
from ocpp_app.models import (
    RFID,
    Charger,
    ChargerEvent,
    ChargerEventKind,
    ChargingProfileRecord,
    Reservation,
    ReservationStatus,
    RFIDStatus,
    Transaction,
)
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.common import IdTagInfo, clip
from ocpp_app.services.meter_values import store_transaction_readings

TX_PROFILE = "TxProfile"  # a charging profile purpose (OCPP 1.6 ChargingProfilePurposeType)

logger = logging.getLogger(__name__)


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
                store_transaction_readings(charger, 0, None, transaction_data)
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
            store_transaction_readings(charger, tx.connector_id, tx, transaction_data)
        # A TxProfile lives as long as its transaction: the charger drops it
        # when the session ends, so it is no longer in force on record either.
        ChargingProfileRecord.objects.filter(
            charger=charger, connector_id=tx.connector_id, purpose=TX_PROFILE, cleared_at__isnull=True
        ).update(cleared_at=timezone.now())
    return StopResult(id_tag_info, stopped=True)
