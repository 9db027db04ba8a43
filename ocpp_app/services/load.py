"""Site load management: the circuit tree's rules, and the load manager's
plan (what limit each active session gets and which charging profiles to
send) and its record of what the chargers did with them.

The tree is edited only through `circuit_write`, `circuit_delete` and
`charger_load_update`: each checks the whole tree as it would be after the
change, inside one transaction, and saves nothing when any rule breaks
(LoadConfigError names the field).

`load_plan` reads the tree, the active sessions on its chargers and their
latest Current.Import, runs the allocator (lib/allocation.py) and returns the
profile orders to send; the load manager (management/load_manager.py) sends
them and reports each outcome to `load_applied`. Enforcement over OCPP 1.6:

- a TxProfile per session (Absolute, from now, for OCPP_LOAD_PROFILE_DURATION
  seconds, renewed while the charger is online): if the charger loses us, the
  profile lapses and its fail-safe takes over;
- a TxDefaultProfile on connector 0 per charger, the fail-safe: the share
  each connector would get if every connector on the tree charged at once,
  so the tree holds even while no charger can reach the central system;
- a charger that refuses profiles, or has no Smart Charging, is counted at
  its own maximum, as a load we cannot steer, and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ocpp_app.lib import allocation
from ocpp_app.models import (
    Charger,
    Circuit,
    CircuitLoadSample,
    CircuitSchedule,
    Connector,
    LoadAllocation,
    MeterReading,
    Transaction,
)
from ocpp_app.services.commands.base import config_keys
from ocpp_app.services.nodes import nodes_alive

TENTH = Decimal("0.1")
MEASURE_WINDOW = timedelta(minutes=10)  # a Current.Import older than this is not a measurement
# A reading that arrived sooner than this after a new limit was accepted says
# nothing of what the car does with it.
SETTLE = timedelta(seconds=2)
CLOCK_SKEW = timedelta(seconds=60)
RAISE_DEADBAND = Decimal("0.5")  # a limit is raised only by this much or more (lowered by any amount)
LOAD_FIELDS = ("circuit", "phases", "phase", "min_current", "max_current", "load_priority")

# Order kinds.
TX = "tx"  # SetChargingProfile TxProfile on the session's connector
FAILSAFE = "failsafe"  # SetChargingProfile TxDefaultProfile on connector 0
CLEAR_TX = "clear_tx"  # ClearChargingProfile of our TxProfile (charger detached)
CLEAR_FAILSAFE = "clear_failsafe"  # ClearChargingProfile of our fail-safe (charger detached)


class LoadConfigError(ValueError):
    """A tree change that breaks a rule: {field: [messages]}; nothing saved."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def tenths(value) -> Decimal:
    return Decimal(str(value)).quantize(TENTH, rounding=ROUND_FLOOR)


def _sum(value: float) -> Decimal:
    """A sum of limits to one decimal (to the nearest: floats add 10.6 three times to 31.79999)."""
    return Decimal(str(round(value, 1)))


# --- the tree's rules ---------------------------------------------------------------


def _tree_problems(circuits: dict[int, Circuit], chargers: list[Charger]) -> dict[str, list[str]]:
    """Every rule spanning rows, on the tree as it would be."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for circuit in circuits.values():
        seen = {circuit.pk}
        parent_id = circuit.parent_id
        while parent_id is not None:
            if parent_id in seen:
                add("parent", f"circuit {circuit.name!r} would be its own ancestor: a tree has no cycle")
                return errors
            if parent_id not in circuits:
                add("parent", f"unknown parent circuit {parent_id}")
                return errors
            seen.add(parent_id)
            parent_id = circuits[parent_id].parent_id
    for circuit in circuits.values():
        parent = circuits.get(circuit.parent_id) if circuit.parent_id is not None else None
        if parent is None:
            continue
        if circuit.max_current > parent.max_current:
            add(
                "max_current",
                f"circuit {circuit.name!r} ({circuit.max_current} A) is above its parent "
                f"{parent.name!r} ({parent.max_current} A)",
            )
        if circuit.phases == 3 and parent.phases == 1:
            add("phases", f"three-phase circuit {circuit.name!r} under single-phase {parent.name!r}")
        if circuit.phases == 1 and parent.phases == 1 and circuit.phase != parent.phase:
            add(
                "phase", f"circuit {circuit.name!r} is on {circuit.phase}, its parent {parent.name!r} on {parent.phase}"
            )
    for charger in chargers:
        if charger.min_current > charger.max_current:
            add("min_current", f"charger {charger.charger_id!r}: min_current is above max_current")
        circuit = circuits.get(charger.circuit_id)
        if circuit is None:
            continue
        if charger.phases == 3 and circuit.phases == 1:
            add(
                "phases",
                f"three-phase charger {charger.charger_id!r} on single-phase circuit {circuit.name!r}: "
                "set the charger's phases to 1",
            )
    return errors


def schedule_problems(rows: list[dict], limit: Decimal) -> list[str]:
    """What is wrong with a circuit's schedule windows (the API and the admin ask)."""
    problems = []
    for index, row in enumerate(rows):
        days = row.get("days", "0,1,2,3,4,5,6")
        parts = [part.strip() for part in str(days).split(",") if part.strip()]
        if not parts or any(part not in "0123456" or len(part) != 1 for part in parts):
            problems.append(f"schedule[{index}].days: weekdays 0 (Monday) to 6, comma-separated")
        if row.get("start") == row.get("end"):
            problems.append(f"schedule[{index}]: start and end are the same")
        if row["max_current"] > limit:
            problems.append(f"schedule[{index}].max_current is above the circuit's max_current")
    return problems


def _circuit_change(circuit: Circuit | None, fields: dict, chargers: list[str] | None, schedule: list[dict] | None):
    """The circuit as it would be, the chargers it would hold, and every rule
    that change breaks ({field: [messages]}), the tree's rows locked."""
    tree = {c.pk: c for c in Circuit.objects.select_for_update().order_by("pk")}
    if circuit is None:
        circuit = Circuit(**fields)
        circuit.pk = -1  # a placeholder id in the check
    for name, value in fields.items():
        setattr(circuit, name, value)
    tree[circuit.pk] = circuit
    errors: dict[str, list[str]] = {}
    attached = list(Charger.objects.select_for_update().filter(circuit__isnull=False).exclude(circuit_id=circuit.pk))
    if chargers is not None:
        found = {c.charger_id: c for c in Charger.objects.filter(charger_id__in=chargers)}
        unknown = sorted(set(chargers) - found.keys())
        if unknown:
            errors["chargers"] = [f"unknown charger(s): {', '.join(unknown)}"]
        mine = list(found.values())
    else:
        mine = list(Charger.objects.filter(circuit_id=circuit.pk)) if circuit.pk != -1 else []
    for charger in mine:
        charger.circuit_id = circuit.pk
        if circuit.phases == 1:
            charger.phase = circuit.phase
    others = [c for c in attached if c.charger_id not in {m.charger_id for m in mine}]
    for name, messages in _tree_problems(tree, others + mine).items():
        errors.setdefault(name, []).extend(messages)
    if schedule is not None:
        problems = schedule_problems(schedule, Decimal(circuit.max_current))
        if problems:
            errors["schedule"] = problems
    elif circuit.pk != -1:
        lower = CircuitSchedule.objects.filter(circuit_id=circuit.pk, max_current__gt=circuit.max_current)
        if lower.exists():
            errors.setdefault("max_current", []).append("a schedule window of this circuit is above it")
    return circuit, mine, errors


def circuit_errors(*, circuit: Circuit, chargers: list[str] | None = None) -> dict[str, list[str]]:
    """What saving this (changed, unsaved) circuit would break; nothing saved.
    The admin's form asks this before it saves."""
    with transaction.atomic():
        pk = circuit.pk
        _, _, errors = _circuit_change(circuit if pk else None, {} if pk else _own_fields(circuit), chargers, None)
        circuit.pk = pk
    return errors


def _own_fields(circuit: Circuit) -> dict:
    return {f.attname: getattr(circuit, f.attname) for f in Circuit._meta.concrete_fields if not f.primary_key}


@transaction.atomic
def circuit_write(
    *,
    circuit: Circuit | None,
    fields: dict,
    chargers: list[str] | None = None,
    schedule: list[dict] | None = None,
) -> Circuit:
    """Create (circuit None) or change a circuit, attaching exactly the given
    chargers (by id) when `chargers` is given, replacing its schedule when
    `schedule` is. Every rule is checked on the whole tree first."""
    circuit, mine, errors = _circuit_change(circuit, fields, chargers, schedule)
    if errors:
        raise LoadConfigError(errors)
    if circuit.pk == -1:
        circuit.pk = None
    circuit.save()
    if chargers is not None:
        Charger.objects.filter(circuit_id=circuit.pk).exclude(charger_id__in=chargers).update(circuit=None)
        for charger in mine:
            charger.circuit_id = circuit.pk
            charger.save(update_fields=["circuit", "phase", "updated_at"])
    elif circuit.phases == 1:
        Charger.objects.filter(circuit_id=circuit.pk).update(phase=circuit.phase)
    if schedule is not None:
        CircuitSchedule.objects.filter(circuit=circuit).delete()
        CircuitSchedule.objects.bulk_create(CircuitSchedule(circuit=circuit, **row) for row in schedule)
    return circuit


@transaction.atomic
def circuit_delete(*, circuit: Circuit) -> int:
    """Delete a circuit without sub-circuits; its chargers are detached (the
    load manager then clears the profiles it set on them). Returns how many
    chargers were detached."""
    if Circuit.objects.filter(parent_id=circuit.pk).exists():
        raise LoadConfigError({"circuit": ["it has sub-circuits: delete or move them first"]})
    detached = Charger.objects.filter(circuit_id=circuit.pk).update(circuit=None)
    circuit.delete()
    return detached


def charger_load_errors(charger: Charger) -> dict[str, list[str]]:
    """What this (changed, unsaved) charger's load settings break against the
    tree; a single-phase circuit's phase is set on it. Nothing saved."""
    with transaction.atomic():
        # Locked in the order every tree edit locks them (by id): no deadlock between two edits.
        tree = {c.pk: c for c in Circuit.objects.select_for_update().order_by("pk")}
    circuit = tree.get(charger.circuit_id) if charger.circuit_id is not None else None
    if charger.circuit_id is not None and circuit is None:
        return {"circuit": [f"unknown circuit {charger.circuit_id}"]}
    if circuit is not None and circuit.phases == 1:
        charger.phase = circuit.phase
    return _tree_problems(tree, [charger])


@transaction.atomic
def charger_load_update(*, charger: Charger, fields: dict) -> Charger:
    """Attach a charger to a circuit (or None) and set how it is wired and
    what it accepts; checked against the tree."""
    for name, value in fields.items():
        setattr(charger, name, value)
    errors = charger_load_errors(charger)
    if errors:
        raise LoadConfigError(errors)
    charger.save(update_fields=[*{*fields, "phase"}, "updated_at"])
    return charger


# --- the plan --------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileOrder:
    """One charging-profile command for the load manager to send."""

    charger_id: str
    kind: str  # TX, FAILSAFE, CLEAR_TX, CLEAR_FAILSAFE
    connector_id: int
    limit: Decimal = Decimal("0")  # amperes per phase
    transaction_id: int | None = None
    phases: int = 3
    voltage: Decimal = Decimal("230")
    unit: str = "A"  # A, or W when the charger takes only Power
    decrease: bool = True  # sent before the increases of the same pass

    def payload(self, *, now: datetime) -> dict:
        """The SetChargingProfile / ClearChargingProfile payload."""
        base = settings.OCPP_LOAD_PROFILE_ID
        if self.kind in (CLEAR_TX, CLEAR_FAILSAFE):
            return {"id": base + self.connector_id if self.kind == CLEAR_TX else base}
        # In W, one phase's worth: a car may draw it all on one phase, and the
        # circuit's limit is per phase (a balanced three-phase car gets a third).
        rate = self.limit if self.unit == "A" else (self.limit * self.voltage).quantize(TENTH)
        schedule = {
            "chargingRateUnit": self.unit,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(rate), "numberPhases": self.phases}],
        }
        profile = {"stackLevel": settings.OCPP_LOAD_STACK_LEVEL, "chargingSchedule": schedule}
        if self.kind == TX:
            # A minute back: a charger whose clock is behind applies it at once.
            schedule["startSchedule"] = (now - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
            schedule["duration"] = int(settings.OCPP_LOAD_PROFILE_DURATION)
            profile.update(
                chargingProfileId=base + self.connector_id,
                transactionId=self.transaction_id,
                chargingProfilePurpose="TxProfile",
                chargingProfileKind="Absolute",
            )
        else:
            profile.update(
                chargingProfileId=base, chargingProfilePurpose="TxDefaultProfile", chargingProfileKind="Relative"
            )
        return {"connectorId": self.connector_id, "csChargingProfiles": profile}


@dataclass
class Plan:
    orders: list[ProfileOrder] = field(default_factory=list)
    sessions: int = 0


def limit_in_force(circuit: Circuit, windows: list[CircuitSchedule], now: datetime) -> Decimal:
    """The circuit's limit now: its max_current, or a schedule window's lower one."""
    local = timezone.localtime(now)
    moment, weekday = local.time(), str(local.weekday())
    limit = Decimal(circuit.max_current)
    for window in windows:
        days = {d.strip() for d in window.days.split(",")}
        if window.start < window.end:
            inside = window.start <= moment < window.end and weekday in days
        else:  # past midnight: the window belongs to the day it started
            yesterday = str((local.weekday() - 1) % 7)
            inside = (moment >= window.start and weekday in days) or (moment < window.end and yesterday in days)
        if inside:
            limit = min(limit, Decimal(window.max_current))
    return limit


def charger_rate_unit(charger: Charger) -> str:
    """A, unless the charger's ChargingScheduleAllowedChargingRateUnit allows only Power."""
    value = (config_keys(charger).get("ChargingScheduleAllowedChargingRateUnit") or {}).get("value") or ""
    units = {part.strip() for part in str(value).split(",") if part.strip()}
    return "W" if units and "Current" not in units and "Power" in units else "A"


def charger_smart_charging(charger: Charger) -> bool | None:
    """Whether SupportedFeatureProfiles lists SmartCharging (None: not known)."""
    value = (config_keys(charger).get("SupportedFeatureProfiles") or {}).get("value")
    if not isinstance(value, str):
        return None
    return "SmartCharging" in {part.strip() for part in value.split(",")}


def _latest_currents(now: datetime) -> dict[int, tuple[Decimal, datetime]]:
    """Per active session on an attached charger, its latest Current.Import
    (highest phase, line to neutral) from the last minutes, and when it
    arrived (the server's clock)."""
    rows = (
        MeterReading.objects.filter(
            transaction__stop_time__isnull=True,
            transaction__charger__circuit__isnull=False,
            measurand="Current.Import",
            timestamp__gte=now - MEASURE_WINDOW,
        )
        .order_by("transaction_id", "-timestamp")
        .values_list("transaction_id", "timestamp", "phase", "value_numeric", "received_at")
    )
    latest: dict[int, tuple] = {}
    values: dict[int, list[tuple[str, float]]] = {}
    arrived: dict[int, datetime] = {}
    for tx_id, timestamp, phase, value, received_at in rows:
        if value is None:
            continue
        if tx_id not in latest:
            latest[tx_id] = timestamp
        if timestamp == latest[tx_id]:
            values.setdefault(tx_id, []).append((phase, value))
            arrived[tx_id] = min(arrived.get(tx_id, received_at), received_at)
    currents = {}
    for tx_id, readings in values.items():
        # L1, L2, L3, L1-N ...: the phases' own currents; never L1-L2 (between two phases) or N.
        phased = [value for phase, value in readings if _phase_of(phase) is not None]
        candidates = phased or [value for phase, value in readings if not phase]
        if candidates:
            currents[tx_id] = (tenths(max(candidates)), arrived[tx_id])
    return currents


def _phase_of(phase: str) -> str | None:
    """The site phase a reading's `phase` names (L1, L1-N -> L1), or None."""
    if phase in ("L1", "L2", "L3", "L1-N", "L2-N", "L3-N"):
        return phase[:2]
    return None


def _site_phases(charger: Charger, circuit: Circuit) -> tuple[str, ...]:
    if circuit.phases == 1:
        return (circuit.phase,)
    return allocation.PHASES if charger.phases == 3 else (charger.phase,)


def _tree(
    circuits: list[Circuit], schedules: dict[int, list], now: datetime, *, lowest: bool = False
) -> list[allocation.Circuit]:
    """The tree for the allocator: each circuit's limit in force now, or with
    `lowest` the lowest it ever has (its schedule's lowest window)."""

    def limit(c: Circuit) -> Decimal:
        windows = schedules.get(c.pk, [])
        if lowest:
            return min([Decimal(c.max_current), *(Decimal(w.max_current) for w in windows)])
        return limit_in_force(c, windows, now)

    return [
        allocation.Circuit(id=c.pk, parent=c.parent_id, limit=float(limit(c)), phases=c.site_phases) for c in circuits
    ]


def _connector_counts() -> dict[int, int]:
    """Per attached charger, how many connectors it has (the highest it reported)."""
    counts: dict[int, int] = {}
    for charger_pk, connector_id in Connector.objects.filter(
        charger__circuit__isnull=False, connector_id__gt=0
    ).values_list("charger_id", "connector_id"):
        counts[charger_pk] = max(counts.get(charger_pk, 0), connector_id)
    return counts


_failsafe_memo: dict[tuple, dict] = {}


def _failsafe_limits(
    tree, circuits: dict[int, Circuit], chargers: list[Charger], steered: set[int], connectors: dict[int, int]
) -> dict[int, Decimal]:
    """The fail-safe per steered charger: each connector's share with every
    connector of the tree charging at once, the chargers we cannot steer at
    their maximum, on the circuits' lowest limits (a charger's connectors each
    get the least of their shares, as a TxDefaultProfile on connector 0
    applies to each)."""
    demands = []
    for charger in chargers:
        for connector_id in range(1, max(1, connectors.get(charger.pk, 1)) + 1):
            demands.append(
                allocation.Demand(
                    key=(charger.pk, connector_id),
                    circuit=charger.circuit_id,
                    phases=_site_phases(charger, circuits[charger.circuit_id]),
                    minimum=float(charger.min_current),
                    maximum=float(charger.max_current),
                    priority=charger.load_priority,
                    order=(charger.charger_id, connector_id),
                    fixed=None if charger.pk in steered else float(charger.max_current),
                )
            )
    key = (tuple(tree), tuple(demands), settings.OCPP_LOAD_MARGIN)
    grants = _failsafe_memo.get(key)
    if grants is None:  # the same tree and chargers as the last pass: the same fail-safes
        grants = allocation.allocate(tree, demands, margin=float(settings.OCPP_LOAD_MARGIN))
        _failsafe_memo.clear()
        _failsafe_memo[key] = grants
    limits: dict[int, Decimal] = {}
    for (charger_pk, _), grant in grants.items():
        if charger_pk not in steered:
            continue
        value = tenths(grant.limit)
        limits[charger_pk] = min(limits.get(charger_pk, value), value)
    return limits


# What a pass reads of each attached charger (never its QR images or meter-value blobs;
# its configuration only when a rule needs it).
PLAN_FIELDS = (
    "id",
    "charger_id",
    "circuit_id",
    "phases",
    "phase",
    "min_current",
    "max_current",
    "load_priority",
    "load_control",
    "load_control_detail",
    "load_control_at",
    "failsafe_limit",
    "connected",
    "node_id",
)
ROW_FIELDS = ("circuit_id", "limit", "reason", "bottleneck_id", "measured", "state", "detail")


def _with_config(chargers: list[Charger]) -> None:
    """Load the configuration of these chargers in one query."""
    missing = [c for c in chargers if "config" in c.get_deferred_fields()]
    if missing:
        configs = dict(Charger.objects.filter(pk__in=[c.pk for c in missing]).values_list("pk", "config"))
        for charger in missing:
            charger.config = configs.get(charger.pk) or {}


def load_plan(*, now: datetime | None = None) -> Plan:
    """Allocate every tree and return the orders that bring the chargers to it.
    Writes the allocation of every session (LoadAllocation) that changed, in
    one transaction. A steady pass (nothing changed) reads a dozen queries
    and writes nothing."""
    now = now or timezone.now()
    circuits = list(Circuit.objects.all())
    if not circuits and not _anything_to_release():
        return Plan()  # no tree: a pass costs three small queries
    by_pk = {c.pk: c for c in circuits}
    schedules: dict[int, list] = {}
    for window in CircuitSchedule.objects.all():
        schedules.setdefault(window.circuit_id, []).append(window)
    tree = _tree(circuits, schedules, now)
    chargers = list(Charger.objects.filter(circuit__isnull=False).only(*PLAN_FIELDS))
    # A charger that accepted a profile supports Smart Charging; the others' configuration says.
    _with_config([c for c in chargers if c.load_control != "ok"])
    alive = set(nodes_alive(now=now))
    online = {c.pk for c in chargers if c.connected and (not c.node_id or c.node_id in alive)}
    # Joins, not lists of ids: a list of 500 ids costs more to build than to run.
    transactions = list(
        Transaction.objects.filter(charger__circuit__isnull=False, stop_time__isnull=True)
        .only("id", "charger_id", "connector_id", "start_time")
        .order_by("id")
    )
    tx_ids = [t.pk for t in transactions]
    allocations = {
        row["transaction_id"]: row
        for row in LoadAllocation.objects.filter(
            transaction__stop_time__isnull=True, transaction__charger__circuit__isnull=False
        ).values("id", "transaction_id", *ROW_FIELDS, "sent_limit", "sent_at", "expires_at", "confirmed_limit")
    }
    currents = _latest_currents(now)
    chargers_by_pk = {c.pk: c for c in chargers}
    retry_after = timedelta(seconds=settings.OCPP_LOAD_RETRY)

    def steerable(charger: Charger) -> bool:
        if charger.load_control != "ok" and charger_smart_charging(charger) is False:
            return False
        if charger.load_control in (LoadAllocation.State.REJECTED, LoadAllocation.State.UNSUPPORTED):
            return charger.load_control_at is None or now - charger.load_control_at >= retry_after
        return True

    def applied(charger: Charger, current: dict) -> Decimal:
        """What the charger applies to a session by itself: its last accepted
        TxProfile while it holds (or more, if it says so), else its fail-safe,
        else (never told one) its maximum."""
        sent, expires = current.get("sent_limit"), current.get("expires_at")
        if sent is not None and expires and expires > now:
            confirmed = current.get("confirmed_limit")
            return max(sent, confirmed) if confirmed is not None else sent
        return charger.failsafe_limit if charger.failsafe_limit is not None else charger.max_current

    demands: list[allocation.Demand] = []
    busy: dict[int, set[int]] = {}  # charger -> connectors with a known session
    for tx in transactions:
        charger = chargers_by_pk[tx.charger_id]
        busy.setdefault(charger.pk, set()).add(tx.connector_id)
        current = allocations.get(tx.pk) or {}
        sent_limit = current.get("sent_limit")
        fixed = None
        if not steerable(charger):
            fixed = float(charger.max_current)
        elif charger.pk not in online or current.get("state") == LoadAllocation.State.FAILED:
            # Offline, or its last order failed: it applies what it applies by
            # itself until it is told otherwise.
            fixed = float(applied(charger, current))
        elif current.get("confirmed_limit") is not None and sent_limit is not None:
            if current["confirmed_limit"] > sent_limit + TENTH:
                fixed = float(current["confirmed_limit"])  # it says it applies more than it accepted
        reading = currents.get(tx.pk)
        # A reading from before its limit changed (and settled) says nothing of what the car does with it.
        sent_at = current.get("sent_at")
        fresh = reading is not None and (sent_at is None or reading[1] >= sent_at + SETTLE)
        measured = reading[0] if fresh else None
        demands.append(
            allocation.Demand(
                key=tx.pk,
                circuit=charger.circuit_id,
                phases=_site_phases(charger, by_pk[charger.circuit_id]),
                minimum=float(charger.min_current),
                maximum=float(charger.max_current),
                priority=charger.load_priority,
                order=(tx.start_time, tx.pk),
                draw=float(measured) if measured is not None else None,
                previous=float(sent_limit) if sent_limit is not None else None,
                fixed=fixed,
            )
        )
    # An offline charger may start sessions we do not know of yet, at its
    # fail-safe: each of its idle connectors counts at it.
    connectors = _connector_counts()
    for charger in chargers:
        if charger.pk in online or not steerable(charger):
            continue
        idle_limit = float(charger.failsafe_limit if charger.failsafe_limit is not None else charger.max_current)
        for connector_id in range(1, max(1, connectors.get(charger.pk, 1)) + 1):
            if connector_id not in busy.get(charger.pk, set()):
                demands.append(
                    allocation.Demand(
                        key=("idle", charger.pk, connector_id),
                        circuit=charger.circuit_id,
                        phases=_site_phases(charger, by_pk[charger.circuit_id]),
                        minimum=0,
                        maximum=idle_limit,
                        fixed=idle_limit,
                    )
                )
    grants = allocation.allocate(tree, demands, margin=float(settings.OCPP_LOAD_MARGIN))

    plan = Plan(sessions=len(transactions))
    min_interval = timedelta(seconds=settings.OCPP_LOAD_MIN_INTERVAL)
    renew_before = timedelta(seconds=settings.OCPP_LOAD_PROFILE_DURATION / 3)
    ordering: list[tuple[Charger, Transaction, Decimal, bool]] = []
    with transaction.atomic():
        created: list[LoadAllocation] = []
        for tx in transactions:
            charger = chargers_by_pk[tx.charger_id]
            grant = grants[tx.pk]
            current = allocations.get(tx.pk)
            row = {
                "circuit_id": charger.circuit_id,
                "limit": tenths(grant.limit),
                "reason": grant.reason,
                "bottleneck_id": grant.bottleneck,
                "measured": currents[tx.pk][0] if tx.pk in currents else None,
                "state": current["state"] if current else LoadAllocation.State.PENDING,
                "detail": current["detail"] if current else "",
            }
            was_offline = current is not None and current["state"] == LoadAllocation.State.OFFLINE
            failed = current is not None and current["state"] == LoadAllocation.State.FAILED
            if grant.reason == allocation.FIXED:
                if not steerable(charger):
                    row["state"] = charger.load_control or LoadAllocation.State.UNSUPPORTED
                    row["detail"] = charger.load_control_detail or "the charger does not support Smart Charging"
                elif charger.pk not in online:
                    row["state"] = LoadAllocation.State.OFFLINE
                    row["detail"] = "offline: its last limit counts until it lapses, then its fail-safe"
            elif row["state"] in (LoadAllocation.State.OFFLINE, LoadAllocation.State.REJECTED, "unsupported"):
                row["state"], row["detail"] = LoadAllocation.State.PENDING, ""
            if current is None:
                created.append(
                    LoadAllocation(transaction_id=tx.pk, charger_id=charger.pk, connector_id=tx.connector_id, **row)
                )
            elif any(current[name] != value for name, value in row.items()):
                # Only what changed: a pass a second must not write every session.
                LoadAllocation.objects.filter(pk=current["id"]).update(**row, updated_at=now)
            if failed and charger.pk in online and steerable(charger):
                # Its cut did not go through: it is counted at what it applies
                # and asked again, for its minimum, until it takes one.
                ordering.append((charger, tx, min(row["limit"], charger.min_current), False))
                continue
            if grant.reason == allocation.FIXED:
                continue
            sent = current["sent_limit"] if current else None
            sent_at = current["sent_at"] if current else None
            expires = current["expires_at"] if current else None
            now_applies = applied(charger, current or {})
            increase = row["limit"] > now_applies
            if sent is None:
                due = True  # its first TxProfile (until then its fail-safe applies)
            elif increase:
                # Raised by half an ampere or more, at most every OCPP_LOAD_MIN_INTERVAL: no profile storm.
                due = row["limit"] - sent >= RAISE_DEADBAND and (sent_at is None or now - sent_at >= min_interval)
            else:
                due = row["limit"] < sent  # lowered by any amount, at once
            lapsing = expires is None or expires - now < renew_before
            # Back online: it may have lost its profiles (a reboot): told again.
            if due or lapsing or was_offline:
                ordering.append((charger, tx, row["limit"], increase))
        LoadAllocation.objects.bulk_create(created)
        # Rows of sessions no longer under management: ended, or detached.
        stale = LoadAllocation.objects.exclude(transaction_id__in=tx_ids).select_related("charger", "transaction")
        for stale_row in stale:
            if (
                stale_row.transaction.stop_time is None
                and stale_row.sent_limit is not None
                and stale_row.charger.connected
            ):
                plan.orders.append(
                    ProfileOrder(
                        charger_id=stale_row.charger.charger_id, kind=CLEAR_TX, connector_id=stale_row.connector_id
                    )
                )
            else:
                stale_row.delete()

    steered = {c.pk for c in chargers if steerable(c)}
    lowest = _tree(circuits, schedules, now, lowest=True)
    failsafes = _failsafe_limits(lowest, by_pk, chargers, steered, connectors) if steered else {}
    refreshing = [c for c in chargers if c.pk in online and failsafes.get(c.pk) not in (None, c.failsafe_limit)]
    _with_config([charger for charger, *_ in ordering] + refreshing)
    for charger, tx, limit, increase in ordering:
        circuit = by_pk[charger.circuit_id]
        plan.orders.append(
            ProfileOrder(
                charger_id=charger.charger_id,
                kind=TX,
                connector_id=tx.connector_id,
                limit=limit,
                transaction_id=tx.pk,
                phases=len(_site_phases(charger, circuit)),
                voltage=Decimal(circuit.voltage),
                unit=charger_rate_unit(charger),
                decrease=not increase,
            )
        )
    for charger in refreshing:
        target = failsafes[charger.pk]
        circuit = by_pk[charger.circuit_id]
        plan.orders.append(
            ProfileOrder(
                charger_id=charger.charger_id,
                kind=FAILSAFE,
                connector_id=0,
                limit=target,
                phases=len(_site_phases(charger, circuit)),
                voltage=Decimal(circuit.voltage),
                unit=charger_rate_unit(charger),
                decrease=charger.failsafe_limit is None or target < charger.failsafe_limit,
            )
        )
    for charger in Charger.objects.filter(circuit__isnull=True, failsafe_limit__isnull=False, connected=True).only(
        "charger_id"
    ):
        plan.orders.append(ProfileOrder(charger_id=charger.charger_id, kind=CLEAR_FAILSAFE, connector_id=0))
    return plan


def _anything_to_release() -> bool:
    """Profiles the load manager set that must be cleared (a tree deleted)."""
    return (
        LoadAllocation.objects.exists()
        or Charger.objects.filter(circuit__isnull=True, failsafe_limit__isnull=False, connected=True).exists()
    )


def load_applied(*, order: ProfileOrder, status: str, detail: str = "", now: datetime | None = None) -> None:
    """Record what a charger did with an order. `status`: accepted, rejected
    (the charger said Rejected), unsupported (CALLERROR NotSupported or
    NotImplemented), unknown (a ClearChargingProfile that found nothing), or
    failed (not connected, time-out, another CALLERROR: tried again)."""
    now = now or timezone.now()
    charger = Charger.objects.filter(charger_id=order.charger_id).first()
    if charger is None:
        return
    if order.kind == TX:
        row = LoadAllocation.objects.select_related("transaction").filter(transaction_id=order.transaction_id).first()
        if row is None or row.transaction.stop_time is not None:
            return  # the session ended meanwhile: its answer says nothing of the charger
        if status == "accepted":
            row.sent_limit, row.sent_at = order.limit, now
            row.expires_at = now + timedelta(seconds=settings.OCPP_LOAD_PROFILE_DURATION)
            row.state, row.detail, row.confirmed_limit = LoadAllocation.State.APPLIED, "", None
        elif status in ("rejected", "unsupported"):
            row.state, row.detail = status, detail[:200]
        else:
            row.state, row.detail = LoadAllocation.State.FAILED, detail[:200]
        row.save()
        if status in ("rejected", "unsupported"):
            Charger.objects.filter(pk=charger.pk).update(
                load_control=status, load_control_detail=detail[:200], load_control_at=now
            )
        elif status == "accepted":
            Charger.objects.filter(pk=charger.pk).update(load_control="ok", load_control_detail="", load_control_at=now)
    elif order.kind == FAILSAFE:
        if status == "accepted":
            Charger.objects.filter(pk=charger.pk).update(failsafe_limit=order.limit)
        elif status == "unsupported":
            Charger.objects.filter(pk=charger.pk).update(
                load_control=status, load_control_detail=detail[:200], load_control_at=now
            )
        # A refused fail-safe alone does not make the charger unsteerable:
        # without one it counts at its maximum whenever it cannot be reached.
    elif order.kind == CLEAR_TX and status in ("accepted", "rejected", "unknown"):
        rows = LoadAllocation.objects.filter(charger=charger, connector_id=order.connector_id)
        if charger.circuit_id is None:
            rows.delete()
        else:  # attached again meanwhile: its profile is gone, it is told again
            rows.update(sent_limit=None, sent_at=None, expires_at=None, state=LoadAllocation.State.PENDING)
    elif order.kind == CLEAR_FAILSAFE and status in ("accepted", "rejected", "unknown"):
        Charger.objects.filter(pk=charger.pk).update(failsafe_limit=None)


def load_confirmed(*, transaction_id: int, limit: Decimal | None) -> None:
    """What GetCompositeSchedule says the charger applies to the session; a
    charger applying more than it was told is said so on the pages."""
    row = LoadAllocation.objects.filter(transaction_id=transaction_id).first()
    if row is None:
        return
    row.confirmed_limit = limit
    if limit is not None and row.sent_limit is not None and limit > row.sent_limit + TENTH:
        row.detail = f"the charger says it applies {limit} A, above the {row.sent_limit} A it accepted"
    row.save(update_fields=["confirmed_limit", "detail", "updated_at"])


def load_sample(*, now: datetime | None = None) -> int:
    """One CircuitLoadSample per circuit: its limit in force, and the allocated
    and measured current of its most loaded phase. Returns how many."""
    now = now or timezone.now()
    circuits = list(Circuit.objects.all())
    if not circuits:
        return 0
    schedules: dict[int, list] = {}
    for window in CircuitSchedule.objects.all():
        schedules.setdefault(window.circuit_id, []).append(window)
    tree = _tree(circuits, schedules, now)
    by_pk = {c.pk: c for c in circuits}
    rows = list(LoadAllocation.objects.select_related("charger").filter(circuit__isnull=False))
    demands = [
        allocation.Demand(
            key=row.pk,
            circuit=row.circuit_id,
            phases=_site_phases(row.charger, by_pk[row.circuit_id]),
            minimum=0,
            maximum=0,
        )
        for row in rows
        if row.circuit_id in by_pk
    ]
    allocated = allocation.circuit_loads(tree, demands, {row.pk: float(row.limit) for row in rows})
    measured = allocation.circuit_loads(tree, demands, {row.pk: float(row.measured or 0) for row in rows})
    CircuitLoadSample.objects.bulk_create(
        CircuitLoadSample(
            circuit_id=c.id,
            at=now,
            limit=tenths(c.limit),
            allocated=_sum(max(allocated[c.id].values(), default=0)),
            measured=_sum(max(measured[c.id].values(), default=0)),
        )
        for c in tree
    )
    return len(tree)


def circuit_live(circuit: Circuit) -> dict:
    """A circuit's live picture for its page and API detail: its limit in
    force, per phase the allocated and measured load below it, and each
    session's allocation."""
    now = timezone.now()
    circuits = list(Circuit.objects.all())
    by_pk = {c.pk: c for c in circuits}
    schedules: dict[int, list] = {}
    for window in CircuitSchedule.objects.all():
        schedules.setdefault(window.circuit_id, []).append(window)
    tree = _tree(circuits, schedules, now)
    below = {c.id for c in tree if circuit.pk in allocation.path_to_root({x.id: x for x in tree}, c.id)}
    rows = list(
        LoadAllocation.objects.filter(circuit_id__in=below)
        .select_related("charger", "transaction", "bottleneck")
        .order_by("charger__charger_id", "connector_id")
    )
    demands = [
        allocation.Demand(
            key=r.pk, circuit=r.circuit_id, phases=_site_phases(r.charger, by_pk[r.circuit_id]), minimum=0, maximum=0
        )
        for r in rows
    ]
    allocated = allocation.circuit_loads(tree, demands, {r.pk: float(r.limit) for r in rows})[circuit.pk]
    measured = allocation.circuit_loads(tree, demands, {r.pk: float(r.measured or 0) for r in rows})[circuit.pk]
    return {
        "limit": limit_in_force(circuit, schedules.get(circuit.pk, []), now),
        "phases": {p: {"allocated": round(allocated[p], 1), "measured": round(measured[p], 1)} for p in allocated},
        "sessions": rows,
    }


REASONS = {
    allocation.SHARE: "fair share of {bottleneck}",
    allocation.MAXIMUM: "its own maximum",
    allocation.DRAW: "its draw plus the margin: the EV takes less",
    allocation.PAUSED: "paused: {bottleneck} cannot give its minimum",
    allocation.FIXED: "counted as drawn: not steered",
}


def describe(row: LoadAllocation) -> str:
    """Why a session has its limit, in words (the circuit and charger pages)."""
    name = row.bottleneck.name if row.bottleneck_id and row.bottleneck else "the circuit"
    text = REASONS.get(row.reason, row.reason).format(bottleneck=repr(name) if row.bottleneck_id else name)
    return f"{text} ({row.detail})" if row.detail else text


def circuit_samples(circuit: Circuit, *, since: datetime) -> list[CircuitLoadSample]:
    return list(CircuitLoadSample.objects.filter(circuit=circuit, at__gte=since).order_by("at"))
