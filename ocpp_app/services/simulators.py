"""Run the simulators configured in the admin as detached processes.

Each running `Simulator` is one `python -m simulator ...` process started in
its own session (so it survives a restart of the server that launched it and
never shares the server's event loop). Its pid, its live status (JSON written
by the CLI every second) and its output live in a run directory:
$SIMULATOR_RUN_DIR, else LOG_DIR/simulators.

`Simulator.running` is the operator's intent and is kept true while the
process lives: page reloads and server restarts leave it alone;
`simulators_refresh()` turns it false only when the process has ended (a
single session finished, or it crashed: `last_error` says why); and
`simulators_resume()`, called once when the server starts, starts again the
simulators marked running whose process is gone (e.g. after a reboot).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ocpp_app.models import Simulator
from ocpp_app.services.secrets import SecretUnreadable, secret_decrypt, secret_encrypt, secret_is_encrypted

BASE_DIR = settings.BASE_DIR
STOP_WAIT = 3.0  # seconds a stop waits for the process (it keeps draining after)
KILL_AFTER = 20.0  # a process still alive this long after SIGTERM is killed

# Processes this server started: polled so that they never linger as zombies.
_children: dict[int, subprocess.Popen] = {}


def run_dir() -> Path:
    path = Path(os.environ.get("SIMULATOR_RUN_DIR") or Path(settings.LOG_DIR) / "simulators")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _files(simulator: Simulator) -> tuple[Path, Path, Path]:
    base = run_dir() / f"simulator-{simulator.pk}"
    return base.with_suffix(".pid"), base.with_suffix(".status.json"), base.with_suffix(".log")


def _tls_dir(simulator: Simulator) -> Path:
    """The simulator's TLS files (CA bundle, client certificate and key), and
    in its `obtained` folder the certificate it gets through SignCertificate."""
    return run_dir() / f"simulator-{simulator.pk}-tls"


def _tls_write(simulator: Simulator) -> None:
    """Write the TLS material the process reads: the key decrypted only into
    a file of mode 0600, in a directory of mode 0700."""
    directory = _tls_dir(simulator)
    directory.mkdir(mode=0o700, exist_ok=True)
    directory.chmod(0o700)
    (directory / "obtained").mkdir(mode=0o700, exist_ok=True)
    files = {"ca.pem": simulator.ca_bundle, "client.crt": simulator.client_cert}
    if simulator.client_key:
        files["client.key"] = simulator_secret(simulator=simulator, field="client_key")
    for name, text in files.items():
        path = directory / name
        if not text:
            path.unlink(missing_ok=True)
            continue
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(text)


@contextlib.contextmanager
def _locked():
    """One start/stop/resume at a time on this host (several workers may try)."""
    with open(run_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def simulator_command(simulator: Simulator) -> list[str]:
    _, status_file, _ = _files(simulator)
    command = [
        sys.executable,
        "-m",
        "simulator",
        "--url",
        simulator.ws_url,
        "--interval",
        str(simulator.interval),
        "--kwh",
        str(simulator.kwh_max),
        "--power",
        str(simulator.power_kw),
        "--connectors",
        str(simulator.connectors),
        "--phases",
        str(simulator.phases),
        "--ev-max-current",
        str(simulator.ev_max_current),
        "--rate-units",
        simulator.rate_units,
        "--pause",
        str(simulator.pause),
        "--drain-timeout",
        "5",
        "--status-file",
        str(status_file),
        "--quiet",
    ]
    if simulator.rfid:
        command += ["--rfid", simulator.rfid]
    tls = _tls_dir(simulator)
    command += ["--cert-dir", str(tls / "obtained")]
    if simulator.ca_bundle:
        command += ["--ca-bundle", str(tls / "ca.pem")]
    if simulator.client_cert and simulator.client_key:
        command += ["--client-cert", str(tls / "client.crt"), "--client-key", str(tls / "client.key")]
    if simulator.repeat:
        command.append("--repeat")
    if not simulator.smart_charging:
        command.append("--no-smart-charging")
    return command


def simulator_pid(simulator: Simulator) -> int | None:
    """The pid of this simulator's live process, or None."""
    pid_file, status_file, _ = _files(simulator)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    child = _children.get(pid)
    if child is not None:
        # Started by this process: poll() is authoritative (and reaps it);
        # its command line may not be the simulator's yet (fork before exec).
        if child.poll() is None:
            return pid
        _children.pop(pid, None)
        return None
    import psutil

    try:
        process = psutil.Process(pid)
        # A recycled pid is not ours: our process names its status file.
        alive = process.status() != psutil.STATUS_ZOMBIE and str(status_file) in process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return pid if alive else None


def simulator_status(simulator: Simulator) -> dict:
    """What the process last reported (state, status line, last error)."""
    _, status_file, _ = _files(simulator)
    try:
        return json.loads(status_file.read_text())
    except (OSError, ValueError):
        return {}


def _exit_reason(simulator: Simulator) -> str:
    status = simulator_status(simulator)
    if status.get("last_error"):
        return status["last_error"]
    _, _, log_file = _files(simulator)
    with contextlib.suppress(OSError):
        lines = [line for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1][-500:]
    return ""


def simulator_start(*, simulator: Simulator) -> bool:
    """Start the simulator's process; False when it was already running."""
    with _locked():
        if simulator_pid(simulator) is not None:
            if not simulator.running:
                Simulator.objects.filter(pk=simulator.pk).update(running=True)
                simulator.running = True
            return False
        pid_file, status_file, log_file = _files(simulator)
        status_file.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("OCPP_SIM_PASSWORD", None)
        try:
            # Decrypted only here, for the process: never on its command line (ps).
            password = secret_decrypt(simulator.password)
            if password:
                env["OCPP_SIM_PASSWORD"] = password
            _tls_write(simulator)
            with log_file.open("ab") as log:
                process = subprocess.Popen(
                    simulator_command(simulator),
                    cwd=BASE_DIR,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # outlives the server; no Ctrl-C from its terminal
                )
        except (OSError, SecretUnreadable) as error:
            fields = {"running": False, "last_error": f"could not start: {error}"}
        else:
            _children[process.pid] = process
            pid_file.write_text(str(process.pid))
            fields = {"running": True, "last_error": "", "started_at": timezone.now()}
        Simulator.objects.filter(pk=simulator.pk).update(**fields)
        for name, value in fields.items():
            setattr(simulator, name, value)
        return simulator.running


def simulator_stop(*, simulator: Simulator) -> bool:
    """Stop the process (SIGTERM: it ends its session with StopTransaction and
    delivers what is queued); False when it was not running."""
    with _locked():
        pid = simulator_pid(simulator)
        pid_file, _, _ = _files(simulator)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_WAIT
            while time.monotonic() < deadline and simulator_pid(simulator) is not None:
                time.sleep(0.05)
            if simulator_pid(simulator) is not None:
                timer = threading.Timer(KILL_AFTER, _kill_if_alive, args=(simulator.pk, pid))
                timer.daemon = True
                timer.start()
        pid_file.unlink(missing_ok=True)
        Simulator.objects.filter(pk=simulator.pk).update(running=False)
        simulator.running = False
        return pid is not None


def _kill_if_alive(pk: int, pid: int) -> None:
    simulator = Simulator(pk=pk)
    pid_file, status_file, _ = _files(simulator)
    import psutil

    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        if str(status_file) in process.cmdline():
            process.kill()
    child = _children.pop(pid, None)
    if child is not None:
        child.poll()


def simulators_refresh() -> int:
    """Mark simulators whose process has ended as not running, with the
    reason; copy live errors (e.g. connection refused) into last_error.
    Returns how many were marked stopped."""
    stopped = 0
    for simulator in Simulator.objects.filter(running=True):
        if simulator_pid(simulator) is None:
            reason = _exit_reason(simulator)
            status = simulator_status(simulator)
            if not reason and status.get("final"):
                reason = ""  # a single session ended normally
            elif not reason:
                reason = "the simulator process is not running"
            Simulator.objects.filter(pk=simulator.pk).update(running=False, last_error=reason)
            _files(simulator)[0].unlink(missing_ok=True)
            stopped += 1
        else:
            error = simulator_status(simulator).get("last_error", "")
            if error != simulator.last_error:
                Simulator.objects.filter(pk=simulator.pk).update(last_error=error)
    return stopped


def simulators_resume() -> int:
    """Start again every simulator marked running whose process is gone.
    Called once at server start (see the serve command). Returns how many."""
    started = 0
    for simulator in Simulator.objects.filter(running=True):
        if simulator_pid(simulator) is None and simulator_start(simulator=simulator):
            started += 1
    return started


# The simulator fields that hold secrets: stored encrypted, never shown.
SECRET_FIELDS = ("password", "client_key")


def simulator_secret(*, simulator: Simulator, field: str) -> str:
    """The clear value of one of a simulator's secrets, for starting it."""
    if field not in SECRET_FIELDS:
        raise ValueError(f"{field} is not a secret of a simulator")
    return secret_decrypt(getattr(simulator, field))


def simulator_secrets_encrypt() -> int:
    """Encrypt every secret still stored in clear (written before encryption
    at rest, or by hand); returns how many simulators were updated."""
    updated = 0
    for simulator in Simulator.objects.only("pk", *SECRET_FIELDS):
        fields = {
            field: secret_encrypt(value)
            for field in SECRET_FIELDS
            if (value := getattr(simulator, field)) and not secret_is_encrypted(value)
        }
        if fields:
            Simulator.objects.filter(pk=simulator.pk, **{f: getattr(simulator, f) for f in fields}).update(**fields)
            updated += 1
    return updated
