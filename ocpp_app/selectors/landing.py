"""The driver's page (public, reached by the QR code on a charger or on one
of its connectors): the charger, its connectors and the session in progress
on each, never a session that has ended.

What a stranger who scans the code may learn is what a passer-by sees on
the charger's own display: whether it is online, each connector's state, and
for a session in progress its energy, power, elapsed time and the card's
last two characters (`mask_id_tag`). Not the charger's total energy either:
it is the sum of other people's sessions (with one session, its energy
exactly). No parameter selects a session, so no
finished session, nor one of another charger, is reachable by an id; an open
session record on a connector that has reported Available since it started
(its StopTransaction was lost) is not in progress, and is not shown either.

One exception, brief: for ENDED_SHOWN after a session stops on a connector
(and until another starts there), the page's figures carry that session's
final energy and its start time, nothing else, so that the driver's page
that showed it says what the charger finally counted (the script shows it
only in place of the session it was showing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse
from django.utils import timezone

from ocpp_app.models import Charger, Connector, Transaction
from ocpp_app.selectors.chargers import chargers_with_details, connector_has_fault, decorate_charger
from ocpp_app.selectors.transactions import mask_id_tag
from ocpp_app.services.qr import landing_url, sticker_address

# A connector's OCPP status in a driver's words.
STATUS_WORDS = {
    "Available": "Available",
    "Preparing": "Preparing: plug in or present your card",
    "Charging": "Charging",
    "SuspendedEVSE": "Paused by the charger",
    "SuspendedEV": "Paused by the car",
    "Finishing": "Finishing: you can unplug",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Out of order",
}
STATE_WORDS = {"online": "Online", "stale": "Not responding", "offline": "Offline"}
STATE_NOTICES = {
    "online": "",
    "stale": "This charger is not responding: what it last reported may be out of date.",
    "offline": "This charger is offline: it cannot start a session now, and what it last reported may be out of date.",
}
NO_SESSION_STATUSES = ("Available",)
# How long after a session stopped its final energy is in the page's figures.
ENDED_SHOWN = timedelta(minutes=2)


@dataclass(frozen=True)
class DriverSession:
    card: str  # masked
    started_at: datetime
    elapsed_s: int
    energy_wh: float | None
    power_w: float | None


@dataclass(frozen=True)
class EndedSession:
    """The session that just stopped on a connector: when it started (to
    match the one a page showed) and the energy the charger finally counted."""

    started_at: datetime
    energy_wh: float


@dataclass(frozen=True)
class DriverConnector:
    connector_id: int
    status: str  # as the charger reported it ("" before any)
    status_text: str
    fault: bool
    error_code: str  # OCPP's error code of a fault (never the vendor's details)
    fault_text: str  # what the page says of a fault ("" without one)
    session: DriverSession | None
    ended: EndedSession | None = None


@dataclass(frozen=True)
class DriverPage:
    charger_id: str
    name: str
    vendor: str
    model: str
    state: str  # online / stale / offline
    state_text: str
    notice: str  # what the page says of a charger that is not online ("" when it is)
    charger_fault: str  # what the page says of a fault of the charger itself (connector 0), or ""
    connector_id: int | None  # the connector the page is about, or None for the whole charger
    connectors: list[DriverConnector]


def _in_progress(tx: Transaction | None, connector: Connector | None) -> bool:
    if tx is None:
        return False
    if connector is None or connector.status not in NO_SESSION_STATUSES:
        return True
    reported_at = connector.timestamp or connector.updated_at
    return reported_at is None or reported_at < tx.start_time


def _fault_text(error_code: str) -> str:
    reported = f" ({error_code})" if error_code else ""
    return f"This connector reports a fault{reported}: use another one, or try again later."


def _session(tx: Transaction, now: datetime) -> DriverSession:
    return DriverSession(
        card=mask_id_tag(tx.id_tag),
        started_at=tx.start_time,
        elapsed_s=max(0, int((now - tx.start_time).total_seconds())),
        energy_wh=tx.energy_so_far_wh,
        power_w=tx.power_w,
    )


def _active_by_connector(charger: Charger) -> dict[int, Transaction]:
    """The latest open session of each connector (a connector has at most
    one; the latest wins should an older one linger)."""
    latest: dict[int, Transaction] = {}
    for tx in charger.active_transactions:
        if tx.connector_id not in latest or tx.start_time > latest[tx.connector_id].start_time:
            latest[tx.connector_id] = tx
    return latest


def _final_energy_wh(tx: Transaction) -> float | None:
    if tx.energy_wh is not None:
        return float(tx.energy_wh)
    if tx.meter_stop is not None:
        return float(max(0, tx.meter_stop - tx.meter_start))
    return None


def _just_ended(charger: Charger, numbers: list[int], active: dict[int, Transaction], now: datetime) -> dict:
    """The session that stopped within ENDED_SHOWN on each of these
    connectors, unless another started there since (one query, none when no
    connector is asked about)."""
    if not numbers:
        return {}
    found: dict[int, EndedSession] = {}
    stopped = (
        Transaction.objects.filter(charger=charger, connector_id__in=numbers, stop_time__gte=now - ENDED_SHOWN)
        .order_by("connector_id", "-stop_time", "-id")
        .only("connector_id", "start_time", "meter_start", "meter_stop", "energy_wh")
    )
    for tx in stopped:
        if tx.connector_id in found:
            continue
        newer = active.get(tx.connector_id)
        energy = _final_energy_wh(tx)
        if energy is None or (newer is not None and newer.start_time >= tx.start_time):
            found[tx.connector_id] = None
            continue
        found[tx.connector_id] = EndedSession(started_at=tx.start_time, energy_wh=energy)
    return {n: e for n, e in found.items() if e is not None}


def connector_numbers(reported: set[int], charging: set[int]) -> list[int]:
    """The connectors a driver's page knows: those the charger reported a
    status for, and any with a session in progress (connector 0 is the
    charger itself)."""
    return sorted(n for n in reported | charging if n >= 1)


def charger_connector_numbers(charger: Charger) -> list[int]:
    """connector_numbers of one charger, in two small queries (the admin's
    stickers)."""
    reported = Connector.objects.filter(charger=charger).values_list("connector_id", flat=True)
    charging = Transaction.objects.filter(charger=charger, stop_time__isnull=True).values_list(
        "connector_id", flat=True
    )
    return connector_numbers(set(reported), set(charging))


def driver_page(charger_id: str, connector_id: int | None = None) -> DriverPage | None:
    """The page of a charger (None when there is none), or of one of its
    connectors (then `connectors` is empty when the charger has no such
    connector). Three queries, and a fourth when a connector has no session
    in progress (the session that may just have ended there)."""
    charger = chargers_with_details(Charger.objects.filter(charger_id=charger_id)).first()
    if charger is None:
        return None
    decorate_charger(charger)
    now = timezone.now()
    by_number = {c.connector_id: c for c in charger.connector_list}
    active = _active_by_connector(charger)
    numbers = connector_numbers(set(by_number), set(active))
    if connector_id is not None:
        numbers = [n for n in numbers if n == connector_id]
    in_progress = {n for n in numbers if _in_progress(active.get(n), by_number.get(n))}
    ended = _just_ended(charger, [n for n in numbers if n not in in_progress], active, now)
    connectors = []
    for number in numbers:
        connector = by_number.get(number)
        tx = active.get(number)
        status = connector.status if connector is not None else ""
        fault = connector is not None and connector_has_fault(connector)
        error_code = connector.error_code if fault and connector.error_code != "NoError" else ""
        connectors.append(
            DriverConnector(
                connector_id=number,
                status=status,
                status_text=STATUS_WORDS.get(status, status or "Unknown"),
                fault=fault,
                error_code=error_code,
                fault_text=_fault_text(error_code) if fault else "",
                session=_session(tx, now) if number in in_progress else None,
                ended=ended.get(number),
            )
        )
    itself = charger.charger_connector
    charger_fault = ""
    if itself is not None and connector_has_fault(itself):
        code = itself.error_code if itself.error_code not in ("", "NoError") else itself.status
        charger_fault = f"The charger reports a fault ({code}): it may not charge."
    state = charger.current_state
    return DriverPage(
        charger_id=charger.charger_id,
        name=charger.name,
        vendor=charger.vendor,
        model=charger.model,
        state=state,
        state_text=STATE_WORDS[state],
        notice=STATE_NOTICES[state],
        charger_fault=charger_fault,
        connector_id=connector_id,
        connectors=connectors,
    )


def sticker_codes(charger: Charger, base: str) -> dict:
    """Where the codes of a charger shown from a request with this `base`
    lead, against its stored code, and each code (the charger's, then one
    per connector) with its image and downloads: the admin's QR card."""
    codes = []
    for number in [None, *charger_connector_numbers(charger)]:
        args = [charger.charger_id] if number is None else [charger.charger_id, number]
        codes.append(
            {
                "connector_id": number,
                "url": landing_url(charger.charger_id, number, request_base=base),
                "png": reverse("ocpp:qr-png", args=args),
                "svg": reverse("ocpp:qr-svg", args=args),
            }
        )
    return {"address": sticker_address(charger, base), "codes": codes}
