"""Conversions of wire values that the JSON schemas do not check, each
refused with the CALLERROR code a charger expects."""

from datetime import UTC, datetime

from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

from ocpp_app.lib.limits import INT32_MAX, int_in_range
from ocpp_app.lib.timeparse import BadDateTime, format_datetime_utc, parse_datetime_utc


def parse_timestamp(value: str | None, field: str) -> datetime | None:
    """ISO 8601 to an aware UTC datetime (no offset means UTC). The 1.6
    schemas declare format: date-time, which the validator does not enforce."""
    if value is None:
        return None
    try:
        return parse_datetime_utc(value)
    except BadDateTime:
        raise TypeConstraintViolationError(
            description=f"{field}: {value!r} is not an ISO 8601 date-time"[:255]
        ) from None


def checked_int(value: int | None, field: str, *, low: int = 0, high: int = INT32_MAX) -> int | None:
    """A schema 'integer' within what the database columns hold."""
    if value is None:
        return None
    if not int_in_range(value, low, high):
        raise PropertyConstraintViolationError(description=f"{field}: {value} is out of range [{low}, {high}]")
    return value


def utc_now_iso() -> str:
    return format_datetime_utc(datetime.now(UTC), timespec="milliseconds")


def iso_z(value: datetime | None) -> str | None:
    return None if value is None else format_datetime_utc(value, timespec="seconds")
