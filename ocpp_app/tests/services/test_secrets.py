"""The AuthorizationKey rule and its redaction, from services/secrets.py: the
one module every layer asks."""

import pytest
from django.contrib.auth.hashers import make_password

from ocpp_app.models import Charger
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.services.commands import BadCommand, command_precheck
from ocpp_app.services.secrets import (
    REDACTED,
    InvalidPassword,
    is_authorization_key,
    password_validate,
    redact,
    redact_details,
    secret_hash,
    secret_is_fast,
    secret_needs_rehash,
    secret_verify,
)

KEY = "0123456789abcdef"


@pytest.mark.parametrize("name", ["AuthorizationKey", "authorizationkey", "AUTHORIZATIONKEY", "authorizationKEY"])
def test_any_spelling_names_the_key(name):
    assert is_authorization_key(name)


@pytest.mark.parametrize("name", ["AuthorizationKeys", "Authorization Key", "", None, ["AuthorizationKey"], 1])
def test_nothing_else_names_it(name):
    assert not is_authorization_key(name)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("x" * 15, "this one has 15 characters"),
        ("x" * 41, "this one has 41 characters"),
        ("with a space 1234", "a space"),
        ("tab\there-is-long-enough", "a space, a control"),
        ("nönascii-password", "non-ASCII"),
        (None, "not text"),
    ],
)
def test_the_rule_says_why_a_password_breaks_it(password, reason):
    with pytest.raises(InvalidPassword) as refused:
        password_validate(password)
    assert "16-40 printable ASCII characters without spaces" in str(refused.value)
    assert reason in str(refused.value)


@pytest.mark.parametrize("password", ["p" * 16, "p" * 40, "!~" * 8])
def test_the_rule_accepts_printable_ascii_of_16_to_40(password):
    password_validate(password)


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["x" * 15, "with a space 1234"])
def test_a_new_key_for_a_charger_and_an_api_password_obey_the_same_rule(value):
    charger = Charger.objects.create(charger_id="SEC1")
    with pytest.raises(BadCommand) as refused:
        command_precheck(
            charger=charger, action="ChangeConfiguration", payload={"key": "AuthorizationKey", "value": value}
        )
    with pytest.raises(InvalidPassword) as invalid:
        charger_set_password(charger_id="SEC1", password=value)
    assert str(refused.value) == str(invalid.value)


@pytest.mark.django_db
def test_an_empty_new_key_is_refused():
    # An empty API password removes it; a charger cannot be left without a key.
    charger = Charger.objects.create(charger_id="SEC2")
    with pytest.raises(BadCommand):
        command_precheck(
            charger=charger, action="ChangeConfiguration", payload={"key": "AuthorizationKey", "value": ""}
        )


def test_it_redacts_a_new_key_in_a_change_configuration_request():
    request = {"key": "authorizationKey", "value": KEY}
    assert redact("ChangeConfiguration", request) == {"key": "authorizationKey", "value": REDACTED}
    assert request["value"] == KEY  # the payload to send is left alone


def test_it_redacts_a_key_a_charger_reports_in_a_get_configuration_answer():
    answer = {
        "configurationKey": [
            {"key": "AUTHORIZATIONKEY", "readonly": False, "value": KEY},
            {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
        ],
        "unknownKey": ["Foo"],
    }
    assert redact("GetConfiguration", answer) == {
        "configurationKey": [
            {"key": "AUTHORIZATIONKEY", "readonly": False, "value": REDACTED},
            {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
        ],
        "unknownKey": ["Foo"],
    }


def test_it_redacts_an_answer_carried_in_error_details():
    details = {"response": {"configurationKey": [{"key": "AuthorizationKey", "value": KEY, "bogus": 1}]}}
    assert KEY not in str(redact_details("GetConfiguration", details))


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
        ("ChangeConfiguration", {"status": "Accepted"}),
        ("GetConfiguration", {"key": ["AuthorizationKey"]}),
        ("DataTransfer", {"vendorId": "X", "data": KEY}),
        ("GetConfiguration", "not an object"),
        ("GetConfiguration", None),
    ],
)
def test_it_leaves_everything_else_as_it_is(action, payload):
    assert redact(action, payload) is payload


def test_a_hash_verifies_only_its_password():
    stored = secret_hash(KEY)
    assert KEY not in stored
    assert secret_verify(password=KEY, password_hash=stored)
    assert not secret_verify(password=KEY + "x", password_hash=stored)
    assert not secret_verify(password="", password_hash="")


def test_a_new_hash_is_the_fast_salted_form():
    first, second = secret_hash(KEY), secret_hash(KEY)
    assert first.startswith("hmac_sha256$") and secret_is_fast(first)
    assert first != second  # salted
    assert not secret_needs_rehash(first)


def test_a_legacy_django_hash_still_verifies_and_needs_a_rehash():
    legacy = make_password(KEY)
    assert secret_verify(password=KEY, password_hash=legacy)
    assert not secret_verify(password=KEY + "x", password_hash=legacy)
    assert secret_needs_rehash(legacy)


def test_a_damaged_fast_hash_never_matches():
    assert not secret_verify(password=KEY, password_hash="hmac_sha256$zz$00")
    assert not secret_verify(password=KEY, password_hash="hmac_sha256$00")
