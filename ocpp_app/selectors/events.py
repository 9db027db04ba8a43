"""What chargers reported about themselves: status notifications and
security events, with each security event's critical flag (derived from its
type, lib/security_events.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ocpp_app.lib.security_events import CRITICAL_SECURITY_EVENTS, is_critical_security_event
from ocpp_app.models import Charger, ChargerEvent, ChargerEventKind
from ocpp_app.selectors.common import filter_given

CRITICAL_WINDOW = timedelta(hours=24)


def critical_events() -> QuerySet[ChargerEvent]:
    return ChargerEvent.objects.filter(kind=ChargerEventKind.SECURITY, status__in=CRITICAL_SECURITY_EVENTS)


def charger_events(charger: Charger, *, kind: str = "", critical: bool | None = None) -> QuerySet[ChargerEvent]:
    """A charger's events, newest first; `critical` True: only critical
    security events, False: everything else, None: all."""
    qs = filter_given(ChargerEvent.objects.filter(charger=charger), kind=kind)
    if critical is True:
        qs = qs & critical_events()
    elif critical is False:
        qs = qs.exclude(pk__in=critical_events().filter(charger=charger).values("pk"))
    return qs.order_by("-id")


def recent_critical_events(*, since: datetime | None = None, limit: int = 10) -> tuple[int, list[ChargerEvent]]:
    """The number of critical security events since `since` (default: the
    last 24 hours) across all chargers, and the newest `limit` of them."""
    qs = critical_events().filter(received_at__gte=since or timezone.now() - CRITICAL_WINDOW)
    return qs.count(), list(qs.select_related("charger").only("charger__charger_id", *_EVENT_FIELDS)[:limit])


def charger_security_events(charger: Charger, *, limit: int = 10) -> list[ChargerEvent]:
    """A charger's latest security events, each with `critical` set."""
    return decorate_events(list(charger_events(charger, kind=ChargerEventKind.SECURITY)[:limit]))


def latest_event(charger: Charger, kind: str) -> ChargerEvent | None:
    return ChargerEvent.objects.filter(charger=charger, kind=kind).order_by("-id").first()


def event_is_critical(event: ChargerEvent) -> bool:
    return event.kind == ChargerEventKind.SECURITY and is_critical_security_event(event.status)


def decorate_events(events: list[ChargerEvent]) -> list[ChargerEvent]:
    for event in events:
        event.critical = event_is_critical(event)
    return events


_EVENT_FIELDS = ("kind", "status", "request_id", "payload", "timestamp", "received_at", "charger_id")
