"""The command line: --help, a live status, a clean Ctrl-C."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.__main__ import build_parser, config_from_args, main

ROOT = Path(__file__).resolve().parents[2]


def test_help_explains_every_flag():
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert flag in result.stdout
        assert action.help, f"{action.option_strings} has no help"


def test_the_charging_flags_reach_the_configuration():
    def config(*flags):
        return config_from_args(build_parser().parse_args(["--url", "ws://127.0.0.1:1/ocpp/X", *flags]))

    default = config()
    assert (default.phases, default.ev_max_current, default.ev_pause_after) == (3, 32.0, None)
    assert (default.rate_units, default.smart_charging) == ("Current,Power", True)
    chosen = config(
        "--phases",
        "1",
        "--ev-max-current",
        "10",
        "--ev-pause-after",
        "60",
        "--rate-units",
        "Power",
        "--no-smart-charging",
    )
    assert (chosen.phases, chosen.ev_max_current, chosen.ev_pause_after) == (1, 10.0, 60.0)
    assert (chosen.rate_units, chosen.smart_charging) == ("Power", False)


@pytest.mark.parametrize(
    "flags", [["--phases", "2"], ["--rate-units", "Amps"], ["--ev-max-current", "0"], ["--ev-pause-after", "-5"]]
)
def test_a_charger_or_car_that_cannot_be_is_a_usage_error(flags, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--url", "ws://127.0.0.1:1/ocpp/X", *flags])
    assert exit.value.code == 2 and "Traceback" not in capsys.readouterr().err


def test_a_bad_url_is_a_usage_error_not_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "simulator", "--url", "http://example.com/x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "not a WebSocket URL" in result.stderr and "Traceback" not in result.stderr


async def test_ctrl_c_stops_the_session_and_exits_cleanly(csms):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--url",
        f"ws://127.0.0.1:{csms.port}/ocpp/CLI1",
        "--rfid",
        "TAG1",
        "--interval",
        "0.1",
        "--kwh",
        "1000",
        "--repeat",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        await csms.wait_for(lambda: len(csms.actions("MeterValues")) >= 15, timeout=20)  # > 1 s: a status refresh
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0
    assert b"Traceback" not in stderr
    # The status line showed the running transaction, then the final state.
    assert b"CLI1 online | #1 Charging tx 101" in stdout
    assert stdout.strip().splitlines()[-1].startswith(b"CLI1 stopped")
    stop = csms.actions("StopTransaction")
    assert len(stop) == 1 and stop[0]["reason"] == "Local" and stop[0]["transaction_id"] == 101
