"""Jittered keepalive pings (ocpp_app/ws_protocol.py)."""

import asyncio
from unittest import mock

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ocpp_app.runtime.ws_protocol import JITTER, JitteredPingProtocol


def test_it_overrides_the_method_uvicorn_schedules_pings_with():
    # If uvicorn renames it, the override would silently do nothing.
    assert "schedule_ping" in vars(WebSocketsSansIOProtocol)
    assert "schedule_ping" in vars(JitteredPingProtocol)


def test_it_spreads_ping_delays_around_the_interval():
    protocol = JitteredPingProtocol.__new__(JitteredPingProtocol)
    protocol.ping_interval, protocol.last_ping_rtt = 20.0, 0.0
    protocol.loop = mock.Mock(spec=asyncio.AbstractEventLoop)
    delays = set()
    for _ in range(200):
        protocol.schedule_ping()
        delays.add(round(protocol.loop.call_later.call_args.args[0], 3))
    assert len(delays) > 50
    assert min(delays) >= 20 * (1 - JITTER) and max(delays) <= 20 * (1 + JITTER)
