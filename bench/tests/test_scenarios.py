"""The load client and its scenarios against a small local server."""

import base64
import contextlib
import json

from websockets.asyncio.server import serve

from bench.client import connect
from bench.scenarios import first_call, fixed_rate, schedule


class Server:
    """Answers every CALL (or none, with `silent`), and records what it got."""

    def __init__(self, silent: bool = False) -> None:
        self.silent = silent
        self.headers: list = []
        self.actions: list[str] = []

    async def handler(self, ws) -> None:
        self.headers.append(ws.request.headers)
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                self.actions.append(frame[2])
                if not self.silent:
                    await ws.send(json.dumps([3, frame[1], {}]))


@contextlib.asynccontextmanager
async def running(server: Server):
    async with serve(server.handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp/"


async def test_it_connects_with_basic_auth_and_sends_a_status_after_the_boot():
    server = Server()
    async with running(server) as url:
        charger = await connect(url, "STORM00001", status=True, password="bench-storm-key-0123")
        charger.conn.close()
    expected = base64.b64encode(b"STORM00001:bench-storm-key-0123").decode()
    assert server.headers[0]["Authorization"] == f"Basic {expected}"
    assert server.actions == ["BootNotification", "StatusNotification"]


async def test_it_sends_no_credentials_without_a_password():
    server = Server()
    async with running(server) as url:
        (await connect(url, "CP1")).conn.close()
    assert "Authorization" not in server.headers[0]
    assert server.actions == ["BootNotification"]


def test_it_spreads_a_fixed_rate_evenly_over_the_chargers():
    period, counts = schedule(4, rate=2, duration=3)
    assert period == 2
    assert counts == [2, 2, 1, 1]  # six messages: the rate times the duration


async def test_it_accounts_for_every_scheduled_message_of_a_fixed_rate():
    server = Server()
    async with running(server) as url:
        chargers = [await connect(url, f"CP{i}") for i in range(4)]
        r = await fixed_rate(chargers, 8, 1.0, {"Heartbeat": 1.0}, grace=2)
        for c in chargers:
            c.conn.close()
    assert (r["scheduled"], r["sent"], r["answered"], r["dropped"]) == (8, 8, 8, 0)


async def test_it_counts_unanswered_messages_as_dropped():
    server = Server()
    async with running(server) as url:
        chargers = [await connect(url, f"CP{i}") for i in range(4)]
        server.silent = True
        r = await fixed_rate(chargers, 8, 1.0, {"Heartbeat": 1.0}, grace=0.5)
        for c in chargers:
            c.conn.close()
    # Each charger's first message is never answered, so the rest are never sent.
    assert (r["scheduled"], r["sent"], r["answered"], r["dropped"]) == (8, 4, 0, 8)
    assert r["errors"] == 4


async def test_it_times_the_heartbeats_of_the_first_call_not_the_connect():
    calls = 3
    server = Server()
    async with running(server) as url:
        r = await first_call(url, "FIRSTCALL", calls, pause=0.05, idle=0)
    assert server.actions == ["BootNotification"] + ["Heartbeat"] * calls
    assert r["messages"] == calls and r["errors"] == 0
    assert r["connect_ms"] > 0
