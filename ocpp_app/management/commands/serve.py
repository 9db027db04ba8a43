"""Serve HTTP and WebSocket the production way: uvicorn with settings that suit
thousands of long-lived charger sockets.

uvicorn, not daphne: uvicorn implements the ASGI WebSocket denial-response
extension, so a refused handshake gets a real 401 (bad credentials) or 404
(unknown charger); daphne can only say 403.

`--workers N` runs N server processes on the same port (SO_REUSEPORT: the
kernel spreads new connections over them), each a node of its own named
`<OCPP_NODE_ID>-<i>`, supervised by this process, which restarts a worker
that dies. Several processes share chargers' state through PostgreSQL and
the Redis channel layer only, so N > 1 is refused on SQLite or without Redis.
"""

import argparse
import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from ocpp_app.consumers import LIVE
from ocpp_app.management.alert_intake import AlertIntake
from ocpp_app.management.load_manager import LoadManager
from ocpp_app.management.node_keeper import NodeKeeper
from ocpp_app.management.webhook_sender import WebhookSender
from ocpp_app.runtime.http_protocol import ChargerH11Protocol
from ocpp_app.runtime.mailbox import get_mailbox
from ocpp_app.runtime.side_thread import run_aside
from ocpp_app.runtime.tls import server_context
from ocpp_app.runtime.ws_protocol import ChargerWebSocketProtocol
from ocpp_app.services.simulators import simulator_secrets_encrypt, simulators_resume
from ocpp_app.services.webhooks import subscriptions_refresh

# A reconnect storm of thousands of chargers overflows a small backlog.
BACKLOG = 4096
# A worker that dies is started again after this many seconds (doubling, up to the last).
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
# How long a stopping supervisor waits for its workers before SIGKILL.
STOP_GRACE = 30.0


def multiprocess_problems() -> list[str]:
    """Why several server processes cannot share this configuration."""
    problems = []
    if connection.vendor == "sqlite":
        problems.append("the database is SQLite: set DATABASE_URL to a PostgreSQL database")
    if "redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"].lower():
        problems.append("the channel layer is in memory: set REDIS_URL to a Redis server")
    return problems


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


class Command(BaseCommand):
    help = "Serve the central system (HTTP + OCPP WebSocket) with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
        # String defaults go through `type`: PORT=80a fails with argparse's message.
        parser.add_argument("--port", type=int, default=os.environ.get("PORT") or "8000")
        parser.add_argument(
            "--workers",
            type=int,
            default=os.environ.get("WORKERS") or "1",
            help="server processes sharing the port (PostgreSQL and Redis only)",
        )
        parser.add_argument("--ssl-certfile", default=os.environ.get("SSL_CERTFILE"))
        parser.add_argument("--ssl-keyfile", default=os.environ.get("SSL_KEYFILE"))
        # The CA bundle charger client certificates must chain to (profile 3).
        parser.add_argument("--ssl-ca-certs", default=os.environ.get("SSL_CA_CERTS") or None)
        parser.add_argument("--ssl-ciphers", default=os.environ.get("SSL_CIPHERS") or None)
        parser.add_argument("--log-level", default=os.environ.get("UVICORN_LOG_LEVEL", "warning"))
        # Set by the supervisor of --workers for each worker it starts.
        parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        workers = options["workers"]
        if workers < 1 or workers > 64:
            raise CommandError(f"--workers {workers}: use a number from 1 to 64")
        if workers > 1:
            problems = multiprocess_problems()
            if problems:
                raise CommandError(
                    f"--workers {workers} needs state shared between processes, but "
                    + "; ".join(problems)
                    + ". One worker runs on SQLite and the in-memory layer."
                )
        if not options["worker_index"]:
            self._once_per_host()
        scheme = "wss" if options["ssl_certfile"] else "ws"
        if options["worker_index"] == 0:
            self.stdout.write(
                f"OCPP central system on {'https' if options['ssl_certfile'] else 'http'}://{options['host']}:"
                f"{options['port']}/ocpp/ - chargers connect to {scheme}://<host>:{options['port']}/ocpp/<charger id>"
                + (f" ({workers} workers)" if workers > 1 else "")
            )
            self.stdout.flush()
        if workers > 1 and not options["worker_index"]:
            self._supervise(workers, options)
            return
        serve_node(options, reuse_port=bool(options["worker_index"]), stdout=self.stdout)

    def _once_per_host(self) -> None:
        # Secrets stored in clear before encryption at rest are encrypted
        # before anything reads them (the simulators resumed below).
        encrypted = simulator_secrets_encrypt()
        if encrypted:
            self.stdout.write(f"encrypted the secrets of {encrypted} simulator(s) stored in clear")
        # Admin simulators marked running whose process is gone (a reboot)
        # start again: "running" survives server restarts.
        simulators_resume()

    def _supervise(self, workers: int, options: dict) -> None:
        """Start the workers, restart one that dies, stop them all on SIGTERM
        or SIGINT (each closes its sockets and ends its lease)."""
        base = settings.OCPP_NODE_ID
        argv = [sys.executable, str(settings.BASE_DIR / "manage.py"), "serve"]
        for name in ("host", "port", "ssl_certfile", "ssl_keyfile", "ssl_ca_certs", "ssl_ciphers", "log_level"):
            if options[name] not in (None, ""):
                argv += [f"--{name.replace('_', '-')}", str(options[name])]
        stopping = False

        def start(index: int) -> subprocess.Popen:
            env = {**os.environ, "OCPP_NODE_ID": f"{base}-{index}"}
            return subprocess.Popen([*argv, "--worker-index", str(index)], env=env, preexec_fn=_die_with_parent)

        def stop(signum, frame):
            nonlocal stopping
            stopping = True
            for process in running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)

        running = {index: start(index) for index in range(1, workers + 1)}
        restarts = dict.fromkeys(running, 0)
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        deadline = None
        while running:
            time.sleep(0.2)
            if stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
            for index, process in list(running.items()):
                code = process.poll()
                if code is None:
                    if deadline is not None and time.monotonic() > deadline:
                        process.kill()
                    continue
                if stopping:
                    del running[index]
                    continue
                delay = RESTART_DELAYS[min(restarts[index], len(RESTART_DELAYS) - 1)]
                restarts[index] += 1
                self.stderr.write(f"worker {base}-{index} exited with {code}; starting it again in {delay:.1f} s")
                time.sleep(delay)
                running[index] = start(index)


def _die_with_parent() -> None:
    """In a worker, before it runs: SIGTERM when the supervisor dies, so that
    a killed supervisor never leaves workers holding the port."""
    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _uvicorn_config(options: dict) -> uvicorn.Config:
    tls = {}
    if options["ssl_certfile"]:
        # TLS 1.2+, the whitepaper's suites, client certificates asked for
        # (not required) with a CA bundle: runtime/tls.py.
        def context(config, default):
            return server_context(
                certfile=options["ssl_certfile"],
                keyfile=options["ssl_keyfile"],
                ca_certs=options["ssl_ca_certs"],
                ciphers=options["ssl_ciphers"],
            )

        tls = {
            "ssl_certfile": options["ssl_certfile"],
            "ssl_keyfile": options["ssl_keyfile"],
            "ssl_context_factory": context,
        }
    return uvicorn.Config(
        "config.asgi:application",
        host=options["host"],
        port=options["port"],
        log_level=options["log_level"],
        lifespan="off",
        # Frames over the limit close the socket with 1009 in the server.
        ws_max_size=settings.OCPP_MAX_FRAME_BYTES,
        ws_ping_interval=settings.OCPP_WS_PING_INTERVAL,
        ws_ping_timeout=settings.OCPP_WS_PING_TIMEOUT,
        # Pings spread out, not all at once after a reconnect storm.
        ws=ChargerWebSocketProtocol,
        # Request heads under 8 KiB and 128 headers, complete within
        # OCPP_HANDSHAKE_TIMEOUT (slowloris).
        http=ChargerH11Protocol,
        # ~14 KiB per idle socket instead of ~64 KiB; chargers rarely use it.
        ws_per_message_deflate=False,
        backlog=BACKLOG,
        **tls,
        access_log=False,
        # X-Forwarded-* are trusted from OCPP_TRUSTED_PROXIES only, and
        # applied in config/asgi.py (HTTP) and ocpp/transport.py (chargers).
        proxy_headers=False,
    )


def serve_node(options: dict, *, reuse_port: bool, stdout) -> None:
    """One node: uvicorn on this process's event loop, beside the node's
    housekeeping (its lease, the sweep of dead nodes, the prune), the load
    manager (site load management) and the alerts (the intake of charger
    events, the sender of webhooks and e-mails)."""
    config = _uvicorn_config(options)
    server = uvicorn.Server(config)
    sock = listening_socket(options["host"], options["port"], reuse_port=reuse_port)
    keeper = NodeKeeper(
        node_id=settings.OCPP_NODE_ID,
        lease=settings.OCPP_NODE_LEASE,
        held=lambda: [(charger_id, consumer.connection_id) for charger_id, consumer in LIVE.copy().items()],
        channel_name=lambda: get_mailbox().name,
    )
    if settings.OCPP_METRICS_PORT:
        from ocpp_app.runtime.metrics import start_metrics_server

        # Worker i of --workers on port + i - 1; a single process on the port.
        start_metrics_server(
            settings.OCPP_METRICS_PORT + max(0, options["worker_index"] - 1), settings.OCPP_METRICS_HOST
        )

    sender = WebhookSender(node_id=settings.OCPP_NODE_ID)
    intake = AlertIntake(written=lambda rows: sender.wake())

    async def main() -> None:
        # What is subscribed to is known before the first charger speaks.
        await run_aside(subscriptions_refresh)
        intake.install()
        cleared = await keeper.start()
        if cleared:
            stdout.write(f"marked {cleared} charger(s) of node {settings.OCPP_NODE_ID} offline")
            stdout.flush()
        housekeeping = asyncio.get_running_loop().create_task(keeper.run())
        balancing = asyncio.get_running_loop().create_task(LoadManager(node_id=settings.OCPP_NODE_ID).run())
        alerting = asyncio.get_running_loop().create_task(sender.run())
        # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal
        # again for the handlers it found: ours take note and let the lease
        # end below instead of dying before it.
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop_signal, lambda signum, frame: None)
        try:
            await server.serve(sockets=[sock])
        finally:
            housekeeping.cancel()
            balancing.cancel()
            # The events of the sockets just closed are queued before the
            # lease ends; sends in flight get a few seconds.
            intake.uninstall()
            if not await intake.drain():
                stdout.write("could not queue the last alerts: the database did not take them")
            alerting.cancel()
            await asyncio.gather(alerting, return_exceptions=True)
            try:
                await keeper.stop()
            except Exception as error:  # the database may be the reason we stop
                stdout.write(f"could not end the lease of node {settings.OCPP_NODE_ID}: {error}")

    # The event loop uvicorn.run would have made.
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())
