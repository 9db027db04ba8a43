"""Alerts, the sending side: the durable queue of deliveries that every node
of a cluster sends from (management/webhook_sender.py does the I/O).

- **Claim.** A sender takes due rows in one short transaction: locked with
  `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, so two nodes never take
  the same row, counted as an attempt and moved `lease` seconds ahead (the
  claim). The lock ends with the transaction; the HTTP request runs outside
  it. A node that dies mid-send leaves the row to come due again when its
  claim runs out: delivery is at least once, and X-OCPP-Delivery lets a
  receiver drop a repeat. SQLite serves one process, which claims alone.
- **Fairness.** A sender says how many sends it has in flight per target (a
  webhook, or the mail server); a target at its bound is left out of the
  claim, so a slow or dead receiver only ever holds its own slots.
- **Outcome.** A 2xx answer (or a mail server that took the message)
  delivers; anything else waits `retry_delay` and is tried again, until
  OCPP_WEBHOOK_MAX_ATTEMPTS attempts were made: then it failed. A 410 Gone
  says the receiver is no more: the webhook is made inactive and its
  pending deliveries fail with it. An outcome for an attempt that is no
  longer the row's (its claim ran out and another node took it, an
  operator's retry) changes nothing.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ocpp_app.lib.alerts import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, retry_delay, signature
from ocpp_app.models import Delivery, DeliveryChannel, DeliveryStatus, Webhook
from ocpp_app.services.secrets import SecretUnreadable, secret_decrypt
from ocpp_app.services.webhooks import subscriptions_changed

EMAIL_TARGET = "email"
GONE = 410
ERROR_MAX = 500  # characters of an error kept on the row
USER_AGENT = "ocpp-central-system-alerts/1"


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender took: everything its attempt needs, no ORM row."""

    pk: int
    uuid: str
    channel: str
    target: str
    attempt: int
    event_type: str
    charger_id: str
    body: str
    url: str = ""
    recipients: tuple[str, ...] = ()
    # The webhook's secret in clear, for signing only: never in a repr, a log or an answer.
    secret: str = field(default="", repr=False)
    problem: str = ""  # why it cannot be sent (a secret this key cannot read)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None = None
    error: str = ""


def target_of(channel: str, webhook_id: int | None) -> str:
    return EMAIL_TARGET if channel == DeliveryChannel.EMAIL else f"webhook:{webhook_id}"


def deliveries_claim(
    *,
    claimer: str,
    busy: dict[str, int],
    per_target: int,
    limit: int,
    lease: float,
    now: datetime | None = None,
) -> list[Claimed]:
    """Take up to `limit` due deliveries for `claimer`, at most `per_target`
    in flight per target counting `busy` (its sends in flight by target);
    deliveries of an inactive webhook wait. Each taken row counts an
    attempt and is not due again for `lease` seconds."""
    now = now or timezone.now()
    full = {target for target, count in busy.items() if count >= per_target}
    with transaction.atomic():
        due = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).filter(
            Q(webhook__isnull=True) | Q(webhook__active=True)
        )
        full_hooks = [int(target.split(":", 1)[1]) for target in full if target.startswith("webhook:")]
        if full_hooks:
            due = due.exclude(webhook_id__in=full_hooks)
        if EMAIL_TARGET in full:
            due = due.exclude(channel=DeliveryChannel.EMAIL)
        rows = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .order_by("next_attempt_at", "id")[:limit]
        )
        counts = dict(busy)
        taken = []
        for row in rows:
            target = target_of(row.channel, row.webhook_id)
            if counts.get(target, 0) >= per_target:
                continue
            counts[target] = counts.get(target, 0) + 1
            taken.append(row)
        if taken:
            Delivery.objects.filter(pk__in=[row.pk for row in taken]).update(
                attempts=F("attempts") + 1,
                next_attempt_at=now + timedelta(seconds=lease),
                claimed_by=claimer[:200],
                updated_at=now,
            )
    return [_claimed(row) for row in taken]


def _claimed(row: Delivery) -> Claimed:
    common = {
        "pk": row.pk,
        "uuid": str(row.uuid),
        "channel": row.channel,
        "target": target_of(row.channel, row.webhook_id),
        "attempt": row.attempts + 1,
        "event_type": row.event_type,
        "charger_id": row.charger_id,
        "body": row.body,
    }
    if row.channel == DeliveryChannel.EMAIL:
        return Claimed(**common, recipients=tuple(r for r in row.recipients.split(",") if r))
    try:
        secret = secret_decrypt(row.webhook.secret)
    except SecretUnreadable as error:
        return Claimed(**common, url=row.webhook.url, problem=str(error))
    return Claimed(**common, url=row.webhook.url, secret=secret)


def request_headers(claimed: Claimed, body: bytes) -> dict[str, str]:
    """The headers of a webhook POST: the signature of `body` with the
    webhook's secret, the event type and the delivery id."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(claimed.secret, body),
        EVENT_HEADER: claimed.event_type,
        DELIVERY_HEADER: claimed.uuid,
    }


def delivery_record(*, pk: int, attempt: int, outcome: Outcome, now: datetime | None = None) -> str | None:
    """Store how attempt `attempt` of delivery `pk` went: returns
    "delivered", "retry", "failed", or None when the row had moved on."""
    now = now or timezone.now()
    with transaction.atomic():
        row = (
            Delivery.objects.select_for_update()
            .filter(pk=pk, attempts=attempt, status=DeliveryStatus.PENDING)
            .only("pk", "webhook_id")
            .first()
        )
        if row is None:
            return None
        fields = {
            "last_status_code": outcome.status_code,
            "last_error": outcome.error[:ERROR_MAX],
            "claimed_by": "",
            "updated_at": now,
        }
        if outcome.ok:
            verdict = "delivered"
            fields.update(status=DeliveryStatus.DELIVERED, finished_at=now, last_error="")
        elif outcome.status_code == GONE and row.webhook_id is not None:
            verdict = "failed"
            Webhook.objects.filter(pk=row.webhook_id).update(active=False, updated_at=now)
            Delivery.objects.filter(webhook_id=row.webhook_id, status=DeliveryStatus.PENDING).exclude(pk=pk).update(
                status=DeliveryStatus.FAILED,
                finished_at=now,
                claimed_by="",
                last_error="not sent: the receiver answered 410 Gone to another delivery; the webhook was disabled",
                updated_at=now,
            )
            fields.update(
                status=DeliveryStatus.FAILED,
                finished_at=now,
                last_error="the receiver answered 410 Gone: the webhook was disabled",
            )
            subscriptions_changed()
        elif attempt >= settings.OCPP_WEBHOOK_MAX_ATTEMPTS:
            verdict = "failed"
            fields.update(status=DeliveryStatus.FAILED, finished_at=now)
        else:
            verdict = "retry"
            wait = retry_delay(attempt, base=settings.OCPP_WEBHOOK_BACKOFF_BASE, cap=settings.OCPP_WEBHOOK_BACKOFF_MAX)
            fields["next_attempt_at"] = now + timedelta(seconds=wait)
        Delivery.objects.filter(pk=pk).update(**fields)
    return verdict


def deliveries_retry(*, pks: list[int], now: datetime | None = None) -> int:
    """ "Retry now": the pending or failed deliveries among `pks` are due at
    once (a failed one gets one more attempt); one a sender has in flight is
    left to it. Returns how many were made due."""
    now = now or timezone.now()
    in_flight = Q(status=DeliveryStatus.PENDING, next_attempt_at__gt=now) & ~Q(claimed_by="")
    return (
        Delivery.objects.filter(pk__in=pks)
        .exclude(status=DeliveryStatus.DELIVERED)
        .exclude(in_flight)
        .update(status=DeliveryStatus.PENDING, next_attempt_at=now, finished_at=None, updated_at=now)
    )


def deliveries_pending() -> int:
    """The queue's depth: deliveries not yet delivered or failed."""
    return Delivery.objects.filter(status=DeliveryStatus.PENDING).count()


def email_send(claimed: Claimed) -> Outcome:
    """Send an e-mail delivery through Django's mail settings (blocking:
    run it on a worker thread)."""
    subject, text = email_text(claimed)
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, list(claimed.recipients), fail_silently=False)
    except Exception as error:  # SMTP refusals, network errors, a bad TLS set-up: retried
        return Outcome(ok=False, error=f"{type(error).__name__}: {error}")
    return Outcome(ok=True)


def email_text(claimed: Claimed) -> tuple[str, str]:
    """The subject and text of an alert e-mail: the event in words, then its JSON."""
    event = orjson.loads(claimed.body)
    data = event.get("data") or {}
    subject = f"[OCPP] {event.get('type')}: {event.get('charger_id') or '-'}"
    for key in ("connector_id", "error_code", "event_type", "reason"):
        if data.get(key) not in (None, ""):
            subject += f" {key}={data[key]}"
    lines = [
        f"Event: {event.get('type')}",
        f"Charger: {event.get('charger_id') or '-'}",
        f"Time: {event.get('time')}",
        *(f"{key}: {value}" for key, value in data.items() if value not in (None, "")),
        "",
        f"Event id: {event.get('id')}",
        f"Delivery id: {claimed.uuid}",
        "",
        claimed.body,
    ]
    return subject[:200], "\n".join(lines) + "\n"
