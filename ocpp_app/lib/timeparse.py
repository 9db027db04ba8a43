"""ISO 8601 date-times, read by one rule in every layer: the OCPP wire, the
REST API filters, the HTML page filters and the simulator.

The rule:
- ISO 8601 as Python's `datetime.fromisoformat` reads it (extended or basic
  format, `T` or a space between date and time, a date alone is midnight),
  surrounding whitespace ignored;
- `Z` or a numeric offset is honoured;
- a time WITHOUT an offset is UTC, never the server's time zone: OCPP asks
  chargers for UTC, and the pages and the API show and store UTC;
- the result is always an aware datetime in UTC. A valid date whose offset
  takes it before year 1 or past year 9999 cannot be held in UTC (nor
  compared by the database) and is refused as out of range.

Pure Python on purpose: the simulator, which has no Django, uses it too.
Callers turn `BadDateTime` into their own error (a CALLERROR, a 400, an
ignored page filter).

Every layer also writes a date-time one way (`format_datetime_utc`): ISO
8601 in UTC with a `Z`, as OCPP asks; only the precision differs by use.
"""

from datetime import UTC, datetime


class BadDateTime(ValueError):
    """The text is not an ISO 8601 date-time."""


class DateTimeOutOfRange(BadDateTime):
    """A date-time that cannot be expressed in UTC (before year 1 or after 9999)."""


def parse_datetime_utc(value: str | None) -> datetime:
    """`value` as an aware UTC datetime; raises BadDateTime (or its subclass
    DateTimeOutOfRange) when it cannot be, None included."""
    if not isinstance(value, str):
        raise BadDateTime(f"{value!r} is not text")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:  # not ISO 8601, or impossible (month 13, 30 February)
        raise BadDateTime(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise DateTimeOutOfRange(f"{value!r} is out of range in UTC") from None


def format_datetime_utc(value: datetime, *, timespec: str = "auto") -> str:
    """An aware `value` as ISO 8601 in UTC with a `Z` (2026-05-01T14:00:00Z);
    `timespec` as `datetime.isoformat` takes it."""
    return value.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")
