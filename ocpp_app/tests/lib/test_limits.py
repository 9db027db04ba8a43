"""Integer limits of the database columns and the one range check."""

import pytest

from ocpp_app.lib.limits import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, int_in_range


def test_the_limits_are_those_of_signed_32_and_64_bit_columns():
    assert (INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX) == (-(2**31), 2**31 - 1, -(2**63), 2**63 - 1)


@pytest.mark.parametrize("value", [INT32_MIN, -1, 0, INT32_MAX])
def test_it_accepts_every_int32_by_default(value):
    assert int_in_range(value)


@pytest.mark.parametrize("value", [INT32_MIN - 1, INT32_MAX + 1, True, 1.0, "1", None])
def test_it_refuses_what_an_integer_column_cannot_hold(value):
    assert not int_in_range(value)


def test_both_bounds_are_inclusive():
    assert int_in_range(5, 5, 5) and not int_in_range(6, 5, 5) and not int_in_range(4, 5, 5)
