"""The data a central system keeps. Models hold invariants; no I/O here."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ocpp_app.lib.validators import (
    CHARGER_ID_MAX_LENGTH,
    ID_TAG_MAX_LENGTH,
    validate_charger_id,
    validate_id_tag,
    validate_latitude,
    validate_longitude,
)


class RegistrationStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class Charger(models.Model):
    charger_id = models.CharField(max_length=CHARGER_ID_MAX_LENGTH, unique=True, validators=[validate_charger_id])
    last_path = models.CharField(max_length=512, blank=True)
    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.ACCEPTED
    )
    # Basic-auth (Security Profile 1/2) password: a Django password hash, never the key.
    password_hash = models.CharField(max_length=256, blank=True)
    require_rfid = models.BooleanField(default=False)
    config = models.JSONField(default=dict, blank=True)
    latitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=[validate_latitude]
    )
    longitude = models.DecimalField(
        max_digits=9, decimal_places=6, null=True, blank=True, validators=[validate_longitude]
    )
    name = models.CharField(max_length=100, blank=True)

    # Identity from BootNotification (services.chargers.BootIdentity).
    vendor = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=20, blank=True)
    serial_number = models.CharField(max_length=25, blank=True)
    charge_box_serial_number = models.CharField(max_length=25, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial_number = models.CharField(max_length=25, blank=True)
    last_boot_at = models.DateTimeField(null=True, blank=True)
    heartbeat_interval = models.PositiveIntegerField(null=True, blank=True)

    # Liveness. `connection_id` identifies the live socket so that an old
    # socket's cleanup never marks a newer connection disconnected.
    connected = models.BooleanField(default=False)
    connected_since = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    connection_id = models.CharField(max_length=64, blank=True)
    channel_name = models.CharField(max_length=200, blank=True)
    node_id = models.CharField(max_length=200, blank=True)
    subprotocol = models.CharField(max_length=32, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    last_meter_values = models.JSONField(null=True, blank=True)

    # Latest statuses of the firmware-management and security profiles.
    firmware_status = models.CharField(max_length=40, blank=True)
    firmware_status_at = models.DateTimeField(null=True, blank=True)
    diagnostics_status = models.CharField(max_length=40, blank=True)
    diagnostics_status_at = models.DateTimeField(null=True, blank=True)
    log_status = models.CharField(max_length=40, blank=True)
    log_status_at = models.DateTimeField(null=True, blank=True)
    local_list_version = models.IntegerField(null=True, blank=True)

    # QR code of the public landing page, made when the charger is saved.
    qr_url = models.CharField(max_length=500, blank=True)
    qr_png = models.BinaryField(null=True, blank=True, editable=False)
    qr_svg = models.TextField(blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charger_id"]
        indexes = [models.Index(fields=["connected"]), models.Index(fields=["registration_status"])]

    def __str__(self) -> str:
        return self.charger_id

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    def stale_after(self) -> timedelta:
        interval = self.heartbeat_interval or settings.OCPP_HEARTBEAT_INTERVAL
        return timedelta(seconds=interval + settings.OCPP_STALE_GRACE)

    @property
    def state(self) -> str:
        """online / stale / offline, derived from the stored liveness fields."""
        if not self.connected:
            return "offline"
        heard = max(filter(None, [self.last_seen, self.last_heartbeat, self.connected_since]), default=None)
        if heard is None or timezone.now() - heard > self.stale_after():
            return "stale"
        return "online"


class Connector(models.Model):
    """Latest status per connector; connector 0 is the charger itself."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=30, blank=True)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charger_id", "connector_id"]
        constraints = [models.UniqueConstraint(fields=["charger", "connector_id"], name="uniq_connector_per_charger")]

    def __str__(self) -> str:
        return f"{self.charger_id}#{self.connector_id}"


class StatusNotificationRecord(models.Model):
    """Every StatusNotification received (the history behind Connector)."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="status_history")
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=30)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["charger", "-received_at"])]


class RFIDStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"


class RFID(models.Model):
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, unique=True, validators=[validate_id_tag])
    status = models.CharField(max_length=16, choices=RFIDStatus.choices, default=RFIDStatus.ACCEPTED)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True, validators=[validate_id_tag])
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id_tag"]
        verbose_name = "RFID card"

    def __str__(self) -> str:
        return self.id_tag


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
    measurand = models.CharField(max_length=50, default="Energy.Active.Import.Register")
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
        ]


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
    certificate = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]


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
        indexes = [models.Index(fields=["charger", "-id"])]


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


class LocalListEntry(models.Model):
    """The local authorization list as last sent to (and accepted by) a charger."""

    charger = models.ForeignKey(Charger, on_delete=models.CASCADE, related_name="local_list")
    id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH)
    status = models.CharField(max_length=16, blank=True)
    expiry_date = models.DateTimeField(null=True, blank=True)
    parent_id_tag = models.CharField(max_length=ID_TAG_MAX_LENGTH, blank=True)

    class Meta:
        ordering = ["id_tag"]
        constraints = [models.UniqueConstraint(fields=["charger", "id_tag"], name="uniq_local_list_tag")]


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


class Simulator(models.Model):
    """A simulated charge point that can be started from the admin."""

    name = models.CharField(max_length=100, unique=True)
    cp_path = models.CharField(max_length=255, help_text="Charger path, e.g. SIM1/ or ocpp/SIM1")
    host = models.CharField(max_length=255, default="127.0.0.1")
    ws_port = models.PositiveIntegerField(default=8000)
    scheme = models.CharField(max_length=3, choices=[("ws", "ws"), ("wss", "wss")], default="ws")
    password = models.CharField(max_length=64, blank=True, help_text="Basic-auth key, if the charger has one")
    connectors = models.PositiveSmallIntegerField(default=1)
    interval = models.FloatField(default=5.0, help_text="Seconds between meter values")
    kwh_max = models.FloatField(default=10.0, help_text="kWh one session delivers")
    power_kw = models.FloatField(default=11.0)
    rfid = models.CharField(max_length=20, blank=True)
    repeat = models.BooleanField(default=False)
    pause = models.FloatField(default=10.0, help_text="Seconds between sessions in repeat mode")
    running = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def ws_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.ws_port}/{self.cp_path.lstrip('/')}"
