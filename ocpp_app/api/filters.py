"""Query-parameter filters of the list endpoints, and the input hygiene every
endpoint needs: PostgreSQL refuses NUL characters and lone surrogates in text
and JSON, so they are a 400 here, never a 500 in the database."""

import math
from datetime import UTC, datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def clean_text(value: str, name: str) -> str:
    if "\x00" in value:
        raise ValidationError({name: ["NUL characters are not allowed"]})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError({name: ["not valid Unicode"]}) from None
    return value


def check_json(value, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ParseError("JSON nested too deeply")
    if isinstance(value, str):
        clean_text(value, "body")
    elif isinstance(value, float) and not math.isfinite(value):
        # 1e400 parses as infinity, which no JSON column (jsonb) can hold.
        raise ParseError("number out of range")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json(key, depth + 1)
            check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)


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
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["expected an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z"]})
    try:
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
        # The database compares in UTC: 0001-01-01T00:00+01:00 is not a time it can hold.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationError({name: ["date-time out of range"]}) from None


def int_param(request, name: str) -> int | None:
    value = text_param(request, name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({name: ["expected an integer"]}) from None
    if not -(2**31) <= number < 2**31:
        raise ValidationError({name: ["out of range"]})
    return number


SINCE = OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this time (inclusive, ISO 8601)")
UNTIL = OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this time (exclusive, ISO 8601)")
TRANSACTION_PARAMETERS = [
    OpenApiParameter("charger", OpenApiTypes.STR, description="Charger id"),
    OpenApiParameter("id_tag", OpenApiTypes.STR, description="RFID id tag"),
    SINCE,
    UNTIL,
]
METER_READING_PARAMETERS = [
    OpenApiParameter("transaction", OpenApiTypes.INT, description="Transaction id"),
    OpenApiParameter("measurand", OpenApiTypes.STR, description="e.g. Energy.Active.Import.Register"),
    SINCE,
    UNTIL,
]


def filter_transactions(queryset: QuerySet, request) -> QuerySet:
    """?charger= ?id_tag= ?since= ?until= (on the start time)."""
    if (charger := text_param(request, "charger")) is not None:
        queryset = queryset.filter(charger__charger_id=charger)
    if (id_tag := text_param(request, "id_tag")) is not None:
        queryset = queryset.filter(id_tag=id_tag)
    if (since := datetime_param(request, "since")) is not None:
        queryset = queryset.filter(start_time__gte=since)
    if (until := datetime_param(request, "until")) is not None:
        queryset = queryset.filter(start_time__lt=until)
    return queryset


def filter_meter_readings(queryset: QuerySet, request) -> QuerySet:
    """?transaction= ?measurand= ?since= ?until= (on the reading's timestamp)."""
    if (transaction_id := int_param(request, "transaction")) is not None:
        queryset = queryset.filter(transaction_id=transaction_id)
    if (measurand := text_param(request, "measurand")) is not None:
        queryset = queryset.filter(measurand=measurand)
    if (since := datetime_param(request, "since")) is not None:
        queryset = queryset.filter(timestamp__gte=since)
    if (until := datetime_param(request, "until")) is not None:
        queryset = queryset.filter(timestamp__lt=until)
    return queryset
