"""The circuit pages: the tree with each circuit's limit and live load, and
one circuit with its sessions (allocated against measured current, and why),
its chargers the load manager cannot steer, and its load over time."""

from datetime import timedelta

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from ocpp_app.models import Circuit
from ocpp_app.services import load
from ocpp_app.web.views import operator_page

CHART_WINDOW = timedelta(hours=6)


def _tree_rows(circuits: list[Circuit]) -> list[tuple[Circuit, int]]:
    """Circuits in tree order with their depth."""
    children: dict[int | None, list[Circuit]] = {}
    for circuit in circuits:
        children.setdefault(circuit.parent_id, []).append(circuit)
    rows: list[tuple[Circuit, int]] = []

    def walk(parent_id, depth):
        for circuit in sorted(children.get(parent_id, []), key=lambda c: c.name):
            rows.append((circuit, depth))
            walk(circuit.pk, depth + 1)

    walk(None, 0)
    return rows


@operator_page
@require_GET
def circuit_list(request):
    circuits = list(Circuit.objects.all())
    rows = []
    for circuit, depth in _tree_rows(circuits):
        live = load.circuit_live(circuit)
        rows.append(
            {
                "circuit": circuit,
                "depth": depth,
                "limit": live["limit"],
                "allocated": max((p["allocated"] for p in live["phases"].values()), default=0),
                "measured": max((p["measured"] for p in live["phases"].values()), default=0),
                "sessions": len(live["sessions"]),
                "chargers": circuit.chargers.count(),
            }
        )
    return render(request, "ocpp/circuits.html", {"rows": rows})


@operator_page
@require_GET
def circuit_detail(request, pk: int):
    circuit = Circuit.objects.filter(pk=pk).select_related("parent").first()
    if circuit is None:
        raise Http404(f"No circuit {pk}")
    live = load.circuit_live(circuit)
    samples = load.circuit_samples(circuit, since=timezone.now() - CHART_WINDOW)
    chart = {
        "t": [int(s.at.timestamp()) for s in samples],
        "limit": [float(s.limit) for s in samples],
        "allocated": [float(s.allocated) for s in samples],
        "measured": [float(s.measured) if s.measured is not None else None for s in samples],
    }
    sessions = [{"row": row, "why": load.describe(row)} for row in live["sessions"]]
    chargers = list(circuit.chargers.order_by("charger_id"))
    context = {
        "circuit": circuit,
        "live": live,
        "phases": [
            {
                "phase": phase,
                **values,
                "percent": min(100, round(100 * values["allocated"] / float(live["limit"]))) if live["limit"] else 0,
            }
            for phase, values in live["phases"].items()
        ],
        "sessions": sessions,
        "children": list(circuit.children.order_by("name")),
        "chargers": chargers,
        "flagged": [c for c in chargers if c.load_control in ("rejected", "unsupported")],
        "schedule": list(circuit.schedule.all()),
        "chart": chart,
    }
    return render(request, "ocpp/circuit_detail.html", context)
