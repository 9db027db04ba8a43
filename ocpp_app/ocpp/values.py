"""Conversions of wire values that the JSON schemas do not check."""

from datetime import UTC, datetime

from ocpp.exceptions import PropertyConstraintViolationError, TypeConstraintViolationError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def parse_timestamp(value: str | None, field: str) -> datetime | None:
    """ISO 8601 to an aware UTC datetime. The 1.6 schemas declare
    format: date-time, which the validator does not enforce."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:  # chargers that omit the offset mean UTC
            parsed = parsed.replace(tzinfo=UTC)
        # OverflowError: a valid date whose offset takes it past year 1 or 9999.
        return parsed.astimezone(UTC)
    except (ValueError, AttributeError, OverflowError):
        raise TypeConstraintViolationError(
            description=f"{field}: {value!r} is not an ISO 8601 date-time"[:255]
        ) from None


def checked_int(value: int | None, field: str, *, low: int = 0, high: int = INT32_MAX) -> int | None:
    """A schema 'integer' within what the database columns hold."""
    if value is None:
        return None
    if not low <= value <= high:
        raise PropertyConstraintViolationError(description=f"{field}: {value} is out of range [{low}, {high}]")
    return value


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
