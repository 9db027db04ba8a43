"""What a client may make the server hold before its handshake is done, on
raw sockets against `manage.py serve`: request heads of 8 KiB or more than
128 headers are answered 431 at once, and a head still incomplete after
OCPP_HANDSHAKE_TIMEOUT is answered 408 and closed (slowloris)."""

import json
import socket
import time

import pytest
import websockets
from asgiref.sync import sync_to_async

from ocpp_app.services.chargers import charger_get_or_create, charger_set_password
from ocpp_app.tests.helpers import basic

pytestmark = pytest.mark.e2e


def upgrade_head(path: str = "/ocpp/RAW1", extra: list[str] | None = None) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: ocpp1.6",
        *(extra or []),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(port: int, data: bytes, *, wait: float = 5.0) -> tuple[bytes, float]:
    """Send `data`, read until the server closes or answers; the answer and
    how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            pass
    return received, time.monotonic() - started


@pytest.fixture
def server(server_factory):
    return server_factory(OCPP_HANDSHAKE_TIMEOUT="1")


async def test_a_head_of_8_kib_is_answered_431_before_it_ends(server):
    head = upgrade_head(extra=[f"X-Padding: {'a' * 9000}"])[:-4]  # never finished
    answer, took = await sync_to_async(exchange)(server.port, head)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert took < 1.0  # at once, not at the handshake time-out


async def test_more_than_128_headers_are_answered_431(server):
    answer, _ = await sync_to_async(exchange)(server.port, upgrade_head(extra=[f"X-H{n}: v" for n in range(130)]))
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_head_within_the_limits_still_upgrades(server):
    answer, _ = await sync_to_async(exchange)(server.port, upgrade_head(extra=[f"X-H{n}: v" for n in range(100)]))
    assert answer.startswith(b"HTTP/1.1 101 ")


async def test_a_slow_head_is_closed_after_the_handshake_time_out(server):
    def slowloris() -> tuple[bytes, float]:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", server.port), timeout=0.3) as sock:
            sock.sendall(b"GET /ocpp/SLOW1 HTTP/1.1\r\nHost: x\r\n")
            for n in range(10):  # a header line every 0.3 s: never done
                try:
                    received = sock.recv(4096)
                except TimeoutError:
                    sock.sendall(f"X-Slow{n}: 1\r\n".encode())
                    continue
                return received, time.monotonic() - started
            return b"", time.monotonic() - started

    answer, took = await sync_to_async(slowloris)()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert took < 3.0


async def test_a_half_open_socket_that_no_longer_answers_pings_is_replaced(server_factory):
    server = await sync_to_async(server_factory)(OCPP_TAKEOVER_PING_TIMEOUT="0.5")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as silent:
        # Upgraded, then never reads nor answers again: a socket whose peer is gone.
        silent.sendall(upgrade_head("/ocpp/HALF1"))
        assert silent.recv(4096).startswith(b"HTTP/1.1 101 ")
        async with websockets.connect(f"{server.ws_url}/ocpp/HALF1", subprotocols=["ocpp1.6"]) as ws:
            await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
            assert json.loads(await ws.recv())[:2] == [3, "h"]


async def test_repeated_wrong_passwords_are_answered_429_with_retry_after(server_factory):
    server = await sync_to_async(server_factory)(
        OCPP_AUTH_THROTTLE="1", OCPP_AUTH_THROTTLE_FREE="1", OCPP_AUTH_THROTTLE_BASE="30"
    )
    await sync_to_async(charger_get_or_create)(charger_id="GUESS1")
    await sync_to_async(charger_set_password)(charger_id="GUESS1", password="guess1-key-0123456789")
    url = f"{server.ws_url}/ocpp/GUESS1"
    statuses = []
    for _ in range(3):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=basic("GUESS1", "wrong-key-0123456789"))
        statuses.append(refused.value.response.status_code)
    assert statuses[0] == 401 and statuses[-1] == 429
    assert int(refused.value.response.headers["Retry-After"]) > 0


async def test_a_refused_handshake_is_no_server_error_in_the_log(server_factory):
    """A 401/404 before the upgrade is a complete answer, not "ASGI callable
    returned without completing handshake" at ERROR level (error monitoring
    would fire for every stranger)."""
    server = await sync_to_async(server_factory)(OCPP_UNKNOWN_CHARGERS="reject")
    for _ in range(3):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{server.ws_url}/ocpp/NOBODY", subprotocols=["ocpp1.6"])
        assert refused.value.response.status_code == 404
    time.sleep(0.3)
    assert "without completing handshake" not in server.log_text()
    assert "ERROR" not in server.log_text()
