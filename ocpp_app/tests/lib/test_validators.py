"""The charger-id and id-tag rules shared by the handshake, the admin and the API."""

import pytest

from ocpp_app.lib.validators import charger_id_problem, id_tag_problem


@pytest.mark.parametrize(
    ("charger_id", "reason"),
    [
        ("", "empty charger id"),
        ("x" * 49, "charger id longer than 48 characters"),
        ("CP/1", "charger id contains a slash"),
        ("CP\\1", "charger id contains a slash"),
        ("a..b", "charger id contains '..'"),
        (".", "charger id contains '..'"),
        ("CP\x001", "charger id contains control characters"),
        ("CP\x1f1", "charger id contains control characters"),
        ("CP\x7f1", "charger id contains control characters"),
        ("CP\x851", "charger id contains control characters"),
        ("CP\x9f1", "charger id contains control characters"),
        ("CP\ud8001", "charger id is not valid Unicode"),
    ],
)
def test_it_says_why_a_charger_id_is_refused(charger_id, reason):
    assert charger_id_problem(charger_id) == reason


@pytest.mark.parametrize(
    "charger_id", ["CP1", "x" * 48, "CP #1", "a:b:c", "Zürich-Ladesäule", "充电桩 7", "a.b", "\xa0"]
)
def test_it_accepts_a_charger_id_a_charger_can_use(charger_id):
    assert charger_id_problem(charger_id) is None


@pytest.mark.parametrize(
    ("id_tag", "reason"),
    [
        ("", "empty id tag"),
        ("X" * 21, "id tag longer than 20 characters"),
        ("A\x00B", "id tag contains characters that are not printable"),
        ("A\tB", "id tag contains characters that are not printable"),
        ("A\x85B", "id tag contains characters that are not printable"),
        ("A\u200bB", "id tag contains characters that are not printable"),
        ("A\ud800B", "id tag contains characters that are not printable"),
        ("A/B", "id tag contains a slash"),
    ],
)
def test_it_says_why_an_id_tag_is_refused(id_tag, reason):
    assert id_tag_problem(id_tag) == reason


@pytest.mark.parametrize("id_tag", ["CARD1", "X" * 20, "04 A2 B3 C4", "Ana's card", "ÜBER-1", "a\\b"])
def test_it_accepts_printable_id_tags_of_up_to_20_characters(id_tag):
    assert id_tag_problem(id_tag) is None
