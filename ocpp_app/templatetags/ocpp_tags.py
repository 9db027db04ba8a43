"""Template helpers for the pages: QR codes, energy and power, status colours."""

import base64
import json

from django import template
from django.urls import reverse
from django.utils.html import format_html

from ocpp_app.services.load import describe
from ocpp_app.services.qr import charger_qr_png

register = template.Library()

STATUS_CLASSES = {
    "Available": "ok",
    "Preparing": "busy",
    "Charging": "charging",
    "SuspendedEVSE": "busy",
    "SuspendedEV": "busy",
    "Finishing": "busy",
    "Reserved": "reserved",
    "Unavailable": "off",
    "Faulted": "fault",
}


@register.filter
def status_class(status: str | None) -> str:
    """CSS class of a connector status (colour)."""
    return "st-" + STATUS_CLASSES.get(status or "", "unknown")


@register.filter
def kwh(wh) -> str:
    """Wh -> '12.345 kWh' ('—' when unknown)."""
    if wh is None or wh == "":
        return "—"
    return f"{float(wh) / 1000:,.3f} kWh"


@register.filter
def kw(watts) -> str:
    if watts is None or watts == "":
        return "—"
    return f"{float(watts) / 1000:,.2f} kW"


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.simple_tag
def charger_qr_src(charger, fmt: str = "png") -> str:
    """URL of a charger's QR image (PNG or SVG endpoint)."""
    return reverse("ocpp:qr-svg" if fmt == "svg" else "ocpp:qr-png", args=[charger.charger_id])


@register.simple_tag
def charger_qr(charger, size: int = 180, inline: bool = False, css_class: str = "qr"):
    """An <img> of the charger's landing-page QR code: a link to the PNG
    endpoint by default, or inline (data URI, one less request) with
    inline=True. Never stores a code (see services.qr)."""
    if inline:
        src = "data:image/png;base64," + base64.b64encode(charger_qr_png(charger)).decode("ascii")
    else:
        src = charger_qr_src(charger)
    return format_html(
        '<img class="{}" src="{}" width="{}" height="{}" alt="QR code of the page of charger {}">',
        css_class,
        src,
        size,
        size,
        charger.charger_id,
    )


@register.inclusion_tag("ocpp/_charger_load.html")
def charger_load(charger):
    """The charger page's load card: its circuit, and per active session the
    limit the load manager gives it and why (nothing when not attached)."""
    rows = list(charger.allocations.select_related("bottleneck").order_by("connector_id"))
    return {"charger": charger, "rows": [{"row": row, "why": describe(row)} for row in rows]}
