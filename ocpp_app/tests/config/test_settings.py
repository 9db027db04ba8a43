"""Settings read from the environment: a malformed value is a start-up error."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import BASE_DIR, env_bool, env_choice, env_float, env_int, env_list

ROOT = BASE_DIR


def start_with(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with `env` as the environment."""
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_with_a_malformed_boolean():
    result = start_with({"DEBUG": "ture"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG='ture': use one of 1, true, yes, on, 0, false, no, off" in result.stderr


def test_it_refuses_to_start_with_a_malformed_number():
    result = start_with({"OCPP_CALL_TIMEOUT": "30s"})
    assert result.returncode != 0
    assert "ImproperlyConfigured: OCPP_CALL_TIMEOUT='30s': use a number, e.g. 30.0" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("Yes", True), (" on ", True), ("0", False), ("OFF", False)]
)
def test_env_bool_reads_the_accepted_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not expected) is expected


@pytest.mark.parametrize("raw", ["ture", "2", "enabled"])
def test_env_bool_names_the_variable_and_the_accepted_values(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match=r"X_FLAG=.*use one of 1, true, yes, on, 0, false, no, off"):
        env_bool("X_FLAG", False)


def test_env_helpers_take_the_default_when_unset_or_blank(monkeypatch):
    monkeypatch.delenv("X_UNSET", raising=False)
    monkeypatch.setenv("X_BLANK", "  ")
    for name in ("X_UNSET", "X_BLANK"):
        assert env_bool(name, True) is True
        assert env_int(name, 7) == 7
        assert env_float(name, 0.5) == 0.5
        assert env_choice(name, "accept", ("accept", "reject")) == "accept"


def test_env_int_reads_a_whole_number_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("X_INT", " 42 ")
    assert env_int("X_INT", 1) == 42
    monkeypatch.setenv("X_INT", "4.5")
    with pytest.raises(ImproperlyConfigured, match=r"X_INT='4.5': use a whole number, e.g. 1"):
        env_int("X_INT", 1)


@pytest.mark.parametrize("raw", ["fast", "nan", "inf"])
def test_env_float_refuses_what_is_not_a_finite_number(monkeypatch, raw):
    monkeypatch.setenv("X_FLOAT", raw)
    with pytest.raises(ImproperlyConfigured, match=r"X_FLOAT=.*use a number, e.g. 0.2"):
        env_float("X_FLOAT", 0.2)


def test_env_float_reads_a_number(monkeypatch):
    monkeypatch.setenv("X_FLOAT", "1.5")
    assert env_float("X_FLOAT", 0.2) == 1.5


def test_env_list_splits_on_commas_and_an_empty_value_is_an_empty_list(monkeypatch):
    monkeypatch.delenv("X_LIST", raising=False)
    assert env_list("X_LIST", "a,b") == ["a", "b"]
    monkeypatch.setenv("X_LIST", " x , ,y ")
    assert env_list("X_LIST", "a") == ["x", "y"]
    monkeypatch.setenv("X_LIST", "")
    assert env_list("X_LIST", "a") == []


def test_env_choice_ignores_case_and_names_the_choices(monkeypatch):
    monkeypatch.setenv("X_CHOICE", "Pending")
    assert env_choice("X_CHOICE", "accept", ("accept", "pending", "reject")) == "pending"
    monkeypatch.setenv("X_CHOICE", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"X_CHOICE='maybe': use one of accept, pending, reject"):
        env_choice("X_CHOICE", "accept", ("accept", "pending", "reject"))


def test_it_refuses_to_start_with_no_handshake_slot():
    result = start_with({"OCPP_HANDSHAKE_CONCURRENCY": "0"})
    assert result.returncode != 0
    assert "OCPP_HANDSHAKE_CONCURRENCY=0: use a whole number of 1 or more" in result.stderr
