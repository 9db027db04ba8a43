"""Alerts: the webhooks operators subscribe, and the durable queue of
deliveries (a webhook POST or an e-mail per event and subscriber), which
every node of a cluster sends from (services/alert_deliveries.py)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ocpp_app.lib.alerts import EVENT_TYPES, PING, URL_MAX_LENGTH, event_types_problem, url_problem
from ocpp_app.lib.ids import charger_id_problem

# A longer list is a site: leave the filter empty, or use several webhooks.
MAX_CHARGERS = 1000


def validate_webhook_url(value: str) -> None:
    problem = url_problem(value, settings.OCPP_WEBHOOK_ALLOWED_HOSTS)
    if problem is not None:
        raise ValidationError(problem[0].upper() + problem[1:] + ".", code="invalid_webhook_url")


def validate_event_types(value: object) -> None:
    problem = event_types_problem(value)
    if problem is not None:
        raise ValidationError(problem[0].upper() + problem[1:] + ".", code="invalid_event_types")


def validate_charger_ids(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of charger ids (empty: every charger).", code="invalid_chargers")
    if len(value) > MAX_CHARGERS:
        raise ValidationError(f"At most {MAX_CHARGERS} charger ids (empty: every charger).", code="invalid_chargers")
    for item in value:
        if (problem := charger_id_problem(item)) is not None:
            raise ValidationError(f"{item!r}: {problem}.", code="invalid_chargers")


class Webhook(models.Model):
    name = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=URL_MAX_LENGTH, validators=[validate_webhook_url])
    # The HMAC key of X-OCPP-Signature, encrypted at rest (services/secrets.py):
    # never shown, never logged.
    secret = models.TextField(editable=False)
    event_types = models.JSONField(default=list, validators=[validate_event_types])
    # Only the events of these chargers; empty: every charger.
    chargers = models.JSONField(default=list, blank=True, validators=[validate_charger_ids])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.url

    def wants(self, event_type: str, charger_id: str) -> bool:
        return event_type in self.event_types and (not self.chargers or charger_id in self.chargers)


class DeliveryChannel(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    EMAIL = "email", "E-mail"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One event for one subscriber: sent until it is delivered or has used
    its attempts. `body` is the exact JSON text signed and sent, the same
    bytes at every attempt."""

    # X-OCPP-Delivery: the same at every attempt, so a receiver can drop a
    # repeat (delivery is at least once).
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=10, choices=DeliveryChannel.choices, default=DeliveryChannel.WEBHOOK)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries")
    # The e-mail's recipients, comma-separated (OCPP_ALERT_EMAILS when it was queued).
    recipients = models.TextField(blank=True)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40, choices=[(t, t) for t in (*EVENT_TYPES, PING)])
    charger_id = models.CharField(max_length=100, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # Attempts begun; a sender takes a row by counting one and moving
    # next_attempt_at past the time its send may take (its claim).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=200, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # When it was delivered or failed for good; the retention prunes by it.
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # What senders claim: the pending rows that are due.
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["webhook", "-id"], name="delivery_webhook"),
            models.Index(fields=["finished_at"], name="delivery_finished"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.webhook or self.recipients} ({self.status})"
