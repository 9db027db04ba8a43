"""Start and stop simulators from the admin, against a live server."""

import os
import signal
import time

import psutil
import pytest
from django.urls import reverse

from ocpp_app.models import Charger, Simulator
from ocpp_app.services import simulators

pytestmark = [pytest.mark.e2e]


def wait_until(predicate, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMULATOR_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def make_simulator(server, name="ADMINSIM", **kw) -> Simulator:
    values = dict(
        name=name,
        cp_path=f"ocpp/{name}",
        host="127.0.0.1",
        ws_port=server.port,
        interval=0.2,
        kwh_max=1000,
        power_kw=11,
        repeat=True,
        pause=1,
        rfid="ADM1",
    )
    values.update(kw)
    return Simulator.objects.create(**values)


def kill_all(sim: Simulator, pids: list) -> None:
    """Whatever an assertion left behind: stop it, never leak a process."""
    simulators.simulator_stop(simulator=sim)
    status_file = str(simulators._files(sim)[1])
    for pid in filter(None, pids):
        try:
            # Only our own simulator process (a pid may have been reused).
            if status_file in psutil.Process(pid).cmdline():
                os.kill(pid, signal.SIGKILL)
        except (psutil.Error, ProcessLookupError):
            pass


def connected(charger_id: str) -> bool:
    return Charger.objects.filter(charger_id=charger_id, connected=True).exists()


def test_admin_starts_and_stops_a_simulator(live_ocpp_server, superuser_client, run_dir):
    sim = make_simulator(live_ocpp_server)
    pids = []
    url = reverse("admin:ocpp_app_simulator_changelist")
    page = superuser_client.get(url)
    assert page.status_code == 200
    assert f"ws://127.0.0.1:{live_ocpp_server.port}/ocpp/ADMINSIM" in page.content.decode()

    try:
        response = superuser_client.post(url, {"action": "start_simulators", "_selected_action": [sim.pk]}, follow=True)
        assert response.status_code == 200
        sim.refresh_from_db()
        assert sim.running and sim.started_at is not None
        pid = simulators.simulator_pid(sim)
        pids.append(pid)
        assert pid is not None
        # It connects like any charger and starts charging.
        assert wait_until(lambda: connected("ADMINSIM"))
        assert wait_until(lambda: Charger.objects.get(charger_id="ADMINSIM").transactions.exists())

        # Reloading the page keeps it running.
        superuser_client.get(url)
        sim.refresh_from_db()
        assert sim.running and simulators.simulator_pid(sim) == pid

        response = superuser_client.post(url, {"action": "stop_simulators", "_selected_action": [sim.pk]}, follow=True)
        assert response.status_code == 200
        sim.refresh_from_db()
        assert not sim.running
        assert wait_until(lambda: not connected("ADMINSIM"))
        # The session was ended properly (SIGTERM -> StopTransaction).
        tx = Charger.objects.get(charger_id="ADMINSIM").transactions.get()
        assert tx.stop_time is not None and tx.stop_reason == "Local"
    finally:
        kill_all(sim, pids)


def test_a_dead_process_shows_as_stopped_and_resume_restarts_running_ones(live_ocpp_server, superuser_client, run_dir):
    sim = make_simulator(live_ocpp_server, name="RESUMESIM")
    pids = []
    try:
        assert simulators.simulator_start(simulator=sim)
        first = simulators.simulator_pid(sim)
        pids.append(first)
        assert wait_until(lambda: connected("RESUMESIM"))

        # As after a reboot: the process is gone but the simulator is marked running.
        os.kill(first, signal.SIGKILL)
        assert wait_until(lambda: simulators.simulator_pid(sim) is None, 10)
        assert simulators.simulators_resume() == 1
        sim.refresh_from_db()
        second = simulators.simulator_pid(sim)
        pids.append(second)
        assert sim.running and second not in (None, first)
        assert simulators.simulators_resume() == 0  # already running: no duplicate

        # A process that ended on its own is shown as stopped, with the reason.
        os.kill(second, signal.SIGKILL)
        assert wait_until(lambda: simulators.simulator_pid(sim) is None, 10)
        superuser_client.get(reverse("admin:ocpp_app_simulator_changelist"))
        sim.refresh_from_db()
        assert not sim.running and sim.last_error
    finally:
        kill_all(sim, pids)


@pytest.mark.django_db
def test_a_simulator_is_configured_in_the_admin_without_code(superuser_client, run_dir):
    add = reverse("admin:ocpp_app_simulator_add")
    assert superuser_client.get(add).status_code == 200
    response = superuser_client.post(
        add,
        {
            "name": "Bay 4",
            "scheme": "ws",
            "host": "127.0.0.1",
            "ws_port": 8000,
            "cp_path": "ocpp/BAY4",
            "password": "",
            "connectors": 2,
            "rfid": "TAG4",
            "interval": 5,
            "kwh_max": 10,
            "power_kw": 22,
            "pause": 10,
            "phases": 1,
            "ev_max_current": 16,
            "rate_units": "Power",
            "smart_charging": "",
        },
    )
    assert response.status_code == 302
    sim = Simulator.objects.get(name="Bay 4")
    command = simulators.simulator_command(sim)
    assert command[command.index("--phases") + 1] == "1"
    assert command[command.index("--ev-max-current") + 1] == "16.0"
    assert command[command.index("--rate-units") + 1] == "Power"
    assert "--no-smart-charging" in command
    page = superuser_client.get(reverse("admin:ocpp_app_simulator_changelist")).content.decode()
    assert "ws://127.0.0.1:8000/ocpp/BAY4" in page and not sim.running
    change = superuser_client.get(reverse("admin:ocpp_app_simulator_change", args=[sim.pk]))
    assert change.status_code == 200 and "not running" in change.content.decode()


def test_a_new_simulator_points_at_the_port_the_server_was_reached_on(superuser_client):
    form = superuser_client.get(reverse("admin:ocpp_app_simulator_add"), SERVER_PORT="8123").content.decode()
    assert 'name="ws_port" value="8123"' in form
