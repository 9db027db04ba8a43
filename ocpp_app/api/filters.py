"""Query-parameter filters of the list endpoints, and the input hygiene every
endpoint needs: PostgreSQL refuses NUL characters and lone surrogates in text
and JSON, so they are a 400 here, never a 500 in the database."""

from datetime import datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

from ocpp_app.lib import jsonwalk
from ocpp_app.lib.limits import int_in_range
from ocpp_app.lib.timeparse import BadDateTime, DateTimeOutOfRange, parse_datetime_utc


def clean_text(value: str, name: str) -> str:
    """`value` if the database can store it, else a 400 naming the parameter."""
    try:
        jsonwalk.check_storable(value)
    except (jsonwalk.NulCharacter, jsonwalk.LoneSurrogate) as problem:
        raise _text_error(problem, name) from None
    return value


def check_json(value) -> None:
    """A request body every supported database can store, else a 400."""
    try:
        jsonwalk.check_storable(value)
    except jsonwalk.TooDeep:
        raise ParseError("JSON nested too deeply") from None
    except jsonwalk.NotFinite:  # 1e400 parses as infinity
        raise ParseError("number out of range") from None
    except (jsonwalk.NulCharacter, jsonwalk.LoneSurrogate) as problem:
        raise _text_error(problem, "body") from None


def _text_error(problem: jsonwalk.UnstorableJSON, name: str) -> ValidationError:
    message = "NUL characters are not allowed" if isinstance(problem, jsonwalk.NulCharacter) else "not valid Unicode"
    return ValidationError({name: [message]})


class SafeJSONParser(JSONParser):
    """JSON that every supported database can store."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            check_json(data)
        except ValidationError as exc:
            raise ParseError(f"JSON parse error - {exc.detail}") from None
        return data


def text_param(request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    return clean_text(value, name)


def datetime_param(request, name: str) -> datetime | None:
    value = text_param(request, name)
    if value is None:
        return None
    try:
        return parse_datetime_utc(value)  # a time without an offset is UTC
    except DateTimeOutOfRange:
        raise ValidationError({name: ["date-time out of range"]}) from None
    except BadDateTime:
        raise ValidationError({name: ["expected an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"]}) from None


def int_param(request, name: str) -> int | None:
    value = text_param(request, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({name: ["expected an integer"]}) from None
    if not int_in_range(number):  # an integer column: a 400, never a database error
        raise ValidationError({name: ["out of range"]})
    return number


SINCE = OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this time (inclusive, ISO 8601)")
UNTIL = OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this time (exclusive, ISO 8601)")
TRANSACTION_PARAMETERS = [
    OpenApiParameter("charger", OpenApiTypes.STR, description="Charger id"),
    OpenApiParameter("id_tag", OpenApiTypes.STR, description="RFID id tag"),
    OpenApiParameter(
        "active", OpenApiTypes.BOOL, description="true: only sessions in progress; false: only stopped ones"
    ),
    SINCE,
    UNTIL,
]
_ACTIVE = {"1": "active", "true": "active", "yes": "active", "0": "stopped", "false": "stopped", "no": "stopped"}
METER_READING_PARAMETERS = [
    OpenApiParameter("transaction", OpenApiTypes.INT, description="Transaction id"),
    OpenApiParameter("measurand", OpenApiTypes.STR, description="e.g. Energy.Active.Import.Register"),
    SINCE,
    UNTIL,
]


def transaction_filters(request) -> dict:
    """?charger= ?id_tag= ?active= ?since= ?until= as the arguments of
    selectors.transactions_filtered (a bad value is a 400)."""
    active = text_param(request, "active")
    state = ""
    if active is not None:
        state = _ACTIVE.get(active.strip().lower(), "")
        if not state:
            raise ValidationError({"active": ["expected true or false (1 or 0)"]})
    return {
        "charger_id": text_param(request, "charger"),
        "id_tag": text_param(request, "id_tag"),
        "since": datetime_param(request, "since"),
        "until": datetime_param(request, "until"),
        "state": state,
    }


def meter_reading_filters(request) -> dict:
    """?transaction= ?measurand= ?since= ?until= (on the reading's timestamp)
    as the arguments of selectors.meter_readings_filtered (a bad value is a 400)."""
    return {
        "transaction_id": int_param(request, "transaction"),
        "measurand": text_param(request, "measurand"),
        "since": datetime_param(request, "since"),
        "until": datetime_param(request, "until"),
    }
