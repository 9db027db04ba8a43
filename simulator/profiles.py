"""Charging profiles as an OCPP 1.6 charger keeps and applies them (Smart
Charging, §3.13, §5.16, §6.43).

A `ProfileStore` holds every installed profile per connector (connector 0 is
the whole charger). At an instant `t` the limit on a connector is the
minimum of

- its transaction limit: a TxProfile of the running transaction if one is in
  force at `t`, else a TxDefaultProfile of that connector, else one of
  connector 0 (within one purpose the highest stack level in force wins; a
  profile outside its validity window, before its start or past its
  schedule's duration is not in force, and the next one down applies),
- the ChargePointMaxProfile in force (connector 0), which caps the charger,
- the charger's own rating (a local limit).

Pure: no I/O and no clock; every instant is passed in, so the schedule logic
is tested without waiting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.model import parse_time

TX_PROFILE = "TxProfile"
TX_DEFAULT = "TxDefaultProfile"
CHARGE_POINT_MAX = "ChargePointMaxProfile"
PURPOSES = (CHARGE_POINT_MAX, TX_DEFAULT, TX_PROFILE)
KINDS = ("Absolute", "Recurring", "Relative")
RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(weeks=1)}
# ChargingScheduleAllowedChargingRateUnit names the units Current and Power.
RATE_UNITS = {"Current": "A", "Power": "W"}
# A composite schedule longer than this many periods (e.g. a daily profile
# over years) is cut short: its duration then says how far it reaches.
MAX_COMPOSITE_PERIODS = 1000


@dataclass(frozen=True)
class Period:
    start: int  # seconds from the start of the schedule
    limit: float
    phases: int | None = None  # numberPhases; None: as many as the charger has


@dataclass(frozen=True)
class Rate:
    """The limit one profile sets at an instant."""

    value: float
    unit: str  # A (per phase) or W
    phases: int | None = None


@dataclass(frozen=True)
class Allowance:
    """What a connector (or the charger) may draw: amperes per phase on
    `phases` phases."""

    amps: float
    phases: int

    def watts(self, voltage: float) -> float:
        return self.amps * voltage * self.phases

    def in_unit(self, unit: str, voltage: float) -> float:
        return self.amps if unit == "A" else self.watts(voltage)


@dataclass(frozen=True)
class Electrical:
    """The charger's supply: what converts watts to amperes, and its rating."""

    voltage: float = 230.0
    phases: int = 3
    max_current: float = math.inf  # A per phase

    def allowance(self, rates: Iterable[Rate | None], *, rated: bool = True) -> Allowance:
        """The tightest of `rates` (and of the rating, when `rated`). A rate
        in W is shared over the phases in use; numberPhases above the
        charger's phases means all of them (a 1-phase charger told 3 phases
        still charges on its one)."""
        rates = [r for r in rates if r is not None]
        phases = min([self.phases, *(r.phases for r in rates if r.phases)])
        amps = self.max_current if rated else math.inf
        for rate in rates:
            amps = min(amps, rate.value if rate.unit == "A" else rate.value / (self.voltage * phases))
        return Allowance(max(0.0, amps), phases)


@dataclass(frozen=True)
class Tx:
    """The transaction running on a connector, as far as profiles care."""

    transaction_id: int | None
    start: datetime


def _int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} is not an integer: {value!r}")
    return value


def _time(value, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"{name} is not a date-time: {value!r}")
    return parsed


@dataclass(frozen=True)
class ChargingProfile:
    id: int
    stack_level: int
    purpose: str
    kind: str
    unit: str
    periods: tuple[Period, ...]
    duration: int | None = None
    start_schedule: datetime | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | None = None

    @classmethod
    def parse(cls, data: dict) -> ChargingProfile:
        """A csChargingProfiles object as the `ocpp` library hands it over
        (snake_case keys, numbers possibly Decimal). Raises ValueError for one
        a charger cannot apply."""
        try:
            schedule = data["charging_schedule"]
            purpose = data["charging_profile_purpose"]
            kind = data["charging_profile_kind"]
            raw_periods = schedule["charging_schedule_period"]
            unit = schedule["charging_rate_unit"]
        except (KeyError, TypeError) as missing:
            raise ValueError(f"incomplete charging profile: {missing}") from None
        if purpose not in PURPOSES or kind not in KINDS or unit not in ("A", "W"):
            raise ValueError(f"unknown purpose, kind or unit: {purpose}, {kind}, {unit}")
        recurrency = data.get("recurrency_kind")
        if kind == "Recurring" and recurrency not in RECURRENCE:
            raise ValueError(f"a Recurring profile needs recurrencyKind Daily or Weekly, not {recurrency!r}")
        periods = []
        for raw in raw_periods or []:
            try:
                limit = float(raw["limit"])
                start = _int(raw["start_period"], "startPeriod")
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"bad schedule period {raw!r}: {error}") from None
            phases = raw.get("number_phases")
            if phases is not None and _int(phases, "numberPhases") not in (1, 2, 3):
                raise ValueError(f"numberPhases must be 1 to 3, not {phases}")
            if not math.isfinite(limit) or limit < 0 or start < 0:
                raise ValueError(f"bad schedule period {raw!r}")
            periods.append(Period(start, limit, phases))
        if not periods:
            raise ValueError("no schedule period")
        if any(b.start <= a.start for a, b in zip(periods, periods[1:], strict=False)):
            raise ValueError("schedule periods not in increasing startPeriod order")
        duration = schedule.get("duration")
        if duration is not None and _int(duration, "duration") < 0:
            raise ValueError("negative duration")
        transaction_id = data.get("transaction_id")
        return cls(
            id=_int(data.get("charging_profile_id"), "chargingProfileId"),
            stack_level=_int(data.get("stack_level"), "stackLevel"),
            purpose=purpose,
            kind=kind,
            unit=unit,
            periods=tuple(periods),
            duration=duration,
            start_schedule=_time(schedule.get("start_schedule"), "startSchedule"),
            recurrency=recurrency if kind == "Recurring" else None,
            valid_from=_time(data.get("valid_from"), "validFrom"),
            valid_to=_time(data.get("valid_to"), "validTo"),
            transaction_id=_int(transaction_id, "transactionId") if transaction_id is not None else None,
        )

    # -- time ----------------------------------------------------------------

    def _valid(self, t: datetime) -> bool:
        return (self.valid_from is None or t >= self.valid_from) and (self.valid_to is None or t < self.valid_to)

    def schedule_start(self, t: datetime, origin: datetime) -> datetime:
        """Where the schedule covering `t` starts. Relative profiles (and,
        as the ChargingSchedule type says, any without startSchedule) run
        from `origin`, the start of the transaction; a Recurring one restarts
        every day or week."""
        anchor = self.start_schedule if self.kind != "Relative" and self.start_schedule is not None else origin
        if self.kind != "Recurring":
            return anchor
        every = RECURRENCE[self.recurrency]
        return anchor + every * math.floor((t - anchor) / every)

    def rate_at(self, t: datetime, origin: datetime) -> Rate | None:
        """The limit this profile sets at `t`, or None when it sets none then
        (outside validFrom/validTo, before its start, past its duration)."""
        if not self._valid(t):
            return None
        offset = (t - self.schedule_start(t, origin)).total_seconds()
        if offset < 0 or (self.duration is not None and offset >= self.duration):
            return None
        current = None
        for period in self.periods:
            if period.start > offset:
                break
            current = period
        if current is None:
            return None
        return Rate(current.limit, self.unit, current.phases)

    def changes(self, start: datetime, end: datetime, origin: datetime) -> set[datetime]:
        """Instants in [start, end) where this profile's limit may change."""
        edges = {self.valid_from, self.valid_to}
        first = self.schedule_start(start, origin)
        starts = [first]
        if self.kind == "Recurring":
            every = RECURRENCE[self.recurrency]
            while starts[-1] + every < end and len(starts) <= MAX_COMPOSITE_PERIODS:
                starts.append(starts[-1] + every)
        for begin in starts:
            edges.update(begin + timedelta(seconds=p.start) for p in self.periods)
            if self.duration is not None:
                edges.add(begin + timedelta(seconds=self.duration))
        return {e for e in edges if e is not None and start <= e < end}


def highest_in_force(profiles: Iterable[ChargingProfile], t: datetime, origin: datetime) -> Rate | None:
    """Within one purpose, the profile of the highest stack level that sets a
    limit at `t`."""
    for profile in sorted(profiles, key=lambda p: p.stack_level, reverse=True):
        rate = profile.rate_at(t, origin)
        if rate is not None:
            return rate
    return None


@dataclass(frozen=True)
class Capabilities:
    """The smart-charging configuration keys a profile must fit."""

    max_stack_level: int = 10  # ChargeProfileMaxStackLevel
    max_periods: int = 24  # ChargingScheduleMaxPeriods
    units: tuple[str, ...] = ("A", "W")  # ChargingScheduleAllowedChargingRateUnit
    max_installed: int = 10  # MaxChargingProfilesInstalled

    @classmethod
    def from_keys(cls, value: str, *, max_stack_level: int, max_periods: int, max_installed: int) -> Capabilities:
        units = tuple(RATE_UNITS[u.strip()] for u in value.split(",") if u.strip() in RATE_UNITS)
        return cls(max_stack_level, max_periods, units, max_installed)

    def problem(self, profile: ChargingProfile) -> str | None:
        if profile.stack_level > self.max_stack_level:
            return f"stackLevel {profile.stack_level} above ChargeProfileMaxStackLevel {self.max_stack_level}"
        if len(profile.periods) > self.max_periods:
            return f"{len(profile.periods)} periods, ChargingScheduleMaxPeriods is {self.max_periods}"
        if profile.unit not in self.units:
            return f"unit {profile.unit} not in ChargingScheduleAllowedChargingRateUnit"
        return None


class ProfileStore:
    """The profiles installed on one charger, per connector (0: the charger)."""

    def __init__(self) -> None:
        self.installed: list[tuple[int, ChargingProfile]] = []

    def __len__(self) -> int:
        return len(self.installed)

    def on(self, connector_id: int, purpose: str) -> list[ChargingProfile]:
        return [p for c, p in self.installed if c == connector_id and p.purpose == purpose]

    def install(self, connector_id: int, profile: ChargingProfile, *, max_installed: int) -> bool:
        """Add `profile`, replacing one of the same id (on any connector) or
        of the same purpose and stack level on the same connector (§5.16).
        False, and nothing changes, when that would exceed `max_installed`."""
        kept = [
            (c, p)
            for c, p in self.installed
            if p.id != profile.id
            and not (c == connector_id and p.purpose == profile.purpose and p.stack_level == profile.stack_level)
        ]
        if len(kept) + 1 > max_installed:
            return False
        self.installed = [*kept, (connector_id, profile)]
        return True

    def clear(
        self,
        *,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        """ClearChargingProfile (§5.5): the profile with that id, or
        else every profile matching all the criteria given (none given:
        all). True when any was cleared."""

        def matches(c: int, p: ChargingProfile) -> bool:
            if profile_id is not None:
                return p.id == profile_id
            return (
                (connector_id is None or c == connector_id)
                and (purpose is None or p.purpose == purpose)
                and (stack_level is None or p.stack_level == stack_level)
            )

        kept = [(c, p) for c, p in self.installed if not matches(c, p)]
        cleared = len(kept) != len(self.installed)
        self.installed = kept
        return cleared

    def end_transaction(self, connector_id: int) -> None:
        """A TxProfile lives as long as its transaction (§3.13)."""
        self.installed = [(c, p) for c, p in self.installed if not (c == connector_id and p.purpose == TX_PROFILE)]

    # -- the limit in force --------------------------------------------------------

    def tx_rate(self, connector_id: int, t: datetime, tx: Tx | None, origin: datetime) -> Rate | None:
        """The transaction limit: TxProfile over TxDefaultProfile, a
        connector's TxDefaultProfile over connector 0's."""
        start = tx.start if tx is not None else origin
        if tx is not None:
            mine = [
                p
                for p in self.on(connector_id, TX_PROFILE)
                if p.transaction_id is None or p.transaction_id == tx.transaction_id
            ]
            if (rate := highest_in_force(mine, t, start)) is not None:
                return rate
        if connector_id != 0 and (rate := highest_in_force(self.on(connector_id, TX_DEFAULT), t, start)) is not None:
            return rate
        return highest_in_force(self.on(0, TX_DEFAULT), t, start)

    def cap_rate(self, t: datetime, origin: datetime) -> Rate | None:
        """The ChargePointMaxProfile in force: a cap on the whole charger."""
        return highest_in_force(self.on(0, CHARGE_POINT_MAX), t, origin)

    def connector_allowance(
        self, connector_id: int, t: datetime, elec: Electrical, tx: Tx | None, origin: datetime, *, capped: bool = True
    ) -> Allowance:
        """What one connector may draw at `t` (with the charger cap when
        `capped`; without it when the cap is shared among connectors)."""
        rates = [self.tx_rate(connector_id, t, tx, origin)]
        if capped:
            rates.append(self.cap_rate(t, _cap_origin({connector_id: tx}, origin)))
        return elec.allowance(rates)

    def charger_allowance(
        self, txs: dict[int, Tx | None], t: datetime, elec: Electrical, origin: datetime
    ) -> Allowance:
        """The charger total at `t`: its connectors' limits added up, within
        the ChargePointMaxProfile (as amperes per phase on all its phases)."""
        total_w = sum(
            self.connector_allowance(c, t, elec, tx, origin, capped=False).watts(elec.voltage) for c, tx in txs.items()
        )
        cap = self.cap_rate(t, _cap_origin(txs, origin))
        if cap is not None:
            total_w = min(total_w, elec.allowance([cap], rated=False).watts(elec.voltage))
        return Allowance(total_w / (elec.voltage * elec.phases), elec.phases)

    def composite(
        self,
        connector_id: int,
        txs: dict[int, Tx | None],
        start: datetime,
        duration: int,
        unit: str,
        elec: Electrical,
    ) -> tuple[list[dict], int]:
        """GetCompositeSchedule (§5.7): the limit on `connector_id` (0: the
        charger total) over [start, start + duration) in `unit`, as periods
        that start where the limit changes. Returns the periods (snake_case,
        as the `ocpp` library sends them) and the duration they cover."""
        end = start + timedelta(seconds=duration)
        origins = {start, *(tx.start for tx in txs.values() if tx is not None)}
        edges = {start}
        for _, profile in self.installed:
            for origin in origins:
                edges |= profile.changes(start, end, origin)
        offsets = sorted({math.ceil((e - start).total_seconds()) for e in edges})
        periods: list[dict] = []
        for offset in offsets:
            if offset >= max(duration, 1):
                break
            t = start + timedelta(seconds=offset)
            if connector_id == 0:
                allowed = self.charger_allowance(txs, t, elec, start)
            else:
                allowed = self.connector_allowance(connector_id, t, elec, txs.get(connector_id), start)
            limit = floor_tenth(allowed.in_unit(unit, elec.voltage))
            if periods and (periods[-1]["limit"], periods[-1]["number_phases"]) == (limit, allowed.phases):
                continue
            if len(periods) == MAX_COMPOSITE_PERIODS:
                return periods, offset
            periods.append({"start_period": offset, "limit": limit, "number_phases": allowed.phases})
        return periods, duration


def _cap_origin(txs: dict[int, Tx | None], origin: datetime) -> datetime:
    """A charger-wide Relative profile runs from its first running transaction."""
    return min((tx.start for tx in txs.values() if tx is not None), default=origin)


def floor_tenth(value: float) -> float:
    """A limit as OCPP carries it (multiples of 0.1), never above the real one."""
    if not math.isfinite(value):
        return 0.0
    return math.floor(value * 10 + 1e-6) / 10
