"""The public pages a driver reaches by a charger's QR code: the driver's
page of a charger or of one of its connectors (as HTML, or as JSON for its
own script), and the QR codes themselves. What they may show is decided in
selectors/landing.py, where each code leads in services/qr.py."""

import base64

from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger
from ocpp_app.selectors.landing import (
    DriverPage,
    DriverSession,
    EndedSession,
    charger_connector_numbers,
    driver_page,
)
from ocpp_app.services.qr import charger_qr_png, charger_qr_svg
from ocpp_app.templatetags.ocpp_tags import kw, kwh, status_class

# How often the driver's page asks for fresh figures (milliseconds).
POLL_MS = 3000


def request_base(request) -> str:
    """The scheme and host the request reached the server by: Django checks
    the host against ALLOWED_HOSTS and reads the scheme behind a trusted proxy."""
    return request.build_absolute_uri("/")


def _session(s: DriverSession | None) -> dict | None:
    if s is None:
        return None
    return {
        "card": s.card,
        "started_at": format_datetime_utc(s.started_at, timespec="seconds"),
        "elapsed_s": s.elapsed_s,
        "energy_wh": s.energy_wh,
        "energy_text": kwh(s.energy_wh),
        "power_w": s.power_w,
        "power_text": kw(s.power_w),
    }


def _ended(e: EndedSession | None) -> dict | None:
    if e is None:
        return None
    return {
        "started_at": format_datetime_utc(e.started_at, timespec="seconds"),
        "energy_wh": e.energy_wh,
        "energy_text": kwh(e.energy_wh),
    }


def driver_live(page: DriverPage) -> dict:
    """The driver's page as its script reads it and its template draws it:
    nothing but what the page shows, the figures formatted once, here."""
    return {
        "charger": {
            "id": page.charger_id,
            "state": page.state,
            "state_text": page.state_text,
            "notice": page.notice,
            "fault": page.charger_fault,
        },
        "connectors": [
            {
                "id": c.connector_id,
                "status": c.status,
                "status_text": c.status_text,
                "status_class": status_class(c.status),
                "fault": c.fault,
                "error_code": c.error_code,
                "fault_text": c.fault_text,
                "session": _session(c.session),
                # Only briefly after a session stopped here (selectors/landing.py).
                "ended": _ended(c.ended),
            }
            for c in page.connectors
        ],
    }


def wants_json(request) -> bool:
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


@require_GET
def page(request, cid: str, connector_id: int | None = None):
    """The driver's page of a charger, or of one of its connectors; JSON for a
    client that prefers it (the page's script, every few seconds, and its
    404 is JSON too). No query parameter is read: nothing selects a session."""
    found = driver_page(cid, connector_id)
    if found is None:
        raise Http404(f"There is no charger with the id “{cid}”.")
    if connector_id is not None and not found.connectors:
        raise Http404(f"Charger “{cid}” has no connector {connector_id}.")
    live = driver_live(found)
    if wants_json(request):
        response = JsonResponse(live)
        response["Cache-Control"] = "no-store"
    else:
        png = charger_qr_png(_qr_charger(cid), connector_id, request_base=request_base(request))
        context = {
            "page": found,
            "live": live,
            "sessions": [c["session"] for c in live["connectors"] if c["session"]],
            "qr_src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            "poll_ms": POLL_MS,
        }
        response = render(request, "ocpp/landing.html", context)
    patch_vary_headers(response, ["Accept"])
    return response


def _qr_charger(cid: str, connector_id: int | None = None) -> Charger:
    charger = Charger.objects.filter(charger_id=cid).only("pk", "charger_id", "qr_url", "qr_png", "qr_svg").first()
    if charger is None:
        raise Http404(f"There is no charger with the id “{cid}”.")
    if connector_id is not None and connector_id not in charger_connector_numbers(charger):
        raise Http404(f"Charger “{cid}” has no connector {connector_id}.")
    return charger


def _qr_response(request, body, content_type: str, cid: str, connector_id: int | None, ext: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    if request.GET.get("download"):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cid) or "charger"
        suffix = "" if connector_id is None else f"-{connector_id}"
        response["Content-Disposition"] = f'attachment; filename="qr-{safe}{suffix}.{ext}"'
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def qr_png(request, cid: str, connector_id: int | None = None):
    """The code of the charger's (or a connector's) driver page, leading where
    services/qr.py's rule says for this request."""
    charger = _qr_charger(cid, connector_id)
    body = charger_qr_png(charger, connector_id, request_base=request_base(request))
    return _qr_response(request, body, "image/png", cid, connector_id, "png")


@require_GET
def qr_svg(request, cid: str, connector_id: int | None = None):
    charger = _qr_charger(cid, connector_id)
    body = charger_qr_svg(charger, connector_id, request_base=request_base(request))
    return _qr_response(request, body, "image/svg+xml", cid, connector_id, "svg")
