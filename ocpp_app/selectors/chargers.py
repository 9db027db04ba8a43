"""Reads of chargers: their live state (online, stale, offline), the
dashboard's counts, filters and map, and one charger with its connectors,
active sessions and configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import BigIntegerField, Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ocpp_app.models import Charger, Connector, Transaction
from ocpp_app.selectors.transactions import decorate_transaction, transactions_with_live_values

STATES = ("online", "stale", "offline")
# Connector status -> colour class; the same names drive the map markers.
FAULT_STATUSES = ("Faulted",)
CHARGING_STATUSES = ("Charging",)
# Heavy columns nobody reads on a list page.
LIST_DEFER = ("qr_png", "qr_svg", "config", "last_meter_values", "password_hash")


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
    active = [decorate_transaction(tx) for tx in getattr(charger, "active_transactions", [])]
    by_connector = {tx.connector_id: tx for tx in active}
    # energy_wh is only set on stopped transactions, so nothing counts twice.
    live_wh = sum(tx.energy_so_far_wh or 0.0 for tx in active)
    charger.total_energy_wh = float(getattr(charger, "energy_done_wh", 0) or 0) + live_wh
    connectors = list(charger.connectors.all())
    for connector in connectors:
        connector.active_transaction = by_connector.get(connector.connector_id)
    charger.connector_list = [c for c in connectors if c.connector_id != 0]
    charger.charger_connector = next((c for c in connectors if c.connector_id == 0), None)
    charger.current_state = charger.state
    charger.last_seen_at = last_seen_at(charger)
    charger.fault_connectors = [c for c in connectors if connector_has_fault(c)]
    charger.power_w = sum(tx.power_w or 0.0 for tx in active) if active else None
    return charger


def last_seen_at(charger: Charger):
    """When anything was last heard from the charger: `last_seen` (any
    message), else the latest of the other signs of life (a heartbeat, a
    connection, a boot) for a row written before `last_seen` was kept or in
    the seconds before it is; None only when it was truly never seen."""
    if charger.last_seen is not None:
        return charger.last_seen
    signs = [charger.last_heartbeat, charger.connected_since, charger.last_boot_at]
    return max(filter(None, signs), default=None)


def connector_has_fault(connector: Connector) -> bool:
    """Faulted, or reporting an error code other than NoError."""
    return connector.status in FAULT_STATUSES or connector.error_code not in ("", "NoError")


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
