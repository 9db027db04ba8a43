"""Site load management's allocator: a pure function from a tree of circuits
and the sessions charging under it to a current limit per session.

- Every circuit holds, on each of its phases: the sum of the limits of the
  sessions below it (and of the fixed loads, sessions the central system
  cannot steer) never exceeds its limit.
- A session gets at least its minimum (an EV cannot charge under about
  6 A) or nothing: those that cannot get it are paused (0 A) in a stable
  order (higher priority first, then the earlier session), so the same
  sessions stay paused from one run to the next instead of flickering.
- Within one priority, shares are fair (max-min: a water level that rises
  for all, a session's minimum being its floor); a higher priority is filled
  first, a lower one keeps its minimum.
- Unused capacity is passed on: a session drawing well below its limit is
  capped at its draw plus a margin; once its draw comes near that cap it is
  uncapped again and gets its share back.

Deterministic: the same input in any order gives the same output. Limits are
rounded down to `step` (OCPP 1.6 limits carry one decimal), so rounding never
pushes a circuit over.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

PHASES = ("L1", "L2", "L3")
EPSILON = 1e-9

# Why a session got its limit.
SHARE = "share"  # a fair share of the circuit that binds it (the bottleneck)
MAXIMUM = "maximum"  # its own maximum (the charger's or the EV's)
DRAW = "draw"  # its draw plus the margin: the rest went to the others
PAUSED = "paused"  # its minimum does not fit (the bottleneck says where)
FIXED = "fixed"  # the central system cannot steer it: counted as drawn


@dataclass(frozen=True)
class Circuit:
    id: int
    parent: int | None
    limit: float  # amperes per phase, in force now
    phases: tuple[str, ...] = PHASES  # the site phases it carries


@dataclass(frozen=True)
class Demand:
    key: Hashable  # the session (a transaction id)
    circuit: int  # the circuit it is attached to
    phases: tuple[str, ...]  # the site phases it draws on
    minimum: float
    maximum: float
    priority: int = 0
    order: tuple = ()  # earlier first when minimums do not all fit (start time, id)
    draw: float | None = None  # measured current (A, highest phase), if known
    previous: float | None = None  # the limit it has now, if any
    fixed: float | None = None  # not steerable: it draws up to this


@dataclass(frozen=True)
class Grant:
    limit: float
    reason: str
    bottleneck: int | None = None  # the circuit that bound it (SHARE, PAUSED)


class TreeError(ValueError):
    """The circuits do not form a tree (a cycle, an unknown parent)."""


def path_to_root(circuits: dict[int, Circuit], circuit_id: int) -> list[int]:
    """The circuit and its ancestors, nearest first."""
    path: list[int] = []
    current: int | None = circuit_id
    while current is not None:
        if current in path:
            raise TreeError(f"circuit {current} is its own ancestor")
        if current not in circuits:
            raise TreeError(f"unknown circuit {current}")
        path.append(current)
        current = circuits[current].parent
    return path


def demand_cap(demand: Demand, margin: float) -> tuple[float, str]:
    """The most a session may get now, and why: its maximum, or its draw plus
    the margin while it draws well below what it has (hysteresis: capped
    under previous - margin, uncapped from previous - margin/2, held between)."""
    cap, reason = demand.maximum, MAXIMUM
    if demand.draw is not None and demand.previous is not None and demand.previous > 0:
        if demand.draw < demand.previous - margin:
            cap, reason = demand.draw + margin, DRAW
        elif demand.draw < demand.previous - margin / 2:
            cap, reason = demand.previous, DRAW
    cap = max(demand.minimum, min(demand.maximum, cap))
    if cap >= demand.maximum - EPSILON:
        return demand.maximum, MAXIMUM
    return cap, reason


def _round_down(value: float, step: float) -> float:
    return round(math.floor(value / step + EPSILON) * step, 6)


def allocate(
    circuits: Iterable[Circuit], demands: Iterable[Demand], *, margin: float = 2.0, step: float = 0.1
) -> dict[Hashable, Grant]:
    tree = {circuit.id: circuit for circuit in circuits}
    ordered = sorted(demands, key=lambda d: (-d.priority, d.order, repr(d.key)))
    # (circuit, phase) -> capacity left.
    capacity: dict[tuple[int, str], float] = {}
    for circuit in tree.values():
        for phase in circuit.phases:
            capacity[(circuit.id, phase)] = max(0.0, circuit.limit)
    paths = {d.key: path_to_root(tree, d.circuit) for d in ordered}

    def constraints(demand: Demand) -> list[tuple[int, str]]:
        return [(c, p) for c in paths[demand.key] for p in demand.phases if (c, p) in capacity]

    grants: dict[Hashable, Grant] = {}
    # Fixed loads first: they draw whatever we decide.
    for demand in ordered:
        if demand.fixed is None:
            continue
        amount = max(0.0, demand.fixed)
        for key in constraints(demand):
            capacity[key] -= amount
        grants[demand.key] = Grant(round(amount, 6), FIXED)

    # Admission: minimums in priority, then session order.
    admitted: list[Demand] = []
    for demand in ordered:
        if demand.fixed is not None:
            continue
        minimum = max(0.0, demand.minimum)
        short = next((key for key in constraints(demand) if capacity[key] < minimum - EPSILON), None)
        if short is not None or demand.maximum < minimum - EPSILON:
            grants[demand.key] = Grant(0.0, PAUSED, short[0] if short else None)
            continue
        for key in constraints(demand):
            capacity[key] -= minimum
        admitted.append(demand)

    alloc = {d.key: max(0.0, d.minimum) for d in admitted}
    caps = {d.key: demand_cap(d, margin) for d in admitted}
    reasons: dict[Hashable, tuple[str, int | None]] = {}
    for priority in sorted({d.priority for d in admitted}, reverse=True):
        active = [d for d in admitted if d.priority == priority]
        for d in list(active):
            if caps[d.key][0] - alloc[d.key] <= EPSILON:
                reasons[d.key] = (caps[d.key][1], None)
                active.remove(d)
        # The water level: the sessions at it rise together; one whose
        # minimum is above it joins when the level reaches it.
        level = min((alloc[d.key] for d in active), default=0.0)
        while active:
            rising = [d for d in active if alloc[d.key] <= level + EPSILON]
            waiting = [alloc[d.key] - level for d in active if alloc[d.key] > level + EPSILON]
            users: dict[tuple[int, str], list[Demand]] = {}
            for d in rising:
                for key in constraints(d):
                    users.setdefault(key, []).append(d)
            increment = min([caps[d.key][0] - alloc[d.key] for d in rising] + waiting)
            for key, group in users.items():
                increment = min(increment, max(0.0, capacity[key]) / len(group))
            level += increment
            for d in rising:
                alloc[d.key] += increment
                for key in constraints(d):
                    capacity[key] -= increment
            still: list[Demand] = []
            for d in active:
                if caps[d.key][0] - alloc[d.key] <= EPSILON:
                    reasons[d.key] = (caps[d.key][1], None)
                    continue
                full = next((key for key in constraints(d) if capacity[key] <= EPSILON), None)
                if full is not None:
                    reasons[d.key] = (SHARE, full[0])
                    continue
                still.append(d)
            active = still

    for d in admitted:
        reason, bottleneck = reasons.get(d.key, (SHARE, None))
        grants[d.key] = Grant(_round_down(alloc[d.key], step), reason, bottleneck)
    return grants


def circuit_loads(
    circuits: Iterable[Circuit], demands: Sequence[Demand], values: dict[Hashable, float]
) -> dict[int, dict[str, float]]:
    """Per circuit and phase, the sum of `values` (limits or draws) of the
    sessions below it."""
    tree = {circuit.id: circuit for circuit in circuits}
    loads = {c.id: {p: 0.0 for p in c.phases} for c in tree.values()}
    for demand in demands:
        value = values.get(demand.key)
        if not value:
            continue
        for circuit_id in path_to_root(tree, demand.circuit):
            for phase in demand.phases:
                if phase in loads[circuit_id]:
                    loads[circuit_id][phase] += value
    return loads
