"""The message log's query parameters, read by one rule for the page and the
REST API: an empty value is no filter, and a bad value is named with what was
expected, never silently ignored (the page answers 400 with the message, the
API a 400 JSON body mapping each parameter to its messages)."""

from collections.abc import Mapping
from datetime import datetime

from ocpp.v16.enums import Action

from ocpp_app.lib import jsonwalk
from ocpp_app.lib.limits import INT64_MAX, int_in_range
from ocpp_app.lib.timeparse import BadDateTime, DateTimeOutOfRange, parse_datetime_utc
from ocpp_app.models import Direction

SEARCH_MAX_CHARS = 200
API_LIMIT_MAX = 1000
# Every OCPP 1.6 action (the security extension's too), by its name in any case.
ACTIONS = {action.value.lower(): action.value for action in Action}


class BadLogFilters(ValueError):
    """Query parameters the log cannot be read with: parameter -> what is wrong."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors


def _quoted(value: str) -> str:
    return f"“{value[:60]}{'…' if len(value) > 60 else ''}”"


def message_log_filters(params: Mapping[str, str], *, with_limit: bool = False) -> dict:
    """`params` (request.GET or DRF's query_params) as the arguments of
    selectors.message_log_page; raises BadLogFilters naming every bad one.
    `with_limit` reads ?limit= too (the API's page size, 1-1000)."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    names = ("q", "action", "direction", "since", "until", "before", "after", *(("limit",) if with_limit else ()))
    for name in names:
        value = (params.get(name) or "").strip()
        try:
            jsonwalk.check_storable(value)
        except jsonwalk.UnstorableJSON:
            errors[name] = "NUL characters and invalid Unicode are not allowed"
            continue
        values[name] = value
    filters: dict = {}

    if values.get("q") and len(values["q"]) > SEARCH_MAX_CHARS:
        errors["q"] = f"at most {SEARCH_MAX_CHARS} characters"
    filters["text"] = values.get("q", "")

    action = values.get("action", "")
    if action and action.lower() not in ACTIONS:
        errors["action"] = f"unknown action {_quoted(action)}: expected an OCPP 1.6 action such as Heartbeat"
    filters["action"] = ACTIONS.get(action.lower(), "")

    direction = values.get("direction", "")
    if direction and direction not in Direction.values:
        errors["direction"] = f"unknown direction {_quoted(direction)}: expected {' or '.join(Direction.values)}"
    filters["direction"] = direction

    for name in ("since", "until"):
        filters[name] = _when(values.get(name, ""), name, errors)
    for name in ("before", "after"):
        filters[name] = _message_id(values.get(name, ""), name, errors)
    if filters["before"] is not None and filters["after"] is not None:
        errors["after"] = "give before or after, not both"

    if "page" in params:
        errors["page"] = "the log is paged with before= and after= (message ids), not page numbers"
    if with_limit:
        filters["limit"] = _limit(values.get("limit", ""), errors)
    if errors:
        raise BadLogFilters(errors)
    return filters


def _when(value: str, name: str, errors: dict[str, str]) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime_utc(value)  # no offset: UTC
    except DateTimeOutOfRange:
        errors[name] = f"date-time out of range: {_quoted(value)}"
    except BadDateTime:
        errors[name] = f"expected a date-time such as 2026-01-31T12:00 (UTC), got {_quoted(value)}"
    return None


def _message_id(value: str, name: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if not int_in_range(number, 0, INT64_MAX):
        errors[name] = f"expected a message id (a whole number from 0), got {_quoted(value)}"
        return None
    return number


def _limit(value: str, errors: dict[str, str]) -> int:
    if not value:
        return 100
    try:
        number = int(value)
    except ValueError:
        number = None
    if not int_in_range(number, 1, API_LIMIT_MAX):
        errors["limit"] = f"expected a whole number from 1 to {API_LIMIT_MAX}, got {_quoted(value)}"
        return 100
    return number
