"""Serve HTTP and WebSocket the production way: uvicorn with settings that suit
thousands of long-lived charger sockets.

uvicorn, not daphne: uvicorn implements the ASGI WebSocket denial-response
extension, so a refused handshake gets a real 401 (bad credentials) or 404
(unknown charger); daphne can only say 403.
"""

import os

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand

from ocpp_app.runtime.http_protocol import ChargerH11Protocol
from ocpp_app.runtime.tls import server_context
from ocpp_app.runtime.ws_protocol import ChargerWebSocketProtocol
from ocpp_app.services.chargers import chargers_mark_node_offline
from ocpp_app.services.simulators import simulator_secrets_encrypt, simulators_resume


class Command(BaseCommand):
    help = "Serve the central system (HTTP + OCPP WebSocket) with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--ssl-certfile", default=os.environ.get("SSL_CERTFILE"))
        parser.add_argument("--ssl-keyfile", default=os.environ.get("SSL_KEYFILE"))
        # The CA bundle charger client certificates must chain to (profile 3).
        parser.add_argument("--ssl-ca-certs", default=os.environ.get("SSL_CA_CERTS") or None)
        parser.add_argument("--ssl-ciphers", default=os.environ.get("SSL_CIPHERS") or None)
        parser.add_argument("--log-level", default=os.environ.get("UVICORN_LOG_LEVEL", "warning"))

    def handle(self, *args, **options):
        # Chargers this node held when it last died are not connected any more.
        cleared = chargers_mark_node_offline(node_id=settings.OCPP_NODE_ID)
        if cleared:
            self.stdout.write(f"marked {cleared} charger(s) of node {settings.OCPP_NODE_ID} offline")
        # Secrets stored in clear before encryption at rest are encrypted
        # before anything reads them (the simulators resumed below).
        encrypted = simulator_secrets_encrypt()
        if encrypted:
            self.stdout.write(f"encrypted the secrets of {encrypted} simulator(s) stored in clear")
        # Admin simulators marked running whose process is gone (a reboot)
        # start again: "running" survives server restarts.
        simulators_resume()
        scheme = "wss" if options["ssl_certfile"] else "ws"
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
        self.stdout.write(
            f"OCPP central system on {'https' if options['ssl_certfile'] else 'http'}://{options['host']}:{options['port']}/ocpp/ "
            f"- chargers connect to {scheme}://<host>:{options['port']}/ocpp/<charger id>"
        )
        uvicorn.run(
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
            # A reconnect storm of thousands of chargers overflows a small backlog.
            backlog=4096,
            **tls,
            access_log=False,
            # X-Forwarded-* are trusted from OCPP_TRUSTED_PROXIES only, and
            # applied in config/asgi.py (HTTP) and ocpp/transport.py (chargers).
            proxy_headers=False,
        )
