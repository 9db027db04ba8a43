"""Charger identity from the handshake: query keys, path shapes, bad ids."""

import pytest

from ocpp_app.ocpp.identity import BadChargerId, parse_identity, validate_charger_id


def identity(path: str = "/", query: bytes | str = b"", raw_path: bytes | None = None):
    return parse_identity(path=path, raw_path=raw_path, query_string=query)


def charger_id(path: str = "/", query: bytes | str = b"", raw_path: bytes | None = None) -> str:
    return identity(path, query, raw_path).charger_id


@pytest.mark.parametrize(
    "key", ["cid", "chargePointId", "charge_point_id", "chargeBoxId", "charge_box_id", "chargerId"]
)
def test_it_reads_the_charger_id_from_every_query_key(key):
    assert charger_id("/", f"{key}=CP7".encode()) == "CP7"


@pytest.mark.parametrize("key", ["CID", "ChargePointID", "CHARGE_BOX_ID", "chargerid"])
def test_it_matches_query_key_names_case_insensitively(key):
    assert charger_id("/", f"{key}=CP7".encode()) == "CP7"


def test_it_ignores_an_unrelated_query_parameter():
    assert charger_id("/ocpp/CP1", b"foo=CP7") == "CP1"


def test_it_ignores_a_whitespace_only_query_value():
    assert charger_id("/ocpp/CP1", b"cid=%20%20") == "CP1"


def test_it_falls_through_a_whitespace_only_query_value_to_another_key():
    assert charger_id("/", b"cid=+&chargerId=CP9") == "CP9"


def test_it_strips_whitespace_around_a_query_value():
    assert charger_id("/", b"cid=%20CP7%20") == "CP7"


def test_it_prefers_the_query_over_the_path():
    result = identity("/ocpp/CP1", b"chargeBoxId=CP2")
    assert (result.charger_id, result.source) == ("CP2", "query")


def test_it_percent_decodes_a_query_value():
    assert charger_id("/", b"cid=CP%C3%A9") == "CPé"


def test_it_accepts_a_query_string_given_as_text():
    assert charger_id("/", "cid=CP7") == "CP7"


def test_it_refuses_a_query_value_that_is_not_utf8():
    with pytest.raises(BadChargerId):
        identity("/", b"cid=CP%FF")


def test_it_refuses_raw_query_bytes_that_are_not_utf8():
    with pytest.raises(BadChargerId):
        identity("/", b"cid=CP\xff")


def test_it_decodes_raw_utf8_query_bytes_as_utf8():
    assert charger_id("/", "cid=CPé".encode()) == "CPé"


def test_it_refuses_a_bad_id_given_in_the_query():
    with pytest.raises(BadChargerId):
        identity("/ocpp/CP1", b"cid=..")


@pytest.mark.parametrize("path", ["/ocpp16/CP001", "/ocpp/CP001", "/CP001", "/CP001/", "/foo/bar/CP001/", "//CP001//"])
def test_it_takes_the_last_non_empty_path_segment(path):
    result = identity(path)
    assert (result.charger_id, result.source) == ("CP001", "path")


def test_it_keeps_the_full_path_for_last_path():
    assert identity("/foo/bar/CP1/", b"x=1").path == "/foo/bar/CP1/"


def test_it_decodes_each_raw_path_segment_on_its_own():
    with pytest.raises(BadChargerId):
        identity("/ocpp/CP/1", raw_path=b"/ocpp/CP%2F1")


def test_it_percent_decodes_a_raw_path_segment():
    assert charger_id("/ocpp/CP 1", raw_path=b"/ocpp/CP%201") == "CP 1"


def test_it_prefers_the_raw_path_over_the_decoded_path():
    assert charger_id("/ocpp/decoded", raw_path=b"/ocpp/CP5") == "CP5"


def test_it_ignores_a_query_string_inside_the_raw_path():
    assert charger_id("/ocpp/CP5", raw_path=b"/ocpp/CP5?x=1") == "CP5"


def test_it_refuses_a_raw_path_segment_that_is_not_utf8():
    with pytest.raises(BadChargerId):
        identity("/ocpp/CP", raw_path=b"/ocpp/CP%FF")


def test_it_refuses_raw_path_bytes_that_are_not_utf8():
    with pytest.raises(BadChargerId):
        identity("/ocpp/CP", raw_path=b"/ocpp/CP\xff")


def test_it_decodes_raw_utf8_path_bytes_as_utf8():
    assert charger_id("/ocpp/CPé", raw_path="/ocpp/CPé".encode()) == "CPé"


@pytest.mark.parametrize("path", ["/", "", "///"])
def test_it_refuses_a_path_with_no_id(path):
    with pytest.raises(BadChargerId):
        identity(path)


def test_it_refuses_an_empty_query_value_with_no_path_id():
    with pytest.raises(BadChargerId):
        identity("/", b"cid=")


@pytest.mark.parametrize(
    "bad",
    ["CP/1", "CP\\1", "CP\x001", "CP\n1", "CP\t1", "CP\x7f1", "CP\x851", "..", "a..b", ".", "x" * 49, ""],
    ids=[
        "slash",
        "backslash",
        "nul",
        "newline",
        "tab",
        "del",
        "c1-control",
        "dotdot",
        "inner-dotdot",
        "dot",
        "49-chars",
        "empty",
    ],
)
def test_it_refuses_a_bad_id(bad):
    with pytest.raises(BadChargerId):
        validate_charger_id(bad)


def test_it_refuses_a_lone_surrogate_in_an_id():
    with pytest.raises(BadChargerId):
        validate_charger_id("CP\ud8001")


def test_it_accepts_an_id_of_exactly_48_characters():
    assert validate_charger_id("x" * 48) == "x" * 48


@pytest.mark.parametrize("raw", [b"/ocpp/..", b"/ocpp/%2E%2E", b"/ocpp/CP%5C1", b"/ocpp/CP%00", b"/ocpp/" + b"x" * 49])
def test_it_refuses_a_bad_id_in_the_raw_path(raw):
    with pytest.raises(BadChargerId):
        identity("/ocpp/x", raw_path=raw)
