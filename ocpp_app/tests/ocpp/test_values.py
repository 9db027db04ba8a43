"""Wire values the JSON schemas do not check: timestamps and integer ranges."""

from datetime import UTC, datetime

import pytest
from ocpp.exceptions import OCPPError

from ocpp_app.ocpp.values import INT32_MAX, checked_int, iso_z, parse_timestamp


def test_it_parses_a_utc_timestamp():
    assert parse_timestamp("2024-05-01T12:00:00Z", "t") == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_it_converts_an_offset_to_utc():
    assert parse_timestamp("2024-05-01T14:00:00+02:00", "t") == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_it_reads_a_timestamp_without_offset_as_utc():
    assert parse_timestamp("2024-05-01T12:00:00", "t") == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_it_keeps_milliseconds():
    assert parse_timestamp("2024-05-01T12:00:00.250Z", "t").microsecond == 250_000


def test_it_passes_a_missing_timestamp_through():
    assert parse_timestamp(None, "t") is None


@pytest.mark.parametrize(
    "value", ["yesterday", "", "2024-13-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_it_refuses_an_unusable_timestamp_as_type_constraint_violation(value):
    with pytest.raises(OCPPError) as info:
        parse_timestamp(value, "timestamp")
    assert info.value.code == "TypeConstraintViolation"


def test_it_names_the_field_of_a_bad_timestamp():
    with pytest.raises(OCPPError) as info:
        parse_timestamp("nope", "meterValue/timestamp")
    assert info.value.description.startswith("meterValue/timestamp")


@pytest.mark.parametrize("value", [0, 1, INT32_MAX])
def test_it_accepts_an_integer_in_range(value):
    assert checked_int(value, "connectorId") == value


@pytest.mark.parametrize("value", [-1, INT32_MAX + 1])
def test_it_refuses_an_integer_out_of_range_as_property_constraint_violation(value):
    with pytest.raises(OCPPError) as info:
        checked_int(value, "connectorId")
    assert info.value.code == "PropertyConstraintViolation"


def test_it_passes_a_missing_integer_through():
    assert checked_int(None, "reservationId") is None


def test_it_renders_utc_with_z():
    assert iso_z(datetime(2024, 5, 1, 14, tzinfo=UTC)) == "2024-05-01T14:00:00Z"
