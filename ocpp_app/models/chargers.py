"""Chargers and their connectors: identity, liveness, the latest status of
each connector and the history of StatusNotifications."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from ocpp_app.lib.validators import (
    CHARGER_ID_MAX_LENGTH,
    validate_charger_id,
    validate_latitude,
    validate_longitude,
)
from ocpp_app.models.circuits import PHASE_COUNTS, Phase, amperes


class RegistrationStatus(models.TextChoices):
    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class SecurityProfile(models.IntegerChoices):
    """OCPP 1.6 Security Whitepaper profiles."""

    NONE = 0, "0: no security"
    BASIC = 1, "1: Basic auth over ws"
    TLS_BASIC = 2, "2: TLS + Basic auth"
    TLS_CLIENT_CERT = 3, "3: TLS + client certificate"


class Charger(models.Model):
    charger_id = models.CharField(max_length=CHARGER_ID_MAX_LENGTH, unique=True, validators=[validate_charger_id])
    last_path = models.CharField(max_length=512, blank=True)
    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.ACCEPTED
    )
    # Basic-auth (Security Profile 1/2) password, never the key itself: a salted
    # HMAC-SHA256 (services.secrets.secret_hash), or a Django password hash
    # stored before that, replaced at the charger's next successful login.
    password_hash = models.CharField(max_length=256, blank=True)
    # The profile this charger must connect at; None: the site default
    # (OCPP_DEFAULT_SECURITY_PROFILE). Raised when the charger accepts a
    # ChangeConfiguration of SecurityProfile, never lowered by a connection.
    security_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices, null=True, blank=True)
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

    # Site load management (models/circuits.py, services/load.py): the
    # circuit it hangs from, how it is wired and what an EV on it accepts.
    circuit = models.ForeignKey(
        "ocpp_app.Circuit", null=True, blank=True, on_delete=models.SET_NULL, related_name="chargers"
    )
    phases = models.PositiveSmallIntegerField(choices=PHASE_COUNTS, default=3)
    phase = models.CharField(
        max_length=2, choices=Phase.choices, default=Phase.L1, help_text="The site phase of a single-phase charger"
    )
    min_current = amperes(default=Decimal("6"), help_text="The least current an EV accepts (A per phase)")
    max_current = amperes(default=Decimal("32"), help_text="The charger's own maximum (A per phase)")
    load_priority = models.SmallIntegerField(default=0, help_text="Higher is served first")
    # Whether the load manager can steer it: "" not tried yet, ok, rejected, unsupported.
    load_control = models.CharField(max_length=12, blank=True)
    load_control_detail = models.CharField(max_length=200, blank=True)
    load_control_at = models.DateTimeField(null=True, blank=True)
    # The fail-safe (TxDefaultProfile) the charger accepted, applied by itself while it cannot reach us.
    failsafe_limit = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)

    # QR code of the public landing page, made when the charger is saved.
    qr_url = models.CharField(max_length=500, blank=True)
    qr_png = models.BinaryField(null=True, blank=True, editable=False)
    qr_svg = models.TextField(blank=True, editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charger_id"]
        indexes = [models.Index(fields=["connected"]), models.Index(fields=["registration_status"])]
        # The two roles of the operator pages and the REST API (web/access.py).
        permissions = [
            ("view_network", "Can view the network's pages and read the REST API"),
            ("operate_network", "Can send commands and change the network from the pages and the REST API"),
        ]

    def __str__(self) -> str:
        return self.charger_id

    @classmethod
    def from_db(cls, db, field_names, values):
        # The registration status as loaded: a save tells the charger's live
        # socket only when an operator changed it (ocpp_app/signals.py).
        instance = super().from_db(db, field_names, values)
        instance.loaded_registration_status = instance.__dict__.get("registration_status")
        return instance

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
        indexes = [
            models.Index(fields=["charger", "-received_at"]),
            # Retention finds the oldest records by it (services/retention.py).
            models.Index(fields=["received_at"], name="status_record_received"),
        ]
