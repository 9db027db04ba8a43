"""HTML pages: the operator dashboard, charger pages, message logs, sessions
(the public landing pages and their QR codes are in landing.py)."""

import functools
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from ocpp.v16.enums import Action

from ocpp_app import selectors
from ocpp_app.admin.certificates import EXPIRES_SOON, EXPIRY_PARAMETER
from ocpp_app.lib.timeparse import BadDateTime, parse_datetime_utc
from ocpp_app.models import Charger, ChargerEventKind, Direction, Transaction
from ocpp_app.selectors.events import charger_security_events, latest_event, recent_critical_events
from ocpp_app.selectors.message_log import SEARCH_WINDOW
from ocpp_app.services import certificates, roles
from ocpp_app.services.commands.certificates import CERTIFICATE_MAX_CHARS, ROOT_TYPES
from ocpp_app.services.firmware import firmware_path
from ocpp_app.services.qr import landing_url
from ocpp_app.web.command_forms import CommandForms
from ocpp_app.web.exports import transactions_csv_response
from ocpp_app.web.landing import request_base
from ocpp_app.web.log_filters import BadLogFilters, message_log_filters

DASHBOARD_PAGE_SIZE = 100
LOG_PAGE_SIZE = 100
CONNECTOR_STATUSES = [
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
]


def health(request):
    """Liveness for load balancers: the database answers."""
    Charger.objects.exists()  # raises (500) when the database does not answer
    return JsonResponse({"status": "ok"})


def parse_when(value: str | None) -> datetime | None:
    """A datetime-local or ISO value from a filter form, read as UTC when it
    has no offset. A value that is not a usable date-time is no filter: the
    page shows everything rather than an error."""
    try:
        return parse_datetime_utc(value or "")
    except BadDateTime:  # also an empty field
        return None


def positive_int(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number >= 0 else None


def query_without(request, *keys: str) -> str:
    """The page's query string without `keys` (its page or cursor), for the
    links that keep the filters and go elsewhere in the list."""
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


def operator_page(view):
    """A page of the operator side, by the roles of services/roles.py: an
    anonymous visitor is sent to the login; a logged-in user needs the viewer
    role to read (GET, HEAD) and the operator role for any other method, else
    gets the 403 page (errors.py) naming the missing role. Being staff counts
    for nothing here."""

    @functools.wraps(view)
    def page(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not roles.may(request.user, request.method):
            raise PermissionDenied(roles.refusal(roles.role_needed(request.method)))
        return view(request, *args, **kwargs)

    return page


# -- dashboard --------------------------------------------------------------------


def dashboard_filters(request) -> dict:
    return {
        "q": request.GET.get("q", "").strip(),
        "state": request.GET.get("state", "").strip() if request.GET.get("state") in selectors.STATES else "",
        "status": request.GET.get("status", "").strip(),
        "vendor": request.GET.get("vendor", "").strip(),
    }


def certificate_warning() -> dict:
    """How many issued certificates expire soon or have expired (the rule of
    services/certificates.py), and the admin list that shows them."""
    query = urlencode({EXPIRY_PARAMETER: EXPIRES_SOON})
    return {
        "expiring_certificates": certificates.certificates_expiring().count(),
        "expiring_days": certificates.EXPIRING_SOON.days,
        "expiring_url": f"{reverse('admin:ocpp_app_issuedcertificate_changelist')}?{query}",
    }


@operator_page
@require_GET
def dashboard(request):
    filters = dashboard_filters(request)
    paginator = Paginator(selectors.chargers_with_details(selectors.dashboard_chargers(**filters)), DASHBOARD_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    chargers = [selectors.decorate_charger(c) for c in page.object_list]
    critical_count, critical = recent_critical_events()
    return render(
        request,
        "ocpp/dashboard.html",
        {
            **certificate_warning(),
            "chargers": chargers,
            "page": page,
            "page_query": query_without(request, "page"),
            "counts": selectors.dashboard_counts(),
            "filters": filters,
            "vendors": selectors.dashboard_vendors(),
            "connector_statuses": CONNECTOR_STATUSES,
            "states": selectors.STATES,
            "map_points": selectors.dashboard_map_points(),
            "map_center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
            "critical_count": critical_count,
            "critical_events": critical,
        },
    )


# -- one charger --------------------------------------------------------------------


def charger_or_404(cid: str, *, details: bool = False) -> Charger:
    qs = Charger.objects.filter(charger_id=cid)
    if details:
        qs = selectors.chargers_with_details(qs)
    charger = qs.first()
    if charger is None:
        raise Http404(f"There is no charger with the id “{cid}”.")
    return selectors.decorate_charger(charger) if details else charger


def chosen_transaction(charger: Charger, tx_param: str | None) -> Transaction | None:
    """The transaction asked for, else the active one, else the latest."""
    tx_id = positive_int(tx_param)
    qs = charger.transactions.all()
    if tx_id is not None:
        tx = qs.filter(pk=tx_id).first()
        if tx is None:
            raise Http404(f"Charger “{charger.charger_id}” has no transaction {tx_id}.")
        return tx
    return qs.filter(stop_time__isnull=True).order_by("-start_time").first() or qs.order_by("-start_time").first()


def charger_api_url(name: str, charger_id: str, path: str) -> str:
    """A charger's REST endpoint (`name`), or when the API is not installed
    its documented `path` under /ocpp/chargers/<id>/."""
    try:
        return reverse(f"ocpp:{name}", args=[charger_id])
    except NoReverseMatch:
        return reverse("ocpp:charger-view", args=[charger_id]).removesuffix("view/") + path


def command_url(charger_id: str) -> str:
    """The REST command endpoint of the operator-commands API for a charger."""
    return charger_api_url("api-charger-action", charger_id, "action/")


def certificate_card(charger: Charger) -> dict:
    """The certificate card: what the CA issued (with the expires-soon rule of
    services/certificates.py), what the charger reports installed, and the
    endpoints its buttons post to."""
    found = selectors.charger_certificates(charger)
    now = timezone.now()
    for issued in found["issued"]:
        issued.expires_soon = certificates.certificate_expires_soon(issued, now)
        issued.expired = issued.not_after <= now
    cid = charger.charger_id
    return {
        **found,
        "root_types": ROOT_TYPES,
        "max_chars": CERTIFICATE_MAX_CHARS,
        "list_url": charger_api_url("api-charger-certificates", cid, "certificates/"),
        "renew_url": charger_api_url("api-charger-certificate-renew", cid, "certificates/renew/"),
        "install_url": charger_api_url("api-charger-certificate-install", cid, "certificates/install/"),
    }


@operator_page
@require_GET
def charger_detail(request, cid: str):
    charger = charger_or_404(cid, details=True)
    tx = chosen_transaction(charger, request.GET.get("tx"))
    active = charger.active_transactions[0] if charger.active_transactions else None
    first_connector = charger.connector_list[0].connector_id if charger.connector_list else 1
    return render(
        request,
        "ocpp/charger_detail.html",
        {
            "charger": charger,
            "config_rows": selectors.configuration_rows(charger.config),
            "transactions": selectors.charger_transactions(charger),
            "chart_tx": tx,
            "chart": selectors.transaction_chart_series(tx) if tx else {"t": [], "power": [], "energy": []},
            "active_tx": active,
            "default_connector": first_connector,
            # The REST command endpoint (operator-commands API) beside this page.
            "action_url": command_url(charger.charger_id),
            "security_events": charger_security_events(charger),
            "signed_firmware": latest_event(charger, ChargerEventKind.SIGNED_FIRMWARE),
            "certificates": certificate_card(charger),
            "command_forms": CommandForms(request, charger),
            # Where the sticker's image leads (the rule of its PNG and SVG).
            "qr_url": landing_url(charger.charger_id, request_base=request_base(request)),
        },
    )


@operator_page
@require_GET
def charger_chart(request, cid: str):
    """Chart columns for a charger's transaction (JSON, for live refresh)."""
    charger = charger_or_404(cid)
    tx = chosen_transaction(charger, request.GET.get("tx"))
    if tx is None:
        return JsonResponse({"transaction": None, "t": [], "power": [], "energy": []})
    return JsonResponse(
        {"transaction": tx.pk, "active": tx.stop_time is None, **selectors.transaction_chart_series(tx)}
    )


# -- message log ----------------------------------------------------------------------


@operator_page
@require_GET
def message_log(request, cid: str):
    # Logs are keyed by id string and kept also for chargers that were refused
    # or deleted (no row): their log stays readable while rows remain. An id
    # with neither a charger nor a logged message is a 404. A bad filter is a
    # 400 that names it, on the page with its form.
    try:
        filters, errors = message_log_filters(request.GET), {}
    except BadLogFilters as bad:
        filters, errors = None, bad.errors
    if filters is None:
        page = selectors.LogPage(rows=[], newer_cursor=None, older_cursor=None)
    else:
        page = selectors.message_log_page(charger_id=cid, **filters, limit=LOG_PAGE_SIZE)
    charger_exists = Charger.objects.filter(charger_id=cid).exists()
    # An empty filtered page says nothing of the whole log: ask for one row.
    if not charger_exists and not page.rows and not selectors.message_log_page(charger_id=cid, limit=1).rows:
        raise Http404(f"There is no charger and no logged message with the id “{cid}”.")
    form = {key: request.GET.get(key, "") for key in ("q", "action", "direction", "since", "until")}
    return render(
        request,
        "ocpp/message_log.html",
        {
            "cid": cid,
            "charger_exists": charger_exists,
            "page": page,
            "errors": errors,
            "search_window": SEARCH_WINDOW,
            "filter_query": query_without(request, "before", "after"),
            "actions": sorted(a.value for a in Action),
            "form": form,
            "directions": Direction.choices,
        },
        status=400 if errors else 200,
    )


# -- sessions (transactions) --------------------------------------------------------------


def session_filters(request) -> dict:
    return {
        "charger_id": request.GET.get("charger", "").strip(),
        "id_tag": request.GET.get("id_tag", "").strip(),
        "since": parse_when(request.GET.get("since")),
        "until": parse_when(request.GET.get("until")),
        "state": request.GET.get("state", "").strip(),
    }


@operator_page
@require_GET
def sessions(request):
    filters = session_filters(request)
    paginator = Paginator(selectors.transactions_with_live_values(selectors.transactions_filtered(**filters)), 50)
    page = paginator.get_page(request.GET.get("page"))
    for tx in page.object_list:
        selectors.decorate_transaction(tx)
    return render(
        request,
        "ocpp/sessions.html",
        {
            "page": page,
            "query": query_without(request, "page"),
            "form": {key: request.GET.get(key, "") for key in ("charger", "id_tag", "since", "until", "state")},
        },
    )


@operator_page
@require_GET
def sessions_csv(request):
    return transactions_csv_response(
        selectors.transactions_filtered(**session_filters(request)), filename="sessions.csv"
    )


# -- published firmware ----------------------------------------------------------------


@require_GET
def firmware_download(request, name: str):
    """A signed firmware file, streamed. No login: a charger downloads it with
    no credentials, so its random 256-bit name is what guards it."""
    path = firmware_path(name)
    if path is None:
        raise Http404("There is no published firmware with this name.")
    response = FileResponse(path.open("rb"), content_type="application/octet-stream", as_attachment=True)
    response["Cache-Control"] = "private, no-store"
    return response
