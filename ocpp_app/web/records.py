"""The record pages (reservations, commands, charging profiles, security
events, a transaction, a charger's connector status history) and the query
parameters they share with the REST API's record resources (api/records.py),
read by one rule as the message log's are (log_filters.py): an empty value is
no filter, a bad one is named with what was expected (the page answers 400
with its form and the message, the API a 400 JSON body)."""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from ocpp.v16.enums import ChargePointStatus, ChargingProfilePurposeType

from ocpp_app.lib import jsonwalk
from ocpp_app.lib.limits import INT32_MAX, int_in_range
from ocpp_app.lib.timeparse import BadDateTime, DateTimeOutOfRange, parse_datetime_utc
from ocpp_app.models import Charger, Command, CommandStatus, ReservationStatus
from ocpp_app.selectors import records
from ocpp_app.selectors.events import decorate_events
from ocpp_app.services.secrets import redact
from ocpp_app.web.log_filters import ACTIONS
from ocpp_app.web.views import charger_or_404, operator_page, query_without

PAGE_SIZE = 50
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")
# The commands whose outcome chargers report later, linked to them by status
# notifications (services/notifications.py): what an operator asked for when
# looking for a firmware update or a diagnostics or log upload.
REPORTING_ACTIONS = ("UpdateFirmware", "SignedUpdateFirmware", "GetDiagnostics", "GetLog")


class BadRecordFilters(ValueError):
    """Query parameters a record list cannot be read with: parameter -> what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Param:
    """One query parameter: its name, the selector argument it fills, how it
    is read (text, choice, action, datetime, whole, flag) and its words."""

    name: str
    arg: str
    kind: str
    description: str
    choices: tuple[str, ...] = field(default=())


CHARGER = Param("charger", "charger_id", "text", "Charger id (exact)")
SINCE = Param("since", "since", "datetime", "From this time (inclusive, ISO 8601; no offset: UTC)")
UNTIL = Param("until", "until", "datetime", "Before this time (exclusive, ISO 8601; no offset: UTC)")
CONNECTOR = Param("connector", "connector_id", "whole", "Connector id (0: the charger itself)")

RESERVATION_FILTERS = (
    CHARGER,
    Param("status", "status", "choice", "Status now (a held one past its expiry is Expired)", ReservationStatus.values),
    Param("id_tag", "id_tag", "text", "RFID id tag (exact)"),
    SINCE,
    UNTIL,
)
COMMAND_FILTERS = (
    CHARGER,
    Param("action", "action", "action", "An OCPP 1.6 action, e.g. UpdateFirmware (any case)"),
    Param("status", "status", "choice", "Outcome", tuple(CommandStatus.values)),
    Param("source", "source", "text", "Where it was sent from: api, admin, dashboard, load, ..."),
    SINCE,
    UNTIL,
)
CHARGING_PROFILE_FILTERS = (
    CHARGER,
    CONNECTOR,
    Param("purpose", "purpose", "choice", "Profile purpose", tuple(p.value for p in ChargingProfilePurposeType)),
    Param("in_force", "in_force", "flag", "true: accepted and not cleared since; false: cleared or refused"),
    SINCE,
    UNTIL,
)
STATUS_HISTORY_FILTERS = (
    CONNECTOR,
    Param("status", "status", "choice", "Connector status", tuple(s.value for s in ChargePointStatus)),
    SINCE,
    UNTIL,
)
SECURITY_EVENT_FILTERS = (
    CHARGER,
    Param("type", "event_type", "text", "Security event type, e.g. TamperDetectionActivated (exact)"),
    Param("critical", "critical", "flag", "true: only critical events (1.6 Security Whitepaper); false: the others"),
    SINCE,
    UNTIL,
)

# The records page's two look-ups: a transaction by id, a charger's status history.
INDEX_FILTERS = (Param("transaction", "transaction_id", "whole", "Transaction id"), CHARGER)


def _quoted(value: str) -> str:
    return f"“{value[:60]}{'…' if len(value) > 60 else ''}”"


def _read(param: Param, value: str) -> object:
    """`value` of `param` as its selector argument; ValueError says why not."""
    if param.kind == "text":
        return value
    if param.kind == "choice":
        by_case = {choice.lower(): choice for choice in param.choices}
        if value.lower() not in by_case:
            raise ValueError(f"unknown {param.name} {_quoted(value)}: expected one of {', '.join(param.choices)}")
        return by_case[value.lower()]
    if param.kind == "action":
        if value.lower() not in ACTIONS:
            raise ValueError(f"unknown action {_quoted(value)}: expected an OCPP 1.6 action such as UpdateFirmware")
        return ACTIONS[value.lower()]
    if param.kind == "datetime":
        try:
            return parse_datetime_utc(value)
        except DateTimeOutOfRange:
            raise ValueError(f"date-time out of range: {_quoted(value)}") from None
        except BadDateTime:
            raise ValueError(f"expected a date-time such as 2026-01-31T12:00 (UTC), got {_quoted(value)}") from None
    if param.kind == "whole":
        number = int(value) if value.isascii() and value.isdigit() else None
        if not int_in_range(number, 0, INT32_MAX):
            raise ValueError(f"expected a whole number from 0, got {_quoted(value)}")
        return number
    if value.lower() in _TRUE:  # flag
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"expected true or false (1 or 0), got {_quoted(value)}")


def record_filters(params: Mapping[str, str], spec: tuple[Param, ...]) -> dict:
    """`params` (request.GET or DRF's query_params) as the selector's keyword
    arguments; raises BadRecordFilters naming every bad one."""
    errors: dict[str, str] = {}
    filters: dict = {}
    for param in spec:
        value = (params.get(param.name) or "").strip()
        try:
            jsonwalk.check_storable(value)
        except jsonwalk.UnstorableJSON:
            errors[param.name] = "NUL characters and invalid Unicode are not allowed"
            continue
        if not value:
            continue
        try:
            filters[param.arg] = _read(param, value)
        except ValueError as bad:
            errors[param.name] = str(bad)
    if errors:
        raise BadRecordFilters(errors)
    return filters


# -- pages -----------------------------------------------------------------------------


def shown_command(command: Command) -> Command:
    """A command as a page or the API shows it: request and answer redacted."""
    command.shown_request = redact(command.action, command.request)
    command.shown_response = redact(command.action, command.response)
    return command


def _list_page(request, template: str, spec: tuple[Param, ...], rows, *, decorate=None, context=None):
    """A filtered, paginated record list; a bad filter is a 400 with the form."""
    try:
        filters, errors = record_filters(request.GET, spec), {}
    except BadRecordFilters as bad:
        filters, errors = None, bad.errors
    queryset = rows(**filters) if filters is not None else []
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    if decorate is not None:
        page.object_list = decorate(list(page.object_list))
    return render(
        request,
        template,
        {
            "page": page,
            "errors": errors,
            "query": query_without(request, "page"),
            "form": {param.name: request.GET.get(param.name, "") for param in spec},
            "params": {param.name: param for param in spec},
            **(context or {}),
        },
        status=400 if errors else 200,
    )


@operator_page
@require_GET
def records_index(request):
    """What is on record, and a way to open a transaction or a charger's
    status history by its id."""
    try:
        asked = record_filters(request.GET, INDEX_FILTERS)
    except BadRecordFilters as bad:
        asked, error = {}, "; ".join(f"{name}: {reason}" for name, reason in bad.errors.items())
    else:
        error = ""
    transaction_id, charger_id = asked.get("transaction_id"), asked.get("charger_id")
    if transaction_id is not None:
        return redirect("ocpp:transaction-view", transaction_id)
    if charger_id:
        if Charger.objects.filter(charger_id=charger_id).exists():
            return redirect("ocpp:status-history-view", charger_id)
        error = f"charger: there is no charger with the id {_quoted(charger_id)}"
    return render(
        request,
        "ocpp/records_index.html",
        {"error": error, "reporting_actions": REPORTING_ACTIONS},
        status=400 if error else 200,
    )


@operator_page
@require_GET
def reservations(request):
    return _list_page(request, "ocpp/records_reservations.html", RESERVATION_FILTERS, records.reservations_filtered)


@operator_page
@require_GET
def commands(request):
    return _list_page(
        request,
        "ocpp/records_commands.html",
        COMMAND_FILTERS,
        records.commands_filtered,
        decorate=lambda rows: [shown_command(c) for c in rows],
        context={"reporting_actions": REPORTING_ACTIONS},
    )


@operator_page
@require_GET
def command(request, pk: int):
    found = records.command_get(pk)
    if found is None:
        raise Http404(f"There is no command {pk}.")
    return render(
        request,
        "ocpp/records_command.html",
        {"command": shown_command(found), "events": decorate_events(found.linked_events)},
    )


@operator_page
@require_GET
def charging_profiles(request):
    return _list_page(
        request, "ocpp/records_charging_profiles.html", CHARGING_PROFILE_FILTERS, records.charging_profiles_filtered
    )


@operator_page
@require_GET
def security_events(request):
    return _list_page(
        request,
        "ocpp/records_security_events.html",
        SECURITY_EVENT_FILTERS,
        records.security_events_filtered,
        decorate=decorate_events,
    )


@operator_page
@require_GET
def status_history(request, cid: str):
    charger = charger_or_404(cid)
    return _list_page(
        request,
        "ocpp/records_status_history.html",
        STATUS_HISTORY_FILTERS,
        lambda **filters: records.status_history(charger, **filters),
        context={"charger": charger},
    )


@operator_page
@require_GET
def transaction(request, pk: int):
    tx = records.transaction_get(pk)
    if tx is None:
        raise Http404(f"There is no transaction {pk}.")
    readings_api = reverse("ocpp:api-meter-readings", args=[tx.charger.charger_id]) + f"?transaction={tx.pk}"
    return render(
        request,
        "ocpp/records_transaction.html",
        {"tx": tx, "summary": records.transaction_reading_summary(tx), "readings_api": readings_api},
    )
