"""Site load management: the electrical tree chargers hang from, the limit
each active session was given, and the load history the circuit page charts.

A circuit's limit is in amperes per phase. A three-phase circuit carries L1,
L2 and L3; a single-phase one carries the one site phase it is wired to
(`phase`), under a three-phase parent or on a site that is single-phase.
The rules that span rows (no cycle, a child within its parent) live in
services/load.py, which saves a tree change in one transaction.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Phase(models.TextChoices):
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


PHASE_COUNTS = [(1, "1 phase"), (3, "3 phases")]
# A limit above this is a typing mistake, not a supply (a large site's main is a few thousand amperes).
MAX_AMPERES = Decimal("10000")


def amperes(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=6,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(MAX_AMPERES)],
        **kwargs,
    )


class Circuit(models.Model):
    name = models.CharField(max_length=100, unique=True)
    max_current = amperes(help_text="Limit in amperes per phase")
    phases = models.PositiveSmallIntegerField(choices=PHASE_COUNTS, default=3)
    phase = models.CharField(
        max_length=2, choices=Phase.choices, default=Phase.L1, help_text="The site phase of a single-phase circuit"
    )
    voltage = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        default=Decimal("230"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("1000"))],
        help_text="Nominal voltage, phase to neutral",
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_current__gt=0), name="circuit_limit_positive"),
            models.CheckConstraint(condition=models.Q(phases__in=[1, 3]), name="circuit_phases_1_or_3"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def site_phases(self) -> tuple[str, ...]:
        return ("L1", "L2", "L3") if self.phases == 3 else (self.phase,)


class CircuitSchedule(models.Model):
    """A lower limit for a circuit during a daily window (peak hours), on the
    days given, in the server's time zone."""

    circuit = models.ForeignKey(Circuit, on_delete=models.CASCADE, related_name="schedule")
    days = models.CharField(max_length=13, default="0,1,2,3,4,5,6", help_text="Weekdays, 0 = Monday")
    start = models.TimeField()
    end = models.TimeField(help_text="Exclusive; before start means the window runs past midnight")
    max_current = amperes()

    class Meta:
        ordering = ["circuit", "start"]


class LoadAllocation(models.Model):
    """The limit the load manager gives one active session, and what the
    charger did with it. Gone when the transaction ends."""

    class State(models.TextChoices):
        PENDING = "pending"  # decided, not yet accepted by the charger
        APPLIED = "applied"  # the charger accepted the profile
        REJECTED = "rejected"  # the charger refused it: counted at its maximum
        UNSUPPORTED = "unsupported"  # no Smart Charging: counted at its maximum
        OFFLINE = "offline"  # the charger is away: its last limit counts until it lapses
        FAILED = "failed"  # the last order got no answer: counted at what it applies, asked again

    transaction = models.OneToOneField("ocpp_app.Transaction", on_delete=models.CASCADE, related_name="allocation")
    charger = models.ForeignKey("ocpp_app.Charger", on_delete=models.CASCADE, related_name="allocations")
    connector_id = models.PositiveIntegerField()
    circuit = models.ForeignKey(Circuit, null=True, on_delete=models.SET_NULL, related_name="allocations")
    limit = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("0"))
    reason = models.CharField(max_length=20, blank=True)
    bottleneck = models.ForeignKey(Circuit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    # What the charger was last told and accepted, and until when it holds.
    sent_limit = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_limit = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    measured = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["charger", "connector_id"]


class CircuitLoadSample(models.Model):
    """A circuit's load over time: its limit, what was allocated and what was
    measured on its most loaded phase."""

    circuit = models.ForeignKey(Circuit, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField(default=timezone.now)
    limit = models.DecimalField(max_digits=6, decimal_places=1)
    allocated = models.DecimalField(max_digits=7, decimal_places=1)
    measured = models.DecimalField(max_digits=7, decimal_places=1, null=True)

    class Meta:
        ordering = ["circuit", "at"]
        indexes = [models.Index(fields=["circuit", "at"]), models.Index(fields=["at"], name="circuit_sample_at")]
