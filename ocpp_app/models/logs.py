"""What chargers report, kept as it came: every frame of the message log,
data transfers, status and security notifications, certificate signing
requests."""

from django.db import models
from django.utils import timezone

from ocpp_app.lib.validators import CHARGER_ID_MAX_LENGTH
from ocpp_app.models.chargers import Charger


class Direction(models.TextChoices):
    IN = "in", "charger → server"
    OUT = "out", "server → charger"


class MessageLog(models.Model):
    """Every frame in and out. Keyed by charger id string: the log is written in
    batches and must not fail for a charger whose row is not there."""

    charger_id = models.CharField(max_length=CHARGER_ID_MAX_LENGTH, db_index=False)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    payload = models.JSONField(null=True, blank=True)
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["charger_id", "-id"], name="msglog_charger_recent"),
            models.Index(fields=["charger_id", "action", "-id"], name="msglog_charger_action"),
            models.Index(fields=["timestamp"], name="msglog_timestamp"),
        ]

    def __str__(self) -> str:
        return f"{self.charger_id} {self.direction} {self.action} {self.message_id}"


class DataTransferRecord(models.Model):
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="data_transfers")
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.IN)
    vendor_id = models.CharField(max_length=255)
    message_id = models.CharField(max_length=50, blank=True)
    data = models.TextField(blank=True)
    status = models.CharField(max_length=20, blank=True)
    response_data = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        # Retention finds the oldest records by it (services/retention.py).
        indexes = [models.Index(fields=["created_at"], name="data_transfer_created")]


class ChargerEventKind(models.TextChoices):
    DIAGNOSTICS = "diagnostics"
    FIRMWARE = "firmware"
    SIGNED_FIRMWARE = "signed_firmware"
    LOG = "log"
    SECURITY = "security"
    # Transaction messages that could not be applied as sent (unknown or
    # foreign transaction id, meterStop below meterStart): kept, never lost.
    TRANSACTION = "transaction"


class ChargerEvent(models.Model):
    """Diagnostics/Firmware/SignedFirmware/LogStatus and SecurityEvent notifications."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=ChargerEventKind.choices)
    status = models.CharField(max_length=60)
    request_id = models.IntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    command = models.ForeignKey("Command", on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["charger", "kind", "-id"])]


class CertificateSigningRequest(models.Model):
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="csrs")
    csr = models.TextField()
    status = models.CharField(max_length=20)
    reason = models.CharField(max_length=255, blank=True, help_text="Why the request was rejected")
    certificate = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
