"""The walk that finds JSON a database column cannot hold."""

import pytest

from ocpp_app.lib.jsonwalk import (
    MAX_JSON_DEPTH,
    LoneSurrogate,
    NotFinite,
    NulCharacter,
    TooDeep,
    check_storable,
)


def nested(depth: int):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_it_accepts_storable_json():
    check_storable({"a": [1, 2.5, "ü", None, True, {"b": "c"}]})


def test_it_accepts_nesting_down_to_max_depth():
    check_storable(nested(MAX_JSON_DEPTH + 1))  # the innermost list sits at depth MAX_JSON_DEPTH


def test_it_refuses_nesting_one_level_deeper():
    with pytest.raises(TooDeep):
        check_storable(nested(MAX_JSON_DEPTH + 2))


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": "x\x00y"}, NulCharacter),
        ({"\x00": 1}, NulCharacter),
        (["\ud800"], LoneSurrogate),
        ({"\udc00": "x"}, LoneSurrogate),
        ({"a": float("inf")}, NotFinite),
        ([float("nan")], NotFinite),
    ],
)
def test_it_names_the_problem(value, problem):
    with pytest.raises(problem):
        check_storable(value)


def test_it_reports_the_first_problem_in_document_order():
    with pytest.raises(NulCharacter):
        check_storable({"a": "\x00", "b": "\ud800"})
