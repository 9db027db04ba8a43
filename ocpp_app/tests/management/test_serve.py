"""`manage.py serve` start-up: what it does to the database before uvicorn
serves (a stand-in serves here; the end-to-end tests run the real one), and
the configurations it refuses."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ocpp_app.management.commands import serve
from ocpp_app.models import Simulator
from ocpp_app.services import simulators
from ocpp_app.services.secrets import secret_encrypt

pytestmark = pytest.mark.django_db
KEY = "sim-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_SECRETS_KEY = ""


@pytest.fixture
def seen(monkeypatch) -> dict:
    """What the simulators' resume and uvicorn found stored when they were called."""
    found: dict = {}

    def stored() -> list[tuple[str, str]]:
        return list(Simulator.objects.order_by("name").values_list("password", "client_key"))

    def resume() -> int:
        found["resume"] = stored()
        return 0

    def run(options, **kwargs):
        found["run"] = (options["port"], stored())

    monkeypatch.setattr(serve, "simulators_resume", resume)
    monkeypatch.setattr(serve, "serve_node", run)
    return found


def test_secrets_stored_in_clear_are_encrypted_before_anything_reads_them(seen, capsys):
    clear = Simulator.objects.create(name="a-old", cp_path="ocpp/OLD", password=KEY, client_key="-----BEGIN KEY-----")
    done = Simulator.objects.create(name="b-new", cp_path="ocpp/NEW", password=secret_encrypt(KEY))
    already = Simulator.objects.get(pk=done.pk).password
    call_command("serve", "--port", "0")
    assert "encrypted the secrets of 1 simulator(s) stored in clear" in capsys.readouterr().out
    for password, client_key in seen["resume"]:
        assert password.startswith("fernet:") and KEY not in password
        assert client_key in ("", None) or client_key.startswith("fernet:")
    assert seen["run"] == (0, seen["resume"])
    clear.refresh_from_db()
    assert simulators.simulator_secret(simulator=clear, field="password") == KEY
    assert simulators.simulator_secret(simulator=clear, field="client_key") == "-----BEGIN KEY-----"
    assert Simulator.objects.get(pk=done.pk).password == already  # never encrypted twice


def test_a_start_with_nothing_in_clear_says_nothing_about_secrets(seen, capsys):
    Simulator.objects.create(name="new", cp_path="ocpp/NEW", password=secret_encrypt(KEY))
    call_command("serve", "--port", "0")
    assert "encrypted" not in capsys.readouterr().out
    assert "run" in seen


def test_several_workers_on_sqlite_or_the_in_memory_layer_are_refused(seen, settings):
    if connection.vendor != "sqlite" or "redis" in settings.CHANNEL_LAYERS["default"]["BACKEND"].lower():
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "ocpp_app.runtime.layers.InMemoryChannelLayer"}}
    with pytest.raises(CommandError) as refused:
        call_command("serve", "--port", "0", "--workers", "2")
    message = str(refused.value)
    assert "REDIS_URL" in message
    if connection.vendor == "sqlite":
        assert "DATABASE_URL" in message
    assert "run" not in seen


@pytest.mark.parametrize("workers", ["0", "65"])
def test_a_worker_count_out_of_range_is_refused(seen, workers):
    with pytest.raises(CommandError, match="from 1 to 64"):
        call_command("serve", "--port", "0", "--workers", workers)
