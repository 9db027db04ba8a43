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

from ocpp_app.runtime.ws_protocol import ChargerWebSocketProtocol
from ocpp_app.services.chargers import chargers_mark_node_offline
from ocpp_app.services.simulators import simulators_resume


class Command(BaseCommand):
    help = "Serve the central system (HTTP + OCPP WebSocket) with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--ssl-certfile", default=os.environ.get("SSL_CERTFILE"))
        parser.add_argument("--ssl-keyfile", default=os.environ.get("SSL_KEYFILE"))
        parser.add_argument("--log-level", default=os.environ.get("UVICORN_LOG_LEVEL", "warning"))

    def handle(self, *args, **options):
        # Chargers this node held when it last died are not connected any more.
        cleared = chargers_mark_node_offline(node_id=settings.OCPP_NODE_ID)
        if cleared:
            self.stdout.write(f"marked {cleared} charger(s) of node {settings.OCPP_NODE_ID} offline")
        # Admin simulators marked running whose process is gone (a reboot)
        # start again: "running" survives server restarts.
        simulators_resume()
        scheme = "wss" if options["ssl_certfile"] else "ws"
        self.stdout.write(
            f"OCPP central system on http://{options['host']}:{options['port']}/ocpp/ "
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
            # ~14 KiB per idle socket instead of ~64 KiB; chargers rarely use it.
            ws_per_message_deflate=False,
            # A reconnect storm of thousands of chargers overflows a small backlog.
            backlog=4096,
            ssl_certfile=options["ssl_certfile"],
            ssl_keyfile=options["ssl_keyfile"],
            access_log=False,
            proxy_headers=True,
        )
