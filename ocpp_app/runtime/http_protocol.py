"""uvicorn's h11 HTTP protocol with limits on what a client may make the
server hold before its request is even complete.

- The request head (request line and headers) must be under MAX_HEAD_BYTES
  (8 KiB) with at most MAX_HEADERS (128) header lines: a larger one is
  answered 431 the moment it crosses the line, and the connection closed.
  h11 alone buffers up to 16 KiB and then answers a generic 400.
- The first request head must be complete within OCPP_HANDSHAKE_TIMEOUT of
  the connection (slowloris: a client that sends a header line every few
  seconds would otherwise hold its socket, and a task, forever; uvicorn arms
  no timer before the first request). A late one gets 408 and is closed.
  With TLS the clock starts after the TLS handshake, which asyncio bounds
  itself (60 s).

Every WebSocket upgrade passes here first: uvicorn parses the upgrade
request with this protocol, then hands the socket to the WebSocket protocol
(runtime/ws_protocol.py).
"""

import asyncio

from django.conf import settings
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEAD_BYTES = 8 * 1024
MAX_HEADERS = 128


def head_end(head: bytes) -> int:
    """Where the request head ends (after its blank line), or -1."""
    ends = [at + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (at := head.find(mark)) >= 0]
    return min(ends, default=-1)


def _plain_response(status: int, reason: str, body: str) -> bytes:
    data = (body + "\n").encode("utf-8")
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(data)}\r\nconnection: close\r\n\r\n"
    ).encode("ascii") + data


def head_problem(head: bytes, complete: bool) -> str | None:
    """Why a request head (so far, or `complete`) is refused, or None."""
    if len(head) >= MAX_HEAD_BYTES:
        return f"request header of {MAX_HEAD_BYTES} bytes or more"
    # Lines ended so far, less the request line (and the blank line that ends
    # a complete head): the header lines.
    headers = head.count(b"\n") - (2 if complete else 1)
    if headers > MAX_HEADERS:
        return f"more than {MAX_HEADERS} request headers"
    return None


class ChargerH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head = b""
        self.head_done = False
        self.head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            settings.OCPP_HANDSHAKE_TIMEOUT, self.head_timed_out
        )

    def data_received(self, data: bytes) -> None:
        if not self.head_done:
            # Only the first head is held here (at most MAX_HEAD_BYTES):
            # what follows it goes to h11 untouched.
            self.head += data
            end = head_end(self.head)
            complete = end >= 0
            problem = head_problem(self.head[:end] if complete else self.head, complete)
            if problem is not None:
                self.refuse(431, "Request Header Fields Too Large", f"Refused: {problem}")
                return
            if complete:
                self.head_done = True
                self.head = b""
                self.cancel_head_timer()
        super().data_received(data)

    def handle_websocket_upgrade(self, event) -> None:
        # From here the socket is the WebSocket protocol's: nothing of this
        # one may write to it any more.
        self.head_done = True
        self.cancel_head_timer()
        super().handle_websocket_upgrade(event)

    def refuse(self, status: int, reason: str, body: str) -> None:
        self.cancel_head_timer()
        self.head_done = True
        self.head = b""
        self.logger.info("%s from %s: %s", status, self.client[0] if self.client else "?", body)
        if not self.transport.is_closing():
            self.transport.write(_plain_response(status, reason, body))
            self.transport.close()

    def head_timed_out(self) -> None:
        self.head_timer = None
        if not self.head_done:
            self.refuse(408, "Request Timeout", "Refused: the request was not complete in time")

    def cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_head_timer()
        super().connection_lost(exc)
