"""What the central system asks of chargers: commands and their answers,
reservations, charging profiles."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ocpp_app.lib.validators import ID_TAG_MAX_LENGTH
from ocpp_app.models.chargers import Charger
from ocpp_app.models.transactions import Transaction


class CommandStatus(models.TextChoices):
    PENDING = "pending"
    OK = "ok"  # the charger answered with a CALLRESULT
    CALL_ERROR = "call_error"
    TIMEOUT = "timeout"
    NOT_CONNECTED = "not_connected"
    INVALID = "invalid"


class Command(models.Model):
    """A central-system CALL sent to a charger, with its answer."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="commands")
    action = models.CharField(max_length=64)
    request = models.JSONField(default=dict)
    response = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=CommandStatus.choices, default=CommandStatus.PENDING)
    error_code = models.CharField(max_length=40, blank=True)
    error_description = models.TextField(blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=20, blank=True)  # api, admin, dashboard, ...
    created_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["charger", "-id"]),
            # Retention finds the oldest records by it (services/retention.py).
            models.Index(fields=["created_at"], name="command_created"),
        ]


class ReservationStatus(models.TextChoices):
    REQUESTED = "Requested"
    ACCEPTED = "Accepted"
    FAULTED = "Faulted"
    OCCUPIED = "Occupied"
    REJECTED = "Rejected"
    UNAVAILABLE = "Unavailable"
    CANCELLED = "Cancelled"
    USED = "Used"
    EXPIRED = "Expired"


class Reservation(models.Model):
    reservation_id = models.IntegerField(unique=True)
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="reservations")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH)
    parent_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True)
    expiry_date = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.REQUESTED)
    transaction = models.ForeignKey(Transaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]


class ChargingProfileRecord(models.Model):
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="charging_profiles")
    connector_id = models.PositiveIntegerField()
    charging_profile_id = models.IntegerField()
    stack_level = models.IntegerField(default=0)
    purpose = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, blank=True)
    profile = models.JSONField(default=dict)
    status = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
