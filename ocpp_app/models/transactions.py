"""Charging sessions and the meter readings taken during them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ocpp_app.lib.validators import ID_TAG_MAX_LENGTH
from ocpp_app.models.chargers import Charger

# The OCPP 1.6 measurands the central system reads itself: the energy register
# (what a sampled value without a measurand is) and active power.
ENERGY_REGISTER = "Energy.Active.Import.Register"
ACTIVE_POWER = "Power.Active.Import"


class Transaction(models.Model):
    # The primary key is the OCPP transactionId: unique, and an auto-increment
    # integer fits int32 (the schema's "integer") for two billion sessions.
    id = models.AutoField(primary_key=True)
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="transactions")
    connector_id = models.PositiveIntegerField()
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH)
    id_tag_status = models.CharField(max_length=16, blank=True)
    reservation_id = models.IntegerField(null=True, blank=True)
    meter_start = models.BigIntegerField()
    start_time = models.DateTimeField()
    meter_stop = models.BigIntegerField(null=True, blank=True)
    stop_time = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=30, blank=True)
    stop_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True)
    energy_wh = models.BigIntegerField(null=True, blank=True)
    # True when the server closed it (a newer start on the same connector):
    # a late real StopTransaction still writes its values.
    stopped_by_server = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [
            # A replayed StartTransaction (same connector, timestamp, meterStart)
            # is the same transaction.
            models.UniqueConstraint(
                fields=["charger", "connector_id", "start_time", "meter_start"], name="uniq_transaction_start"
            ),
            # At most one open transaction per connector.
            models.UniqueConstraint(
                fields=["charger", "connector_id"],
                condition=Q(stop_time__isnull=True),
                name="one_open_tx_per_connector",
            ),
        ]
        indexes = [models.Index(fields=["id_tag"]), models.Index(fields=["start_time"])]

    def __str__(self) -> str:
        return f"Tx {self.pk} on {self.charger_id}#{self.connector_id}"

    @property
    def is_active(self) -> bool:
        return self.stop_time is None


class MeterReading(models.Model):
    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="meter_readings")
    connector_id = models.PositiveIntegerField()
    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, null=True, blank=True, related_name="meter_readings"
    )
    timestamp = models.DateTimeField()
    measurand = models.CharField(max_length=50, default=ENERGY_REGISTER)
    phase = models.CharField(max_length=8, blank=True)
    unit = models.CharField(max_length=12, blank=True)
    context = models.CharField(max_length=30, blank=True)
    location = models.CharField(max_length=10, blank=True)
    format = models.CharField(max_length=12, blank=True)
    value = models.TextField()
    # The numeric value (None for SignedData) so charts and sums need no parsing.
    value_numeric = models.FloatField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction", "timestamp", "measurand", "phase", "location", "context"],
                name="uniq_reading_per_transaction",
            )
        ]
        indexes = [
            models.Index(fields=["charger", "timestamp"]),
            models.Index(fields=["transaction", "timestamp"]),
            # Retention finds the oldest readings by the server's time of
            # arrival, never the charger's clock (services/retention.py).
            models.Index(fields=["received_at"], name="reading_received"),
        ]
