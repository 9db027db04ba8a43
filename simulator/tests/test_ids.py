"""Who the simulator says it is: the charger id it connects as (--id) and the
serial number it reports (--serial, else one derived from the id)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocpp_app.models import Charger
from simulator.__main__ import build_parser, config_from_args
from simulator.config import (
    SERIAL_MAX_LENGTH,
    SimulatorConfig,
    default_serial,
)

ROOT = Path(__file__).resolve().parents[2]


def cli_config(*argv: str) -> SimulatorConfig:
    return config_from_args(build_parser().parse_args(list(argv)))


# -- the charger id -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "charger_id", "connects_to"),
    [
        ("ws://h:8000/ocpp/SIM1", "CP7", "ws://h:8000/ocpp/CP7"),
        ("ws://h:8000/ocpp/", "CP7", "ws://h:8000/ocpp/CP7"),
        ("ws://h:8000/ocpp/SIM1/", "CP7", "ws://h:8000/ocpp/SIM1/CP7"),
        ("ws://h:8000/SIM1", "CP7", "ws://h:8000/CP7"),
        ("ws://h:8000/", "CP7", "ws://h:8000/CP7"),
        ("ws://h:8000", "CP7", "ws://h:8000/CP7"),
        ("ws://h:8000/ocpp/SIM1?site=3", "CP7", "ws://h:8000/ocpp/CP7?site=3"),
        ("ws://h:8000/ocpp/SIM1", "Hall B #ü?1%", "ws://h:8000/ocpp/Hall%20B%20%23%C3%BC%3F1%25"),
        ("ws://h:8000/ocpp/SIM1", "site:3@A+B", "ws://h:8000/ocpp/site:3@A+B"),
        # Without --id: the URL as given.
        ("ws://h:8000/ocpp/SIM1", None, "ws://h:8000/ocpp/SIM1"),
        ("ws://h:8000/ocpp/SIM1/", None, "ws://h:8000/ocpp/SIM1/"),
    ],
)
def test_id_replaces_the_last_path_segment_or_is_appended_after_a_slash(url, charger_id, connects_to):
    config = cli_config("--url", url, *(["--id", charger_id] if charger_id is not None else []))
    assert config.ws_url == connects_to
    assert config.cp_id == (charger_id or "SIM1")


@pytest.mark.parametrize(
    ("charger_id", "why"),
    [
        ("", "empty charger id"),
        ("A/B", "contains a slash"),
        ("A\\B", "contains a slash"),
        ("..", "contains '..'"),
        ("CP\x01", "control characters"),
        ("C" * 49, "longer than 48 characters"),
    ],
)
def test_an_id_the_server_would_refuse_is_refused(charger_id, why):
    with pytest.raises(ValueError, match=why):
        cli_config("--url", "ws://h:8000/ocpp/", "--id", charger_id)


def test_an_id_the_query_would_override_is_refused():
    # The central system reads ?cid= before the path: --id would not be the id it sees.
    with pytest.raises(ValueError, match=r"query \(cid=SIM1\)"):
        cli_config("--url", "ws://h:8000/ocpp/X?cid=SIM1", "--id", "CP7")


def test_a_bad_id_is_a_usage_error_not_a_retry_loop():
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--url", "ws://127.0.0.1:9/ocpp/", "--id", "site/CP7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "invalid charger id 'site/CP7': charger id contains a slash" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_simulator_still_imports_no_django():
    code = "import sys, simulator.__main__; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the serial number ----------------------------------------------------------------


def test_the_serial_number_is_derived_from_the_charger_id():
    assert cli_config("--url", "ws://h:8000/ocpp/SIM1").serial_number == "SIM-SIM1"
    assert cli_config("--url", "ws://h:8000/ocpp/SIM1", "--id", "CP7").serial_number == "SIM-CP7"
    assert cli_config("--url", "ws://h:8000/ocpp/SIM1", "--serial", "SN-42").serial_number == "SN-42"
    assert SimulatorConfig(cp_path="ocpp/SIM2/").serial_number == "SIM-SIM2"


def test_a_long_charger_id_gives_a_serial_within_25_characters_still_its_own():
    ids = [f"loadtest-charger-{n:06d}" for n in range(1000)] + ["C" * 48, "C" * 47 + "D", "ü" * 48]
    serials = [default_serial(charger_id) for charger_id in ids]
    assert all(len(serial) <= SERIAL_MAX_LENGTH for serial in serials)
    assert len(set(serials)) == len(ids)
    assert serials[0].startswith("SIM-loadtest-cha")
    assert default_serial("C" * 21) == "SIM-" + "C" * 21  # exactly 25: kept whole


def test_a_serial_longer_than_the_boot_notification_field_is_refused():
    with pytest.raises(ValueError, match="longer than 25 characters"):
        cli_config("--url", "ws://h:8000/ocpp/SIM1", "--serial", "S" * 26)


# -- against the real central system --------------------------------------------------


def stderr_after_exit(proc: subprocess.Popen) -> str:
    try:
        return proc.communicate(timeout=20)[1].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        return "did not exit on SIGTERM\n" + proc.communicate()[1].decode(errors="replace")


@pytest.mark.e2e
def test_the_server_sees_the_id_given_by_id_and_a_serial_of_its_own(live_ocpp_server):
    base = f"{live_ocpp_server.ws_url}/ocpp"
    runs = {
        "CP7": [f"{base}/SIM1", "--id", "CP7"],
        "CP8": [f"{base}/", "--id", "CP8"],
        "Hall B #ü?1": [f"{base}/SIM1", "--id", "Hall B #ü?1"],
        "SIM9": [f"{base}/SIM9"],  # no --id: the URL's last segment
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "simulator", "--url", *argv, "--idle", "--quiet"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for argv in runs.values()
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            booted = Charger.objects.filter(charger_id__in=runs).exclude(serial_number="")
            if booted.count() == len(runs) or any(proc.poll() is not None for proc in procs):
                break
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        errors = [stderr_after_exit(proc) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * len(runs), errors
    seen = {c.charger_id: (c.serial_number, c.last_path) for c in Charger.objects.filter(charger_id__in=runs)}
    assert seen == {
        "CP7": ("SIM-CP7", "/ocpp/CP7"),
        "CP8": ("SIM-CP8", "/ocpp/CP8"),
        "Hall B #ü?1": ("SIM-Hall B #ü?1", "/ocpp/Hall B #ü?1"),
        "SIM9": ("SIM-SIM9", "/ocpp/SIM9"),
    }
    # Nobody connected under the last segment of a URL given with --id.
    assert not Charger.objects.filter(charger_id__in=["SIM1", "ocpp"]).exists()
