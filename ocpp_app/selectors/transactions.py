"""Reads of charging sessions: their live energy and power, the session
filters of the sessions page and the API, the chart of one session, and how
the public landing page masks a card."""

from __future__ import annotations

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

from ocpp_app.models import Charger, MeterReading, Transaction
from ocpp_app.models.transactions import ACTIVE_POWER, ENERGY_REGISTER
from ocpp_app.selectors.common import filter_given

NEWEST_FIRST = ("-start_time", "-id")


def to_wh(value: float | None, unit: str | None) -> float | None:
    if value is None:
        return None
    return value * 1000 if (unit or "").lower() == "kwh" else value


def to_w(value: float | None, unit: str | None) -> float | None:
    if value is None:
        return None
    return value * 1000 if (unit or "").lower() == "kw" else value


def _latest_reading(measurand: str, field: str) -> Subquery:
    # Index (transaction, timestamp); at the latest timestamp a phase-less
    # (total) value sorts first.
    return Subquery(
        MeterReading.objects.filter(transaction=OuterRef("pk"), measurand=measurand)
        .order_by("-timestamp", "phase", "-id")
        .values(field)[:1]
    )


def transactions_with_live_values(qs: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """Annotate the latest energy register and power readings of each transaction."""
    return qs.annotate(
        last_energy=_latest_reading(ENERGY_REGISTER, "value_numeric"),
        last_energy_unit=_latest_reading(ENERGY_REGISTER, "unit"),
        last_power=_latest_reading(ACTIVE_POWER, "value_numeric"),
        last_power_unit=_latest_reading(ACTIVE_POWER, "unit"),
        last_reading_at=Subquery(
            MeterReading.objects.filter(transaction=OuterRef("pk")).order_by("-timestamp").values("timestamp")[:1]
        ),
    )


def transaction_energy_so_far(tx: Transaction) -> float | None:
    """Wh delivered: the stored energy of a stopped transaction, else the latest
    register reading minus meterStart (needs transactions_with_live_values)."""
    if tx.energy_wh is not None:
        return float(tx.energy_wh)
    latest = to_wh(getattr(tx, "last_energy", None), getattr(tx, "last_energy_unit", None))
    if latest is None:
        return None
    return max(0.0, latest - tx.meter_start)


def transaction_power_w(tx: Transaction) -> float | None:
    return to_w(getattr(tx, "last_power", None), getattr(tx, "last_power_unit", None))


def decorate_transaction(tx: Transaction) -> Transaction:
    """`energy_so_far_wh` and `power_w` for display, on a transaction from
    transactions_with_live_values."""
    tx.energy_so_far_wh = transaction_energy_so_far(tx)
    tx.power_w = transaction_power_w(tx)
    return tx


def charger_transactions(charger: Charger, *, limit: int = 20) -> list[Transaction]:
    latest = transactions_with_live_values(charger.transactions.order_by(*NEWEST_FIRST))[:limit]
    return [decorate_transaction(tx) for tx in latest]


def transactions_filtered(
    *,
    charger_id: str | None = None,
    id_tag: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    state: str = "",
) -> QuerySet[Transaction]:
    """Transactions, newest first, of one charger and/or id tag, started in
    [since, until), active or stopped; an empty or None value is no filter.
    The sessions page and the REST API both read through here."""
    qs = Transaction.objects.select_related("charger").only(
        *[f.name for f in Transaction._meta.concrete_fields if f.name != "charger"], "charger__charger_id"
    )
    qs = filter_given(qs, charger__charger_id=charger_id, id_tag=id_tag, start_time__gte=since, start_time__lt=until)
    if state == "active":
        qs = qs.filter(stop_time__isnull=True)
    elif state == "stopped":
        qs = qs.filter(stop_time__isnull=False)
    return qs.order_by(*NEWEST_FIRST)


def transaction_chart_series(tx: Transaction, *, max_points: int = 2000) -> dict:
    """Power (W) and energy delivered (Wh) over time from stored readings, as
    uPlot-friendly columns: {"t": [epoch s], "power": [...], "energy": [...]}."""
    readings = (
        MeterReading.objects.filter(
            transaction=tx, measurand__in=[ENERGY_REGISTER, ACTIVE_POWER], value_numeric__isnull=False
        )
        .order_by("timestamp", "phase", "id")
        .values_list("timestamp", "measurand", "phase", "unit", "value_numeric")
    )
    points: dict[datetime, dict] = {}
    for ts, measurand, phase, unit, value in readings.iterator():
        point = points.setdefault(ts, {})
        key = "power" if measurand == ACTIVE_POWER else "energy"
        converted = to_w(value, unit) if key == "power" else to_wh(value, unit)
        if phase and key == "power":
            # Per-phase power adds up when no total is reported.
            point.setdefault("power_phases", 0.0)
            point["power_phases"] += converted
        elif not phase:
            point[key] = converted
        elif key not in point and "energy_phase" not in point:
            point["energy_phase"] = converted
    times = sorted(points)
    if len(times) > max_points:  # thin evenly; a chart has no more pixels
        step = len(times) / max_points
        times = [times[int(i * step)] for i in range(max_points)]
    series = {"t": [], "power": [], "energy": []}
    for ts in times:
        point = points[ts]
        power = point.get("power", point.get("power_phases"))
        energy = point.get("energy", point.get("energy_phase"))
        series["t"].append(ts.timestamp())
        series["power"].append(power)
        series["energy"].append(None if energy is None else max(0.0, energy - tx.meter_start))
    return series


def meter_readings_filtered(
    charger: Charger,
    *,
    transaction_id: int | None = None,
    measurand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[MeterReading]:
    """A charger's meter readings, of one transaction and/or measurand, taken
    in [since, until); an empty or None value is no filter."""
    return filter_given(
        MeterReading.objects.filter(charger=charger),
        transaction_id=transaction_id,
        measurand=measurand,
        timestamp__gte=since,
        timestamp__lt=until,
    )


# -- public landing page (the rest is in selectors/landing.py) ---------------------------------


def mask_id_tag(id_tag: str) -> str:
    """Enough to recognise one's own card, never enough to replay it: at most
    the last two characters, over a fixed-width mask."""
    if not id_tag:
        return ""
    return "••••" + id_tag[-2:] if len(id_tag) > 4 else "••••"
