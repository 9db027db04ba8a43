"""Command line: `python -m simulator --url ws://127.0.0.1:8000/ocpp/SIM1 --rfid TAG1 --interval 5 --kwh 10 --repeat`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from simulator.config import SimulatorConfig
from simulator.core import ChargePointSimulator

EPILOG = """\
examples:
  python -m simulator --url ws://127.0.0.1:8000/ocpp/SIM1
  python -m simulator --url ws://127.0.0.1:8000/ocpp/SIM1 --rfid TAG1 --interval 5 --kwh 10 --repeat
  python -m simulator --url ws://127.0.0.1:8000/ocpp/ --id CP7 --idle
  python -m simulator --url ws://127.0.0.1:8000/ocpp/SIM1 --phases 1 --power 7.4 --ev-max-current 16
  python -m simulator --url ws://127.0.0.1:8000/ocpp/SIM1 --rate-units Power --ev-pause-after 120
  OCPP_SIM_PASSWORD=0123456789abcdef python -m simulator --url wss://csms.example.com/ocpp/CP7

The status line shows the connection state, each connector's status, the
running transaction and its energy, the current offered (the limit in force
by the charging profiles, A per phase) and the car's draw. The car can be
changed at runtime with DataTransfer vendorId <--vendor> (default Simulator),
messageId "ev", data e.g. {"connectorId": 1, "maxCurrent": 10} or
{"connectorId": 1, "pause": true}. Ctrl-C (or SIGTERM) stops the running
session with StopTransaction, delivers queued messages for up to
--drain-timeout seconds and exits with status 0.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Simulate an OCPP 1.6J charge point against a central system.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--url",
        required=True,
        help="WebSocket URL of the central system; its last path segment is the charger id "
        "unless --id is given (e.g. ws://127.0.0.1:8000/ocpp/SIM1)",
    )
    p.add_argument(
        "--id",
        dest="charge_point_id",
        help="charger id to connect as: it replaces the URL's last path segment, or is appended to a URL "
        "ending in '/' (ws://127.0.0.1:8000/ocpp/SIM1 and ws://127.0.0.1:8000/ocpp/ with --id CP7 both "
        "connect to .../ocpp/CP7), percent-encoded where needed; 1 to 48 characters, "
        "no '/', '\\', '..' or control characters",
    )
    p.add_argument(
        "--password",
        default=os.environ.get("OCPP_SIM_PASSWORD"),
        help="HTTP Basic-auth key (Security Profile 1/2), user name = charger id; "
        "better given as the OCPP_SIM_PASSWORD environment variable (not visible in ps)",
    )
    p.add_argument("--rfid", help="id tag presented for each session; with a tag the charger sends Authorize first")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between MeterValues (default 5)")
    p.add_argument("--kwh", type=float, default=10.0, help="energy one session delivers, in kWh (default 10)")
    p.add_argument("--power", type=float, default=11.0, help="maximum charging power in kW (default 11)")
    p.add_argument(
        "--speed",
        type=float,
        default=60.0,
        help="energy flows this many times faster than real time (default 60: 10 kWh at 11 kW in ~1 min; 1 = real time)",
    )
    p.add_argument("--connectors", type=int, default=1, help="number of connectors (default 1)")
    p.add_argument(
        "--phases",
        type=int,
        choices=(1, 3),
        default=3,
        help="phases of the supply, 1 or 3 (default 3); --power over them is the rated current per phase",
    )
    p.add_argument(
        "--ev-max-current",
        type=float,
        default=32.0,
        metavar="A",
        help="the car's own maximum current per phase, in A (default 32); it draws less when offered less "
        "and nothing under 6 A",
    )
    p.add_argument(
        "--ev-pause-after",
        type=float,
        metavar="S",
        help="the car pauses by itself S seconds after plug-in (SuspendedEV) until resumed by DataTransfer",
    )
    p.add_argument(
        "--rate-units",
        default="Current,Power",
        metavar="Current|Power|Current,Power",
        help="ChargingScheduleAllowedChargingRateUnit: the units a charging profile may use (default Current,Power)",
    )
    p.add_argument(
        "--no-smart-charging",
        dest="smart_charging",
        action="store_false",
        help="no SmartCharging feature profile: Set/ClearChargingProfile and GetCompositeSchedule get a "
        "CALLERROR NotSupported",
    )
    p.add_argument("--repeat", action="store_true", help="start a new session after each one, until Ctrl-C")
    p.add_argument("--pause", type=float, default=10.0, help="seconds between sessions with --repeat (default 10)")
    p.add_argument(
        "--idle",
        action="store_true",
        help="start no session of its own: boot, heartbeat and wait for remote commands (RemoteStartTransaction, ...)",
    )
    p.add_argument("--vendor", default="Simulator", help="chargePointVendor in BootNotification (default Simulator)")
    p.add_argument("--model", default="SimCP", help="chargePointModel in BootNotification (default SimCP)")
    p.add_argument(
        "--serial",
        help="chargePointSerialNumber in BootNotification, at most 25 characters (default SIM-<charger id>, "
        "cut to 25 characters with a hash of the id when longer)",
    )
    p.add_argument("--drain-timeout", type=float, default=10.0, help="seconds to deliver queued messages on exit")
    p.add_argument("--ca-bundle", help="wss://: PEM file of the CAs to trust (default: the system's)")
    p.add_argument("--client-cert", help="wss://: PEM client certificate to present (security profile 3)")
    p.add_argument("--client-key", help="wss://: PEM private key of --client-cert")
    p.add_argument(
        "--cert-dir",
        help="directory for the certificate obtained through SignCertificate (key mode 0600); "
        "presented on later wss:// connections",
    )
    p.add_argument("--organization", default="", help="organisation (O) of the certificate signing request")
    p.add_argument("--status-file", type=Path, help="also write the status as JSON to this file (used by the admin)")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    p.add_argument("-v", "--verbose", action="store_true", help="log every OCPP frame sent and received")
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    if bool(args.client_cert) != bool(args.client_key):
        raise ValueError("--client-cert and --client-key go together")
    return SimulatorConfig.from_url(
        args.url,
        charge_point_id=args.charge_point_id,
        password=args.password or None,
        rfid=args.rfid or None,
        interval=args.interval,
        kwh_max=args.kwh,
        power_kw=args.power,
        speed=args.speed,
        connectors=args.connectors,
        phases=args.phases,
        ev_max_current=args.ev_max_current,
        ev_pause_after=args.ev_pause_after,
        rate_units=args.rate_units,
        smart_charging=args.smart_charging,
        repeat=args.repeat,
        pause=args.pause,
        vendor=args.vendor,
        model=args.model,
        serial=args.serial,
        drain_timeout=args.drain_timeout,
        ca_bundle=args.ca_bundle or None,
        client_cert=args.client_cert or None,
        client_key=args.client_key or None,
        cert_dir=args.cert_dir or None,
        organization=args.organization,
    )


def write_status(path: Path, sim: ChargePointSimulator, *, final: bool = False) -> None:
    data = {
        "pid": os.getpid(),
        "state": sim.state,
        "line": sim.status_line(),
        "last_error": sim.last_error,
        "sessions": sim.stats.sessions,
        "queued": len(sim.outbox),
        "updated": time.time(),
        "final": final,
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


async def show_status(sim: ChargePointSimulator, args: argparse.Namespace) -> None:
    tty = sys.stdout.isatty()
    last = ""
    while True:
        line = sim.status_line()
        if not args.quiet:
            if tty:
                width = os.get_terminal_size().columns if tty else 200
                sys.stdout.write("\r\x1b[2K" + line[: width - 1])
                sys.stdout.flush()
            elif line != last:
                print(line, flush=True)
        if args.status_file:
            with contextlib.suppress(OSError):
                write_status(args.status_file, sim)
        last = line
        await asyncio.sleep(1)


async def main_async(args: argparse.Namespace) -> int:
    sim = ChargePointSimulator(config_from_args(args))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    status = asyncio.create_task(show_status(sim, args))
    if args.idle:
        # Connect and answer commands until told to stop.
        starting = asyncio.create_task(sim.start())
        runner = asyncio.create_task(stop.wait())
        runner.add_done_callback(lambda _: starting.cancel())
    else:
        runner = asyncio.create_task(sim.run())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        # A second Ctrl-C while draining exits at once.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: os._exit(130))
        await sim.stop()
    for task in (runner, stopper):
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
    status.cancel()
    with contextlib.suppress(BaseException):
        await status
    if not args.quiet:
        if sys.stdout.isatty():
            sys.stdout.write("\n")
        print(sim.status_line(), flush=True)
    if args.status_file:
        with contextlib.suppress(OSError):
            write_status(args.status_file, sim, final=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("ocpp").setLevel(logging.WARNING)
    try:
        args_config = config_from_args(args)
    except ValueError as error:
        build_parser().error(str(error))
    del args_config
    try:
        return asyncio.run(main_async(args))
    except KeyboardInterrupt:  # pragma: no cover - Ctrl-C before the loop started
        return 130


if __name__ == "__main__":
    sys.exit(main())
