"""Reads of what the central system keeps about its exchanges with chargers
beyond sessions: reservations, commands with their outcomes, charging
profiles, connector status history, security events across chargers, and one
transaction with a summary of its meter readings. Shared by the record pages
and the REST API; every filter with no value is no filter (`filter_given`),
every list is newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, CharField, Count, Max, Min, OuterRef, Prefetch, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from ocpp_app.lib.security_events import CRITICAL_SECURITY_EVENTS
from ocpp_app.models import (
    Charger,
    ChargerEvent,
    ChargerEventKind,
    ChargingProfileRecord,
    Command,
    MeterReading,
    Reservation,
    ReservationStatus,
    StatusNotificationRecord,
    Transaction,
)
from ocpp_app.selectors.common import filter_given
from ocpp_app.selectors.events import critical_events
from ocpp_app.selectors.transactions import decorate_transaction, transactions_with_live_values

# A reservation still held (asked for, or accepted) whose expiry date passed
# is expired, whether or not services.commands.reservations_expire has marked
# it so yet: a read never writes.
HELD = (ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED)


def _current_status(now: datetime) -> Case:
    return Case(
        When(status__in=HELD, expiry_date__lte=now, then=Value(ReservationStatus.EXPIRED.value)),
        default="status",
        output_field=CharField(),
    )


def reservations_filtered(
    *,
    charger_id: str | None = None,
    status: str | None = None,
    id_tag: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> QuerySet[Reservation]:
    """Reservations, newest first, each with `current_status` (its status, or
    Expired once a held one's expiry date passed), filtered by it; `since` and
    `until` are on the time the reservation was asked for."""
    qs = Reservation.objects.select_related("charger").annotate(current_status=_current_status(now or timezone.now()))
    qs = filter_given(
        qs,
        charger__charger_id=charger_id,
        current_status=status,
        id_tag=id_tag,
        created_at__gte=since,
        created_at__lt=until,
    )
    return qs.order_by("-id")


def reservation_get(pk: int) -> Reservation | None:
    return reservations_filtered().filter(pk=pk).first()


def commands_filtered(
    *,
    charger_id: str | None = None,
    action: str | None = None,
    status: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Command]:
    """Commands sent (or refused before sending), newest first, each with the
    number of status notifications linked to it (`event_count`: firmware,
    diagnostics and log uploads report back that way)."""
    linked = ChargerEvent.objects.filter(command=OuterRef("pk")).order_by().values("command").annotate(n=Count("id"))
    qs = Command.objects.select_related("charger", "created_by").annotate(
        event_count=Coalesce(Subquery(linked.values("n")), Value(0))
    )
    qs = filter_given(
        qs,
        charger__charger_id=charger_id,
        action=action,
        status=status,
        source=source,
        created_at__gte=since,
        created_at__lt=until,
    )
    return qs.order_by("-id")


def command_get(pk: int) -> Command | None:
    """One command with its linked status notifications, oldest first."""
    events = Prefetch("events", queryset=ChargerEvent.objects.order_by("id"), to_attr="linked_events")
    return commands_filtered().filter(pk=pk).prefetch_related(events).first()


def charging_profiles_filtered(
    *,
    charger_id: str | None = None,
    connector_id: int | None = None,
    purpose: str | None = None,
    in_force: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ChargingProfileRecord]:
    """Charging profiles sent, newest first. In force: accepted and not
    cleared since (by ClearChargingProfile, or replaced by a profile with its
    id, or its purpose and stack level); a profile the charger did not take is
    on record as cleared at once (services/commands/smart_charging.py)."""
    qs = filter_given(
        ChargingProfileRecord.objects.select_related("charger"),
        charger__charger_id=charger_id,
        connector_id=connector_id,
        purpose=purpose,
        created_at__gte=since,
        created_at__lt=until,
    )
    if in_force is not None:
        qs = qs.filter(cleared_at__isnull=in_force)
    return qs.order_by("-id")


def status_history(
    charger: Charger,
    *,
    connector_id: int | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[StatusNotificationRecord]:
    """A charger's StatusNotifications as received, newest first; `since` and
    `until` are on the time the central system received each one (the
    charger's own timestamp may be missing or off)."""
    return filter_given(
        StatusNotificationRecord.objects.filter(charger=charger),
        connector_id=connector_id,
        status=status,
        received_at__gte=since,
        received_at__lt=until,
    ).order_by("-id")


def security_events_filtered(
    *,
    charger_id: str | None = None,
    event_type: str | None = None,
    critical: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ChargerEvent]:
    """SecurityEventNotifications of every charger, newest first; `critical`
    as on a charger's own events (selectors/events.py), `since` and `until` on
    the time they were received."""
    qs = filter_given(
        ChargerEvent.objects.filter(kind=ChargerEventKind.SECURITY).select_related("charger"),
        charger__charger_id=charger_id,
        status=event_type,
        received_at__gte=since,
        received_at__lt=until,
    )
    if critical is True:
        qs = qs & critical_events()
    elif critical is False:
        qs = qs.exclude(status__in=CRITICAL_SECURITY_EVENTS)
    return qs.order_by("-id")


@dataclass(frozen=True)
class ReadingSummary:
    count: int
    first_timestamp: datetime | None
    last_timestamp: datetime | None
    measurands: list[str]


def transaction_get(pk: int) -> Transaction | None:
    """One transaction with its live values (`energy_so_far_wh`, `power_w`)."""
    tx = transactions_with_live_values(Transaction.objects.select_related("charger").filter(pk=pk)).first()
    return decorate_transaction(tx) if tx is not None else None


def transaction_reading_summary(tx: Transaction) -> ReadingSummary:
    """How many meter readings a transaction has, over what time, of which
    measurands (two queries on the (transaction, timestamp) index)."""
    readings = MeterReading.objects.filter(transaction=tx).order_by()
    span = readings.aggregate(count=Count("id"), first=Min("timestamp"), last=Max("timestamp"))
    measurands = sorted(set(readings.values_list("measurand", flat=True).distinct()))
    return ReadingSummary(
        count=span["count"], first_timestamp=span["first"], last_timestamp=span["last"], measurands=measurands
    )
