"""The simulated charger's data: its connectors (each with the car plugged
into it), sessions and reservations, and the clock it stamps its messages
with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ocpp_app.lib.timeparse import BadDateTime, format_datetime_utc, parse_datetime_utc
from simulator.ev import EV


def utc_iso(when: datetime | None = None) -> str:
    """An OCPP timestamp: UTC, milliseconds, `Z`."""
    return format_datetime_utc(when or datetime.now(UTC), timespec="milliseconds")


def parse_time(value: str | None) -> datetime | None:
    """A date-time from the central system (no offset means UTC), or None for
    one the simulator cannot use: it then acts at once / never expires."""
    try:
        return parse_datetime_utc(value)
    except BadDateTime:
        return None


@dataclass
class Session:
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: datetime
    reservation_id: int | None = None
    transaction_id: int | None = None
    id_tag_status: str | None = None
    delivered_wh: float = 0.0
    # What the charger offers (the limit in force, A per phase; None until
    # the first sample), what the car draws (A per phase) and the power.
    offered_a: float | None = None
    current_a: float = 0.0
    phases: int = 0
    power_w: float = 0.0
    meter_values_sent: int = 0
    stop_reason: str | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_event.set()

    def started(self, transaction_id: int, id_tag_status: str) -> None:
        """The central system answered StartTransaction."""
        self.transaction_id = transaction_id
        self.id_tag_status = id_tag_status
        self.answered.set()
        if id_tag_status != "Accepted":
            # §5.11: a charger stops a transaction whose tag is not accepted.
            self.request_stop("DeAuthorized")


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: datetime | None


@dataclass
class Connector:
    id: int
    status: str = "Available"
    operative: bool = True
    # A ChangeAvailability that waits for the running session to end.
    scheduled_operative: bool | None = None
    meter_wh: float = 0.0
    ev: EV = field(default_factory=EV)
    session: Session | None = None
    claimed: bool = False
    reservation: Reservation | None = None

    @property
    def idle_status(self) -> str:
        if not self.operative:
            return "Unavailable"
        return "Reserved" if self.reservation is not None else "Available"
