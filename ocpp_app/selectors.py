"""Reads shared by the pages, the dashboard socket and the admin.

Every function here runs a fixed number of queries whatever the number of
chargers, connectors or readings (tests assert it): annotations and
prefetches instead of per-row lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BigIntegerField, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ocpp_app.models import Charger, Connector, MessageLog, MeterReading, Transaction

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
STATES = ("online", "stale", "offline")
# Connector status -> colour class; the same names drive the map markers.
FAULT_STATUSES = ("Faulted",)
CHARGING_STATUSES = ("Charging",)
# Heavy columns nobody reads on a list page.
LIST_DEFER = ("qr_png", "qr_svg", "config", "last_meter_values", "password_hash")


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
        last_energy=_latest_reading(ENERGY, "value_numeric"),
        last_energy_unit=_latest_reading(ENERGY, "unit"),
        last_power=_latest_reading(POWER, "value_numeric"),
        last_power_unit=_latest_reading(POWER, "unit"),
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


def state_of(*, connected: bool, last_seen, last_heartbeat, connected_since, heartbeat_interval) -> str:
    """Charger.state from plain values (for values_list rows)."""
    probe = Charger(
        connected=connected,
        last_seen=last_seen,
        last_heartbeat=last_heartbeat,
        connected_since=connected_since,
        heartbeat_interval=heartbeat_interval,
    )
    return probe.state


LIVENESS = ("pk", "connected", "last_seen", "last_heartbeat", "connected_since", "heartbeat_interval")


def heard_recently_q() -> Q:
    """Connected chargers heard within their heartbeat interval plus grace
    (Charger.state == "online") as one SQL condition: one small query for the
    distinct intervals in use, then a cutoff per interval. "Heard" is the
    latest of last_seen, last_heartbeat and connected_since, and
    max(a, b, c) >= cutoff exactly when one of them is."""
    now = timezone.now()
    default = settings.OCPP_HEARTBEAT_INTERVAL
    fresh = Q(pk__in=[])
    intervals = Charger.objects.filter(connected=True).order_by().values_list("heartbeat_interval", flat=True)
    for interval in set(intervals.distinct()):
        cutoff = now - timedelta(seconds=(interval or default) + settings.OCPP_STALE_GRACE)
        heard = Q(last_seen__gte=cutoff) | Q(last_heartbeat__gte=cutoff) | Q(connected_since__gte=cutoff)
        same = Q(heartbeat_interval=interval) if interval is not None else Q(heartbeat_interval__isnull=True)
        fresh |= same & heard
    return Q(connected=True) & fresh


def _active_transactions() -> QuerySet[Transaction]:
    return transactions_with_live_values(Transaction.objects.filter(stop_time__isnull=True).order_by("connector_id"))


def chargers_with_details(qs: QuerySet[Charger]) -> QuerySet[Charger]:
    """Connectors, active transactions (with live values) and the energy of
    stopped transactions, in three queries for any number of chargers."""
    done = (
        Transaction.objects.filter(charger=OuterRef("pk"), energy_wh__isnull=False)
        .order_by()
        .values("charger")
        .annotate(total=Sum("energy_wh"))
        .values("total")
    )
    return (
        qs.defer(*LIST_DEFER)
        .annotate(energy_done_wh=Coalesce(Subquery(done), Value(0), output_field=BigIntegerField()))
        .prefetch_related(
            Prefetch("connectors", queryset=Connector.objects.order_by("connector_id")),
            Prefetch("transactions", queryset=_active_transactions(), to_attr="active_transactions"),
        )
    )


def decorate_charger(charger: Charger) -> Charger:
    """Derived display values on a charger from chargers_with_details."""
    active = getattr(charger, "active_transactions", [])
    by_connector = {tx.connector_id: tx for tx in active}
    live_wh = 0.0
    for tx in active:
        tx.energy_so_far_wh = transaction_energy_so_far(tx)
        tx.power_w = transaction_power_w(tx)
        live_wh += tx.energy_so_far_wh or 0.0
    # energy_wh is only set on stopped transactions, so nothing counts twice.
    charger.total_energy_wh = float(getattr(charger, "energy_done_wh", 0) or 0) + live_wh
    connectors = list(charger.connectors.all())
    for connector in connectors:
        connector.active_transaction = by_connector.get(connector.connector_id)
    charger.connector_list = [c for c in connectors if c.connector_id != 0]
    charger.charger_connector = next((c for c in connectors if c.connector_id == 0), None)
    charger.current_state = charger.state
    charger.power_w = sum(tx.power_w or 0.0 for tx in active) if active else None
    return charger


@dataclass
class DashboardCounts:
    total: int
    online: int
    stale: int
    offline: int
    charging: int
    faulted: int


def dashboard_counts() -> DashboardCounts:
    """Three queries whatever the number of chargers: the heartbeat intervals
    in use, one aggregate over chargers, one over connector statuses."""
    totals = Charger.objects.aggregate(
        n_total=Count("pk"),
        n_connected=Count("pk", filter=Q(connected=True)),
        n_online=Count("pk", filter=heard_recently_q()),
    )
    per_status = dict(
        Connector.objects.filter(status__in=[*CHARGING_STATUSES, *FAULT_STATUSES])
        .order_by()
        .values("status")
        .annotate(chargers=Count("charger_id", distinct=True))
        .values_list("status", "chargers")
    )
    return DashboardCounts(
        total=totals["n_total"],
        online=totals["n_online"],
        stale=totals["n_connected"] - totals["n_online"],
        offline=totals["n_total"] - totals["n_connected"],
        charging=sum(per_status.get(s, 0) for s in CHARGING_STATUSES),
        faulted=sum(per_status.get(s, 0) for s in FAULT_STATUSES),
    )


def dashboard_chargers(*, q: str = "", state: str = "", status: str = "", vendor: str = "") -> QuerySet[Charger]:
    """The dashboard's filtered charger queryset (not yet decorated)."""
    qs = Charger.objects.all()
    if q:
        qs = qs.filter(charger_id__icontains=q) | qs.filter(name__icontains=q)
    if vendor:
        qs = qs.filter(vendor__iexact=vendor)
    if status:
        qs = qs.filter(pk__in=Connector.objects.filter(status__iexact=status).values("charger_id"))
    if state == "offline":
        qs = qs.filter(connected=False)
    elif state == "online":
        qs = qs.filter(heard_recently_q())
    elif state == "stale":
        qs = qs.filter(connected=True).exclude(pk__in=Charger.objects.filter(heard_recently_q()).values("pk"))
    return qs.order_by("charger_id")


def dashboard_vendors() -> list[str]:
    return list(Charger.objects.exclude(vendor="").order_by("vendor").values_list("vendor", flat=True).distinct())


def marker_colour(state: str, statuses: set[str]) -> str:
    """One word per map marker: faulted > charging > the connection state."""
    if statuses & set(FAULT_STATUSES):
        return "faulted"
    if state == "offline":
        return "offline"
    if statuses & set(CHARGING_STATUSES):
        return "charging"
    return state


def dashboard_map_points(*, charger_ids: list[str] | None = None) -> list[dict]:
    """Every located charger (or those of `charger_ids`) with its marker colour:
    two queries."""
    located = Charger.objects.filter(latitude__isnull=False, longitude__isnull=False)
    if charger_ids is not None:
        located = located.filter(charger_id__in=charger_ids)
    rows = list(located.values_list(*LIVENESS, "charger_id", "name", "latitude", "longitude"))
    statuses: dict[int, set[str]] = {}
    if rows:
        for charger_pk, status in Connector.objects.filter(charger__in=located).values_list("charger_id", "status"):
            statuses.setdefault(charger_pk, set()).add(status)
    points = []
    for row in rows:
        state = state_of(
            connected=row[1], last_seen=row[2], last_heartbeat=row[3], connected_since=row[4], heartbeat_interval=row[5]
        )
        points.append(
            {
                "id": row[6],
                "name": row[7],
                "lat": float(row[8]),
                "lng": float(row[9]),
                "state": state,
                "colour": marker_colour(state, statuses.get(row[0], set())),
            }
        )
    return points


# -- one charger ----------------------------------------------------------------


def charger_transactions(charger: Charger, *, limit: int = 20) -> list[Transaction]:
    txs = list(transactions_with_live_values(charger.transactions.order_by("-start_time", "-id"))[:limit])
    for tx in txs:
        tx.energy_so_far_wh = transaction_energy_so_far(tx)
        tx.power_w = transaction_power_w(tx)
    return txs


def configuration_rows(config) -> list[dict]:
    """Configuration keys as stored by GetConfiguration (a mapping key ->
    {value, readonly} under "configurationKey", see services/commands/core.py), a list of
    {key, value, readonly}, or a plain mapping."""
    if isinstance(config, dict) and isinstance(config.get("configurationKey"), dict):
        return [
            {
                "key": key,
                "value": item.get("value") if isinstance(item, dict) else item,
                "readonly": item.get("readonly") if isinstance(item, dict) else None,
            }
            for key, item in sorted(config["configurationKey"].items())
        ]
    if isinstance(config, dict) and isinstance(config.get("configurationKey"), list):
        items = config["configurationKey"]
    elif isinstance(config, list):
        items = config
    elif isinstance(config, dict):
        return [{"key": k, "value": v, "readonly": None} for k, v in sorted(config.items())]
    else:
        return []
    rows = []
    for item in items:
        if isinstance(item, dict):
            rows.append({"key": item.get("key", ""), "value": item.get("value"), "readonly": item.get("readonly")})
    return rows


def transaction_chart_series(tx: Transaction, *, max_points: int = 2000) -> dict:
    """Power (W) and energy delivered (Wh) over time from stored readings, as
    uPlot-friendly columns: {"t": [epoch s], "power": [...], "energy": [...]}."""
    readings = (
        MeterReading.objects.filter(transaction=tx, measurand__in=[ENERGY, POWER], value_numeric__isnull=False)
        .order_by("timestamp", "phase", "id")
        .values_list("timestamp", "measurand", "phase", "unit", "value_numeric")
    )
    points: dict[datetime, dict] = {}
    for ts, measurand, phase, unit, value in readings.iterator():
        point = points.setdefault(ts, {})
        key = "power" if measurand == POWER else "energy"
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


# -- message log ------------------------------------------------------------------


@dataclass
class LogPage:
    rows: list[MessageLog]
    newer_cursor: int | None  # ?after=  (None: this is the newest page)
    older_cursor: int | None  # ?before= (None: nothing older)


def message_log_page(
    *,
    charger_id: str,
    action: str = "",
    direction: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> LogPage:
    """Keyset pagination on (charger_id, -id): each page is an index range scan,
    as fast on page 1000 as on page 1 (no OFFSET, no COUNT)."""
    qs = MessageLog.objects.filter(charger_id=charger_id)
    if action:
        qs = qs.filter(action=action)
    if direction:
        qs = qs.filter(direction=direction)
    if since:
        qs = qs.filter(timestamp__gte=since)
    if until:
        qs = qs.filter(timestamp__lt=until)
    if after is not None:
        # Walking towards newer rows: ascending, then shown newest first.
        rows = list(qs.filter(id__gt=after).order_by("id")[: limit + 1])
        has_more_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        newer = rows[0].id if rows and has_more_newer else None
        older = rows[-1].id if rows else after + 1
        return LogPage(rows=rows, newer_cursor=newer, older_cursor=older)
    if before is not None:
        qs = qs.filter(id__lt=before)
    rows = list(qs.order_by("-id")[: limit + 1])
    has_more_older = len(rows) > limit
    rows = rows[:limit]
    return LogPage(
        rows=rows,
        newer_cursor=(rows[0].id if rows else before - 1) if before is not None else None,
        older_cursor=rows[-1].id if rows and has_more_older else None,
    )


# -- transactions -------------------------------------------------------------------


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
    if charger_id:
        qs = qs.filter(charger__charger_id=charger_id)
    if id_tag:
        qs = qs.filter(id_tag=id_tag)
    if since:
        qs = qs.filter(start_time__gte=since)
    if until:
        qs = qs.filter(start_time__lt=until)
    if state == "active":
        qs = qs.filter(stop_time__isnull=True)
    elif state == "stopped":
        qs = qs.filter(stop_time__isnull=False)
    return qs.order_by("-start_time", "-id")


# -- public landing page --------------------------------------------------------------


def mask_id_tag(id_tag: str) -> str:
    """Enough to recognise one's own card, never enough to replay it: at most
    the last two characters, over a fixed-width mask."""
    if not id_tag:
        return ""
    return "••••" + id_tag[-2:] if len(id_tag) > 4 else "••••"


def landing_sessions(charger: Charger, *, limit: int = 50) -> list[dict]:
    rows = []
    for tx in transactions_with_live_values(charger.transactions.order_by("-start_time", "-id"))[:limit]:
        rows.append(
            {
                "connector_id": tx.connector_id,
                "id_tag": mask_id_tag(tx.id_tag),
                "start_time": tx.start_time,
                "stop_time": tx.stop_time,
                "energy_wh": transaction_energy_so_far(tx),
                "active": tx.stop_time is None,
            }
        )
    return rows
