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
"""

import random

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

JITTER = 0.25
HIGH_WATER = 8  # messages queued for the app before the socket stops being read


class ChargerWebSocketProtocol(WebSocketsSansIOProtocol):
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
