"""Alerts, the subscriber side: webhooks (their secret, generated or given,
stored encrypted), which event types anything subscribes to, and the
queueing of events as delivery rows, one per event and subscriber (a
webhook that wants it, the e-mail recipients of OCPP_ALERT_EMAILS). The
sending is services/alert_deliveries.py's.

`wants` is asked on the charger's path and reads only memory: the event
types some active webhook or the e-mail rule subscribes to, loaded aside
(`subscriptions_refresh`: at start, every few seconds by the sender, and
after a webhook of this process is saved). Which subscriber gets a row is
decided again from the database when the rows are written, so a stale
answer only costs an event buffered for nothing, or, for a webhook made on
another node in the last seconds, one not buffered.
"""

import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ocpp_app.lib.alerts import PING
from ocpp_app.lib.jsontext import dumps
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger, Delivery, DeliveryChannel, Webhook
from ocpp_app.services.secrets import secret_encrypt

SECRET_MIN, SECRET_MAX = 16, 200


class WebhookError(ValueError):
    """Input a webhook cannot take: {field: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class AlertEvent:
    type: str
    charger_id: str
    data: dict
    at: datetime = field(default_factory=timezone.now)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


def event_body(event: AlertEvent) -> str:
    """The JSON text a delivery sends (and signs), the same at every attempt."""
    return dumps(
        {
            "id": event.id,
            "type": event.type,
            "time": format_datetime_utc(event.at, timespec="milliseconds"),
            "charger_id": event.charger_id,
            "data": event.data,
        }
    )


# -- webhooks ------------------------------------------------------------------------------


def secret_problem(secret: object) -> str | None:
    if not isinstance(secret, str):
        return "the secret is text"
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        return f"a secret of {SECRET_MIN} to {SECRET_MAX} characters (leave it out to have one made)"
    if any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in secret):
        return "a secret of printable ASCII characters without spaces"
    return None


def chargers_problem(charger_ids: list[str]) -> str | None:
    """A webhook's charger filter names known chargers only: a typo would
    make a webhook that never fires."""
    known = set(Charger.objects.filter(charger_id__in=charger_ids).values_list("charger_id", flat=True))
    unknown = sorted(set(charger_ids) - known)
    return f"unknown charger(s): {', '.join(unknown[:10])}" if unknown else None


def secret_generate() -> str:
    return secrets.token_urlsafe(32)


def webhook_set_secret(webhook: Webhook, secret: str | None) -> str:
    """Give `webhook` (not saved here) the secret `secret`, or a new one
    when None; returns it in clear, for the one answer that shows it."""
    secret = secret_generate() if secret is None else secret
    if (problem := secret_problem(secret)) is not None:
        raise WebhookError({"secret": [problem[0].upper() + problem[1:] + "."]})
    webhook.secret = secret_encrypt(secret)
    return secret


def webhook_ping(*, webhook: Webhook) -> Delivery:
    """Queue a test event for `webhook`, whatever it subscribes to."""
    if not webhook.active:
        raise WebhookError({"active": ["The webhook is not active: activate it before a ping."]})
    event = AlertEvent(PING, "", {"webhook_id": webhook.pk, "message": "A test event: the signature is checked."})
    return Delivery.objects.create(
        channel=DeliveryChannel.WEBHOOK,
        webhook=webhook,
        event_id=event.id,
        event_type=event.type,
        body=event_body(event),
        next_attempt_at=event.at,
        created_at=event.at,
    )


# -- subscriptions ---------------------------------------------------------------------------

_subscribed: frozenset[str] | None = None  # None: not loaded yet
# Bumped by every change made here. A load that began before a change must
# not store what it read: it may have read the old rows and finish after the
# change's own load, which would undo it for the seconds until the next one.
_generation = 0
_lock = threading.Lock()


def subscriptions_read() -> tuple[int, frozenset[str]]:
    """What the database says is subscribed, and the change it was read after."""
    with _lock:
        began = _generation
    types: set[str] = set()
    for event_types in Webhook.objects.filter(active=True).values_list("event_types", flat=True):
        types.update(t for t in event_types or () if isinstance(t, str))
    if settings.OCPP_ALERT_EMAILS:
        types.update(settings.OCPP_ALERT_EMAIL_EVENTS)
    return began, frozenset(types)


def subscriptions_store(began: int, types: frozenset[str]) -> bool:
    """Keep what a read found, unless a change was made here since it began."""
    global _subscribed
    with _lock:
        if began != _generation:
            return False
        _subscribed = types
        return True


def subscriptions_refresh() -> frozenset[str]:
    """Load which event types anything subscribes to (a database read)."""
    began, types = subscriptions_read()
    subscriptions_store(began, types)
    return types


def _changed_refresh() -> None:
    global _generation
    with _lock:
        _generation += 1
    subscriptions_refresh()


def subscriptions_changed() -> None:
    """A webhook was saved or deleted here: load again once it is committed
    (and let no load that began before it store what it read)."""
    transaction.on_commit(_changed_refresh)


def wants(event_type: str) -> bool:
    """Whether anything may want `event_type`; memory only (the charger's
    path asks). Before the first load, yes."""
    subscribed = _subscribed
    return subscribed is None or event_type in subscribed


# -- the queue -------------------------------------------------------------------------------


def alerts_enqueue(events: list[AlertEvent]) -> int:
    """Write a delivery row per event and subscriber that wants it (an
    active webhook whose types and chargers match, the e-mail rule); runs in
    the caller's transaction when there is one. Returns the rows written."""
    if not events:
        return 0
    hooks = list(Webhook.objects.filter(active=True).only("id", "event_types", "chargers"))
    emails = ",".join(settings.OCPP_ALERT_EMAILS)
    email_types = frozenset(settings.OCPP_ALERT_EMAIL_EVENTS) if emails else frozenset()
    now = timezone.now()
    rows: list[Delivery] = []
    for event in events:
        body = None
        for hook in hooks:
            if hook.wants(event.type, event.charger_id):
                body = body or event_body(event)
                rows.append(_row(event, body, now, channel=DeliveryChannel.WEBHOOK, webhook_id=hook.pk))
        if event.type in email_types:
            body = body or event_body(event)
            rows.append(_row(event, body, now, channel=DeliveryChannel.EMAIL, recipients=emails))
    Delivery.objects.bulk_create(rows, batch_size=500)
    return len(rows)


def _row(event: AlertEvent, body: str, now: datetime, **fields) -> Delivery:
    return Delivery(
        event_id=event.id,
        event_type=event.type,
        charger_id=event.charger_id[:100],
        body=body,
        next_attempt_at=now,
        created_at=now,
        **fields,
    )
