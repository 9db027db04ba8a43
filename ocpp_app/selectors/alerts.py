"""What an alert says about a charger event: the rows behind each published
event (runtime/events.py), read when its delivery rows are written (off the
charger's path), in three queries whatever the batch's size: the
transactions, the fault's status notification (info, vendor id and error
code), the security event's tech info. The id tag is masked as on every
page (`mask_id_tag`)."""

from datetime import datetime, timedelta

from ocpp_app.lib.alerts import (
    CHARGER_CONNECTED,
    CHARGER_OFFLINE,
    CONNECTOR_FAULTED,
    SECURITY_EVENT,
    TRANSACTION_STARTED,
    TRANSACTION_STOPPED,
)
from ocpp_app.lib.security_events import is_critical_security_event
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import ChargerEvent, ChargerEventKind, StatusNotificationRecord, Transaction
from ocpp_app.selectors.transactions import mask_id_tag
from ocpp_app.services.webhooks import AlertEvent

# A row is looked for this long before its event was published (it was
# stored just before: the event follows the commit).
LOOKBACK = timedelta(minutes=5)


def alert_events(published: list[tuple[str, datetime, str, dict]]) -> list[AlertEvent]:
    """Alert events of (alert type, published at, event id, published event)."""
    if not published:
        return []
    since = min(at for _, at, _, _ in published) - LOOKBACK
    chargers = {event["charger_id"] for _, _, _, event in published}
    by_type: dict[str, list[dict]] = {}
    for alert_type, _, _, event in published:
        by_type.setdefault(alert_type, []).append(event)
    faults = _faults(chargers, since) if CONNECTOR_FAULTED in by_type else {}
    security = _security(chargers, since) if SECURITY_EVENT in by_type else {}
    transaction_ids = {
        event.get("transaction_id")
        for kind in (TRANSACTION_STARTED, TRANSACTION_STOPPED)
        for event in by_type.get(kind, ())
        if isinstance(event.get("transaction_id"), int)
    }
    transactions = (
        {tx.pk: tx for tx in Transaction.objects.filter(pk__in=transaction_ids).select_related("charger")}
        if transaction_ids
        else {}
    )
    alerts = []
    for alert_type, at, event_id, event in published:
        charger_id = event["charger_id"]
        if alert_type == CHARGER_CONNECTED:
            data = {}
        elif alert_type == CHARGER_OFFLINE:
            data = {"reason": "disconnected"}
        elif alert_type == CONNECTOR_FAULTED:
            data = _fault_data(event, faults.get((charger_id, event.get("connector_id"))))
        elif alert_type == SECURITY_EVENT:
            data = _security_data(event, security.get((charger_id, event.get("event_type"))))
        else:
            tx = transactions.get(event.get("transaction_id"))
            if tx is not None and tx.charger.charger_id != charger_id:
                tx = None
            data = _transaction_data(event, tx)
        alerts.append(AlertEvent(type=alert_type, charger_id=charger_id, data=data, at=at, id=event_id))
    return alerts


def _faults(chargers: set[str], since: datetime) -> dict[tuple[str, int], StatusNotificationRecord]:
    """The latest Faulted notification of each (charger, connector)."""
    latest: dict[tuple[str, int], StatusNotificationRecord] = {}
    rows = (
        StatusNotificationRecord.objects.filter(
            charger__charger_id__in=chargers, status="Faulted", received_at__gte=since
        )
        .select_related("charger")
        .order_by("-id")
    )
    for row in rows:
        latest.setdefault((row.charger.charger_id, row.connector_id), row)
    return latest


def _security(chargers: set[str], since: datetime) -> dict[tuple[str, str], ChargerEvent]:
    latest: dict[tuple[str, str], ChargerEvent] = {}
    rows = (
        ChargerEvent.objects.filter(
            charger__charger_id__in=chargers, kind=ChargerEventKind.SECURITY, received_at__gte=since
        )
        .select_related("charger")
        .order_by("-id")
    )
    for row in rows:
        latest.setdefault((row.charger.charger_id, row.status), row)
    return latest


def _time(value: datetime | None) -> str | None:
    return format_datetime_utc(value) if value is not None else None


def _fault_data(event: dict, row: StatusNotificationRecord | None) -> dict:
    data = {
        "connector_id": event.get("connector_id"),
        "status": "Faulted",
        "error_code": event.get("error_code"),
        "info": "",
        "vendor_id": "",
        "vendor_error_code": "",
        "timestamp": None,
    }
    if row is not None:
        data.update(
            error_code=row.error_code,
            info=row.info,
            vendor_id=row.vendor_id,
            vendor_error_code=row.vendor_error_code,
            timestamp=_time(row.timestamp),
        )
    return data


def _security_data(event: dict, row: ChargerEvent | None) -> dict:
    event_type = event.get("event_type")
    payload = row.payload if row is not None and isinstance(row.payload, dict) else {}
    return {
        "event_type": event_type,
        "tech_info": payload.get("techInfo") or "",
        "timestamp": _time(row.timestamp) if row is not None else None,
        "critical": is_critical_security_event(event_type),
    }


def _transaction_data(event: dict, tx: Transaction | None) -> dict:
    data = {"transaction_id": event.get("transaction_id"), "connector_id": event.get("connector_id")}
    if tx is None:
        return data
    data.update(
        connector_id=tx.connector_id,
        id_tag=mask_id_tag(tx.id_tag),
        meter_start=tx.meter_start,
        start_time=_time(tx.start_time),
    )
    if event.get("state") == "stopped":
        data.update(
            meter_stop=tx.meter_stop,
            energy_wh=tx.energy_wh,
            stop_time=_time(tx.stop_time),
            stop_reason=tx.stop_reason,
        )
    return data
