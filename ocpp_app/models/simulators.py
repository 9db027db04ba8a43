"""Simulated charge points, started and stopped from the admin."""

from django.db import models
from django.utils import timezone


class Simulator(models.Model):
    """A simulated charge point that can be started from the admin."""

    name = models.CharField(max_length=100, unique=True)
    cp_path = models.CharField(max_length=255, help_text="Charger path, e.g. SIM1/ or ocpp/SIM1")
    host = models.CharField(max_length=255, default="127.0.0.1")
    ws_port = models.PositiveIntegerField(default=8000)
    scheme = models.CharField(max_length=3, choices=[("ws", "ws"), ("wss", "wss")], default="ws")
    # Secrets are stored encrypted (never in clear) and are write-only in forms.
    password = models.CharField(max_length=512, blank=True, help_text="Basic-auth key, if the charger has one")
    ca_bundle = models.TextField(blank=True, help_text="PEM CA bundle to trust for wss:// (default: the system's)")
    client_cert = models.TextField(blank=True, help_text="PEM client certificate (security profile 3)")
    client_key = models.TextField(blank=True, help_text="PEM private key of the client certificate")
    connectors = models.PositiveSmallIntegerField(default=1)
    interval = models.FloatField(default=5.0, help_text="Seconds between meter values")
    kwh_max = models.FloatField(default=10.0, help_text="kWh one session delivers")
    power_kw = models.FloatField(default=11.0)
    # The charger's wiring and the simulated car, for load management.
    phases = models.PositiveSmallIntegerField(choices=[(1, "1 phase"), (3, "3 phases")], default=3)
    ev_max_current = models.FloatField(default=32.0, help_text="The car's own maximum (A per phase)")
    rate_units = models.CharField(
        max_length=14,
        choices=[("Current,Power", "Current and Power"), ("Current", "Current"), ("Power", "Power")],
        default="Current,Power",
        help_text="ChargingScheduleAllowedChargingRateUnit",
    )
    smart_charging = models.BooleanField(default=True, help_text="Supports the Smart Charging profile")
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
