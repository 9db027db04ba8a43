"""The car plugged into a simulated connector, and how the cars on one
charger share its cap.

A car draws the current it is offered, up to its own maximum (per phase),
less as its battery fills (linearly from TAPER_FROM % of state of charge
down to TAPER_FLOOR of its maximum at 100 %), nothing when offered less than
MIN_CURRENT (IEC 61851-1: below 6 A the pilot signal offers no charging, so
the connector is SuspendedEVSE) and nothing while it pauses by itself
(SuspendedEV). Pure: the caller passes the clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_CURRENT = 6.0  # A per phase
TAPER_FROM = 80.0  # percent state of charge
TAPER_FLOOR = 0.1  # share of the car's maximum it still draws at 100 %


@dataclass
class EV:
    max_current: float = 32.0  # A per phase, the car's onboard charger
    battery_kwh: float = 60.0
    soc: float = 20.0  # percent
    # Seconds after plug-in when the car pauses by itself (None: never).
    pause_after: float | None = None
    paused: bool = False
    plugged_at: float | None = None
    _auto_paused: bool = False

    def plug_in(self, soc: float, now: float) -> None:
        """A new session: the car's battery at `soc`, not paused."""
        self.soc = max(0.0, min(100.0, soc))
        self.paused = False
        self.plugged_at = now
        self._auto_paused = False

    def tick(self, now: float) -> None:
        """Pause once `pause_after` seconds after plug-in (resumed only when
        told, e.g. by the DataTransfer hook)."""
        if self.pause_after is None or self.plugged_at is None or self._auto_paused:
            return
        if now - self.plugged_at >= self.pause_after:
            self.paused = self._auto_paused = True

    @property
    def full(self) -> bool:
        return self.soc >= 100.0 - 1e-9

    @property
    def wanted(self) -> float:
        """The current the car would take if offered enough (A per phase)."""
        if self.paused or self.full:
            return 0.0
        if self.soc <= TAPER_FROM:
            return self.max_current
        share = 1 - (1 - TAPER_FLOOR) * (self.soc - TAPER_FROM) / (100 - TAPER_FROM)
        return self.max_current * share

    def draw(self, offered: float) -> float:
        """The current drawn when offered `offered` A per phase."""
        if offered < MIN_CURRENT:
            return 0.0
        return max(0.0, min(offered, self.wanted))

    def charge(self, wh: float) -> None:
        self.soc = min(100.0, self.soc + wh / (self.battery_kwh * 10))


def share(cap: float | None, own: dict[int, float], demand: dict[int, float]) -> dict[int, float]:
    """The current offered to each connector (A per phase) when the charger
    as a whole may draw `cap` (None: no cap). `own` is each connector's own
    limit, `demand` what its car would draw under it. The cap is shared by
    water-filling (every car gets the same level, a car wanting less leaves
    the rest to the others); when that level falls under MIN_CURRENT, where no
    car can charge, the last connectors are left out until the others can.
    Each connector is offered its own limit within what the others leave of
    the cap, so the draws never add up to more than the cap."""
    if cap is None:
        return dict(own)
    cap = max(0.0, cap)
    active = [c for c in sorted(own) if demand.get(c, 0.0) > 0]
    while True:
        level = _level(cap, [demand[c] for c in active])
        over = [c for c in active if demand[c] > level]
        if level >= MIN_CURRENT or not over:
            break
        active.remove(over[-1])
    draws = {c: min(demand[c], level) if c in active else 0.0 for c in own}
    total = sum(draws.values())
    return {c: max(0.0, min(own[c], cap - (total - draws[c]))) for c in own}


def _level(cap: float, demands: list[float]) -> float:
    """The water level L with sum(min(d, L)) == cap (inf when all fit)."""
    if sum(demands) <= cap:
        return math.inf
    left, remaining = cap, sorted(demands)
    while remaining:
        level = left / len(remaining)
        if remaining[0] >= level:
            return level
        left -= remaining.pop(0)
    return math.inf  # pragma: no cover - the sum check above returns first
