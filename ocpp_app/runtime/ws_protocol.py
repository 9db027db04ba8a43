"""uvicorn's WebSocket protocol with jittered keepalive pings and lazy flow
control.

uvicorn pings every connection exactly `ws_ping_interval` seconds after the
last ping. After a reconnect storm thousands of chargers connected within
seconds of each other, so their pings fire together forever after, and the
latency of everything else jumps while they do.
A random 25 % either side spreads them out within a few intervals.

uvicorn also stops reading a socket after every message and starts again
once the app took it: two epoll_ctl system calls per frame (a sixth of the
event loop's time under load), although an OCPP charger sends its next CALL
only after the answer to the last. Here reading stops only when HIGH_WATER
messages wait unread, which still bounds what a flooding client can queue.

Two things the ASGI application cannot do by itself come from here, in the
handshake's scope: the ASGI TLS extension (`scope["extensions"]["tls"]`,
with the client certificate the TLS layer verified against SSL_CA_CERTS),
and a WebSocket ping the application can send and wait for
(`scope["extensions"]["ocpp.ping"]["probe"](timeout)`: does the socket still
answer?), which the handshake uses before a newcomer may replace a
connection; and how many frames wait unread (`scope["extensions"]
["ocpp.flow"]["queued"]()`), which tells a pipelining charger from one that
waits for each answer.

Dead peers are found by the kernel's TCP keepalive (OCPP_TCP_KEEPALIVE), set
on every charger socket here: server pings (OCPP_WS_PING_INTERVAL) are off
by default, as they cost Python time for every idle charger.
"""

import asyncio
import os
import random
import socket
import ssl

from cryptography import x509
from django.conf import settings
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

JITTER = 0.25
HIGH_WATER = 8  # messages queued for the app before the socket stops being read
TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
PROBE_PREFIX = b"ocpp-probe:"


def keepalive_socket(sock: socket.socket | None, idle: int) -> None:
    """TCP keepalive on a charger's socket: probes after `idle` seconds of
    silence, every 10 s, and the socket closes after 3 unanswered ones. 0: off."""
    if sock is None or idle <= 0:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the system's timers
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
    except OSError:  # not a TCP socket (a test transport)
        return


def tls_extension(ssl_object: ssl.SSLObject) -> dict:
    """The ASGI TLS extension of a connection. Only a certificate the TLS
    layer verified is ever here: the server context asks for one
    (CERT_OPTIONAL) only with a CA bundle, and then a certificate that fails
    verification fails the TLS handshake itself."""
    der = ssl_object.getpeercert(binary_form=True)
    name = None
    if der:
        try:
            name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        except ValueError:
            name = None
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": name,
        "client_cert_error": None,
        # Not in the ASGI extension: did this server ask for a certificate at
        # all (SSL_CA_CERTS)? The refusal of a profile-3 charger says which.
        "ocpp_client_cert_requested": ssl_object.context.verify_mode != ssl.CERT_NONE,
        "tls_version": TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class ChargerWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.probes: dict[bytes, asyncio.Future] | None = None  # made on first probe

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        keepalive_socket(transport.get_extra_info("socket"), settings.OCPP_TCP_KEEPALIVE)

    def handle_connect(self, event) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is None:  # refused by the WebSocket library itself
            return
        ssl_object = self.transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            scope["extensions"]["tls"] = tls_extension(ssl_object)
        scope["extensions"]["ocpp.ping"] = {"probe": self.probe}
        # How many of the charger's frames wait unread behind the one the app
        # is taking: 0 for a charger that waits for each answer, as OCPP-J
        # asks; more for one that pipelines (the rate limit counts only those).
        scope["extensions"]["ocpp.flow"] = {"queued": self.queue.qsize}

    async def probe(self, timeout: float) -> bool:
        """Ping the peer; True when its pong comes within `timeout` seconds.
        A socket closing or closed does not answer."""
        if not self.handshake_complete or self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        payload = PROBE_PREFIX + os.urandom(4)
        answered = self.loop.create_future()
        if self.probes is None:
            self.probes = {}
        self.probes[payload] = answered
        try:
            self.conn.send_ping(payload)
            self.transport.write(b"".join(self.conn.data_to_send()))
            await asyncio.wait_for(answered, timeout)
            return True
        except (TimeoutError, ConnectionError, InvalidState):
            return False
        finally:
            self.probes.pop(payload, None)  # type: ignore[union-attr]

    def handle_pong(self, event) -> None:
        answered = self.probes.pop(bytes(event.data), None) if self.probes else None
        if answered is not None:
            if not answered.done():
                answered.set_result(True)
            return
        super().handle_pong(event)

    async def send(self, message) -> None:
        await super().send(message)
        if message["type"] == "websocket.http.response.body" and not message.get("more_body") and self.close_sent:
            # A refusal before the upgrade (401, 403, 404, 429...) is a
            # complete answer to the handshake: without this, uvicorn logs
            # "ASGI callable returned without completing handshake" at ERROR
            # level for every refused charger.
            self.handshake_complete = True

    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay * random.uniform(1 - JITTER, 1 + JITTER), self.send_keepalive_ping)

    def send_receive_event_to_app(self) -> None:
        paused = self.read_paused
        self.read_paused = True  # keeps uvicorn from pausing after this message
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = paused
        if not paused and self.queue.qsize() >= HIGH_WATER:
            self.read_paused = True
            self.transport.pause_reading()
