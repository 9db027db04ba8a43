"""uvicorn protocol subclass: jittered keepalive pings, lazy flow control (runtime/ws_protocol.py)."""

import asyncio
import socket
from unittest import mock

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ocpp_app.runtime.ws_protocol import HIGH_WATER, JITTER, ChargerWebSocketProtocol, keepalive_socket


def test_it_overrides_the_method_uvicorn_schedules_pings_with():
    # If uvicorn renames it, the override would silently do nothing.
    assert "schedule_ping" in vars(WebSocketsSansIOProtocol)
    assert "schedule_ping" in vars(ChargerWebSocketProtocol)


def test_it_spreads_ping_delays_around_the_interval():
    protocol = ChargerWebSocketProtocol.__new__(ChargerWebSocketProtocol)
    protocol.ping_interval, protocol.last_ping_rtt = 20.0, 0.0
    protocol.loop = mock.Mock(spec=asyncio.AbstractEventLoop)
    delays = set()
    for _ in range(200):
        protocol.schedule_ping()
        delays.add(round(protocol.loop.call_later.call_args.args[0], 3))
    assert len(delays) > 50
    assert min(delays) >= 20 * (1 - JITTER) and max(delays) <= 20 * (1 + JITTER)


def test_it_overrides_the_method_uvicorn_pauses_reading_in():
    assert "send_receive_event_to_app" in vars(WebSocketsSansIOProtocol)
    assert "send_receive_event_to_app" in vars(ChargerWebSocketProtocol)


def protocol_receiving():
    protocol = ChargerWebSocketProtocol.__new__(ChargerWebSocketProtocol)
    protocol.queue = asyncio.Queue()
    protocol.transport = mock.Mock()
    protocol.read_paused, protocol.close_sent = False, False
    protocol.curr_msg_data_type = "text"
    return protocol


def deliver(protocol, text: str) -> None:
    protocol.frames = [text.encode()]
    protocol.send_receive_event_to_app()


async def test_it_keeps_reading_a_charger_that_waits_for_its_answers():
    protocol = protocol_receiving()
    for n in range(20):
        deliver(protocol, f'[2,"{n}","Heartbeat",{{}}]')
        assert (await protocol.receive())["text"].startswith(f'[2,"{n}"')
    protocol.transport.pause_reading.assert_not_called()


async def test_it_stops_reading_a_client_that_floods_and_resumes_once_drained():
    protocol = protocol_receiving()
    for n in range(HIGH_WATER):
        deliver(protocol, f'[2,"{n}","Heartbeat",{{}}]')
    protocol.transport.pause_reading.assert_called_once()
    for _ in range(HIGH_WATER):
        await protocol.receive()
    protocol.transport.resume_reading.assert_called_once()


def test_it_turns_on_tcp_keepalive_on_a_charger_socket():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        keepalive_socket(sock, 45)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 45
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3


def test_it_leaves_tcp_keepalive_off_when_told_to():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        keepalive_socket(sock, 0)
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
