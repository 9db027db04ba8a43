"""uvicorn's WebSocket protocol with jittered keepalive pings.

uvicorn pings every connection exactly `ws_ping_interval` seconds after the
last ping. After a reconnect storm thousands of chargers connected within
seconds of each other, so their pings fire together forever after, and the
latency of everything else jumps while they do.
A random 25 % either side spreads them out within a few intervals.
"""

import random

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

JITTER = 0.25


class JitteredPingProtocol(WebSocketsSansIOProtocol):
    def schedule_ping(self) -> None:
        assert self.ping_interval is not None
        delay = max(0.0, self.ping_interval - self.last_ping_rtt)
        self.ping_timer = self.loop.call_later(delay * random.uniform(1 - JITTER, 1 + JITTER), self.send_keepalive_ping)
