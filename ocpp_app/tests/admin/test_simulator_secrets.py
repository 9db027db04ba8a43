"""The simulator's secrets in the admin: write-only (never in a page), stored
encrypted, kept when left blank, removed only on request."""

import pytest
from django.urls import reverse

from ocpp_app.models import Simulator
from ocpp_app.services.secrets import secret_decrypt

KEY = "sim-key-0123456789abcdef"
PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path, monkeypatch):
    settings.DATA_DIR = tmp_path / "data"
    settings.OCPP_SECRETS_KEY = ""
    monkeypatch.setenv("SIMULATOR_RUN_DIR", str(tmp_path / "run"))


def form(**fields) -> dict:
    return {
        "name": "Bay 9",
        "scheme": "wss",
        "host": "127.0.0.1",
        "ws_port": 8443,
        "cp_path": "ocpp/BAY9",
        "password": "",
        "ca_bundle": "",
        "client_cert": "",
        "client_key": "",
        "connectors": 1,
        "rfid": "TAG9",
        "interval": 5,
        "kwh_max": 10,
        "power_kw": 22,
        "pause": 10,
        "phases": 3,
        "ev_max_current": 32,
        "rate_units": "Current,Power",
        "smart_charging": "on",
        **fields,
    }


def add(client, **fields):
    return client.post(reverse("admin:ocpp_app_simulator_add"), form(**fields))


def test_the_key_is_stored_encrypted_and_never_rendered(superuser_client):
    assert add(superuser_client, password=KEY, client_key=PRIVATE_KEY).status_code == 302
    sim = Simulator.objects.get(name="Bay 9")
    assert KEY not in sim.password and sim.password.startswith("fernet:")
    assert "PRIVATE KEY" not in sim.client_key and sim.client_key.startswith("fernet:")
    assert secret_decrypt(sim.password) == KEY
    assert secret_decrypt(sim.client_key) == PRIVATE_KEY
    for url in (
        reverse("admin:ocpp_app_simulator_change", args=[sim.pk]),
        reverse("admin:ocpp_app_simulator_changelist"),
        reverse("admin:ocpp_app_simulator_history", args=[sim.pk]),
    ):
        page = superuser_client.get(url).content.decode()
        assert KEY not in page and "MIGHAgEAMBMG" not in page
        assert sim.password not in page  # not even the encrypted form


def test_the_key_field_is_a_password_input_without_a_value(superuser_client):
    add(superuser_client, password=KEY)
    sim = Simulator.objects.get(name="Bay 9")
    page = superuser_client.get(reverse("admin:ocpp_app_simulator_change", args=[sim.pk])).content.decode()
    field = page[page.index('name="password"') - 40 :].split(">", 1)[0]
    assert 'type="password"' in field and "value=" not in field


def test_a_blank_key_on_edit_keeps_the_stored_one_and_the_box_removes_it(superuser_client):
    add(superuser_client, password=KEY, client_key=PRIVATE_KEY)
    sim = Simulator.objects.get(name="Bay 9")
    change = reverse("admin:ocpp_app_simulator_change", args=[sim.pk])
    assert superuser_client.post(change, form(interval=7)).status_code == 302
    kept = Simulator.objects.get(pk=sim.pk)
    assert kept.interval == 7
    assert secret_decrypt(kept.password) == KEY and secret_decrypt(kept.client_key) == PRIVATE_KEY
    assert superuser_client.post(change, form(clear_password="on")).status_code == 302
    cleared = Simulator.objects.get(pk=sim.pk)
    assert cleared.password == "" and secret_decrypt(cleared.client_key) == PRIVATE_KEY


def test_a_new_key_replaces_the_stored_one(superuser_client):
    add(superuser_client, password=KEY)
    sim = Simulator.objects.get(name="Bay 9")
    change = reverse("admin:ocpp_app_simulator_change", args=[sim.pk])
    superuser_client.post(change, form(password="another-key-0123456789"))
    assert secret_decrypt(Simulator.objects.get(pk=sim.pk).password) == "another-key-0123456789"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short"}, "must be 16-40 printable ASCII characters"),
        ({"rfid": "TAG\x07"}, "Id tag contains characters that are not printable."),
        ({"rfid": "A/B"}, "Id tag contains a slash."),
    ],
)
def test_a_bad_key_or_card_is_refused_with_a_clear_error_and_nothing_stored(superuser_client, fields, message):
    response = add(superuser_client, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Simulator.objects.filter(name="Bay 9").exists()
    assert "short" not in response.content.decode().split('name="password"', 1)[1].split(">", 1)[0]
