"""Secrets at rest: Fernet with a key outside the database, legacy clear
values still read and encrypted on demand, a clear error for a wrong key."""

import stat
import subprocess

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from ocpp_app.models import Simulator
from ocpp_app.services import simulators
from ocpp_app.services.secrets import SecretUnreadable, secret_decrypt, secret_encrypt

KEY = "sim-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_SECRETS_KEY = ""
    return settings.DATA_DIR


def test_a_secret_is_stored_encrypted_and_read_back():
    token = secret_encrypt(KEY)
    assert token.startswith("fernet:") and KEY not in token
    assert secret_decrypt(token) == KEY
    assert secret_encrypt(token) == token  # never encrypted twice
    assert secret_encrypt("") == ""


def test_the_key_is_made_once_in_the_data_dir_with_mode_0600(data_dir):
    token = secret_encrypt(KEY)
    key_file = data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    Fernet(key_file.read_bytes())  # a real Fernet key
    assert secret_decrypt(token) == KEY
    assert key_file.read_bytes() not in token.encode()


def test_a_key_in_the_environment_is_used_and_no_file_is_made(settings, data_dir):
    settings.OCPP_SECRETS_KEY = Fernet.generate_key().decode()
    token = secret_encrypt(KEY)
    assert Fernet(settings.OCPP_SECRETS_KEY).decrypt(token.removeprefix("fernet:").encode()).decode() == KEY
    assert not (data_dir / "secret.key").exists()


def test_a_malformed_key_is_a_clear_configuration_error(settings):
    settings.OCPP_SECRETS_KEY = "not-a-key"
    with pytest.raises(ImproperlyConfigured, match="OCPP_SECRETS_KEY is not a Fernet key"):
        secret_encrypt(KEY)


def test_a_value_encrypted_with_another_key_is_refused_clearly(settings):
    token = secret_encrypt(KEY)
    settings.OCPP_SECRETS_KEY = Fernet.generate_key().decode()
    with pytest.raises(SecretUnreadable, match="enter the secret again"):
        secret_decrypt(token)


def test_a_legacy_clear_value_is_read_as_it_is():
    assert secret_decrypt(KEY) == KEY


@pytest.mark.django_db
def test_clear_secrets_already_stored_are_encrypted_by_the_management_command(capsys):
    clear = Simulator.objects.create(name="old", cp_path="ocpp/OLD", password=KEY, client_key="-----BEGIN KEY-----")
    done = Simulator.objects.create(name="new", cp_path="ocpp/NEW", password=secret_encrypt(KEY))
    untouched = Simulator.objects.get(pk=done.pk).password
    call_command("encrypt_secrets")
    assert "1 simulator(s)" in capsys.readouterr().out
    clear.refresh_from_db()
    assert clear.password.startswith("fernet:") and KEY not in clear.password
    assert clear.client_key.startswith("fernet:")
    assert simulators.simulator_secret(simulator=clear, field="password") == KEY
    assert simulators.simulator_secret(simulator=clear, field="client_key") == "-----BEGIN KEY-----"
    assert Simulator.objects.get(pk=done.pk).password == untouched
    assert simulators.simulator_secrets_encrypt() == 0  # nothing left in clear


class RecordingPopen:
    """Stands in for the simulator process: records what it was started with."""

    started: list[dict] = []
    pid = 999_999

    def __init__(self, command, **kwargs) -> None:
        RecordingPopen.started.append({"command": command, "env": kwargs["env"]})

    def poll(self):
        return 0


@pytest.mark.django_db
def test_the_simulator_gets_its_key_decrypted_only_in_its_environment(monkeypatch, settings, tmp_path):
    monkeypatch.setenv("SIMULATOR_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    RecordingPopen.started.clear()
    sim = Simulator.objects.create(name="s", cp_path="ocpp/S", password=secret_encrypt(KEY))
    assert simulators.simulator_start(simulator=sim)
    started = RecordingPopen.started[0]
    assert started["env"]["OCPP_SIM_PASSWORD"] == KEY
    assert not [part for part in started["command"] if KEY in part]


@pytest.mark.django_db
def test_a_simulator_whose_key_cannot_be_decrypted_is_not_started_and_says_why(monkeypatch, settings, tmp_path):
    monkeypatch.setenv("SIMULATOR_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    sim = Simulator.objects.create(name="s", cp_path="ocpp/S", password=secret_encrypt(KEY))
    settings.OCPP_SECRETS_KEY = Fernet.generate_key().decode()
    assert not simulators.simulator_start(simulator=sim)
    sim.refresh_from_db()
    assert not sim.running and "enter the secret again" in sim.last_error
