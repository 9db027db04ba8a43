"""The one date-time rule shared by the wire, the API, the pages and the simulator."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from ocpp_app.lib.timeparse import BadDateTime, DateTimeOutOfRange, format_datetime_utc, parse_datetime_utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T14:00:00+02:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31T12:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31 12:00:00", datetime(2026, 1, 31, 12, tzinfo=UTC)),
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        ("  2026-01-31T12:00:00.250Z\n", datetime(2026, 1, 31, 12, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_it_reads_iso_8601_as_aware_utc_with_naive_times_as_utc(text, expected):
    parsed = parse_datetime_utc(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["", "   ", "yesterday", "2026-13-01T00:00:00Z", "2026-02-30", "13/13/13", None, 17])
def test_it_refuses_what_is_not_a_date_time(text):
    with pytest.raises(BadDateTime) as info:
        parse_datetime_utc(text)
    assert not isinstance(info.value, DateTimeOutOfRange)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_it_refuses_a_valid_date_that_utc_cannot_hold_as_out_of_range(text):
    with pytest.raises(DateTimeOutOfRange):
        parse_datetime_utc(text)


def test_it_imports_no_django_so_the_simulator_can_use_it():
    code = (
        "import sys, ocpp_app.lib.timeparse, simulator.state; print(any(m.startswith('django') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_it_writes_every_time_in_utc_with_a_z():
    moment = datetime.fromisoformat("2026-05-01T16:00:00.123456+02:00")
    assert format_datetime_utc(moment) == "2026-05-01T14:00:00.123456Z"
    assert format_datetime_utc(moment, timespec="milliseconds") == "2026-05-01T14:00:00.123Z"
    assert format_datetime_utc(moment, timespec="seconds") == "2026-05-01T14:00:00Z"
    assert parse_datetime_utc(format_datetime_utc(moment)) == moment
