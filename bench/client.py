"""The load client's chargers: thousands of lightweight connections in one process.

Each charger is one raw `websockets` Sans-I/O connection on an asyncio
transport and a few coroutines (no thread, no `ocpp` library object), so one
process holds 10 000 of them. It speaks just enough OCPP 1.6J for the
benchmark scenarios (bench/scenarios.py).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import itertools
import json
import resource
import time
from datetime import UTC, datetime, timedelta

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from bench.measure import Recorder, bounded


def raise_fd_limit() -> int:
    """Each charger is a socket: lift the soft descriptor limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallFailed(Exception):
    pass


class ConnectionLost(ConnectionError):
    pass


class LeanConnection(asyncio.Protocol):
    """A WebSocket client connection on the `websockets` Sans-I/O protocol and a
    plain asyncio transport: no per-message task, lock or queue, so one
    process can keep the server busy (the asyncio client costs ~4x more CPU
    per message and becomes the bottleneck on two cores)."""

    def __init__(self, url: str, authorization: str | None = None) -> None:
        self.proto = ClientProtocol(parse_uri(url), subprotocols=["ocpp1.6"], max_size=2**20)
        self.authorization = authorization
        self.transport = None
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.waiter: tuple[str, asyncio.Future] | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        request = self.proto.connect()
        if self.authorization:
            request.headers["Authorization"] = self.authorization
        self.proto.send_request(request)
        self._flush()

    def _flush(self) -> None:
        data = self.proto.data_to_send()
        if data and not self.closed:
            self.transport.write(b"".join(data))

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._frame(event.data)
            elif not self.opened.done():  # the handshake response
                if self.proto.handshake_exc is not None:
                    self.opened.set_exception(self.proto.handshake_exc)
                else:
                    self.opened.set_result(None)
        self._flush()  # pongs, close frames

    def _frame(self, data: bytes) -> None:
        frame = json.loads(data)
        if frame[0] == 2:  # the server asks something: we implement nothing
            self.send(json.dumps([4, frame[1], "NotImplemented", "", {}]))
            return
        waiter = self.waiter
        if waiter is not None and frame[1] == waiter[0] and not waiter[1].done():
            self.waiter = None
            waiter[1].set_result(frame)

    def send(self, text: str) -> None:
        if self.closed:
            raise ConnectionLost("connection closed")
        self.proto.send_text(text.encode())
        self._flush()

    def connection_lost(self, exc) -> None:
        self.closed = True
        error = ConnectionLost(f"connection lost: {exc or 'closed by server'}")
        if not self.opened.done():
            self.opened.set_exception(error)
        if self.waiter is not None and not self.waiter[1].done():
            self.waiter[1].set_exception(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()


class Charger:
    """One connection, one CALL in flight at a time (as OCPP requires)."""

    __slots__ = ("cp_id", "conn", "ids", "tx_id", "clock")

    def __init__(self, cp_id: str, conn: LeanConnection) -> None:
        self.cp_id = cp_id
        self.conn = conn
        self.ids = itertools.count(1)
        self.tx_id: int | None = None
        self.clock = datetime.now(UTC) - timedelta(days=1)

    async def call(self, action: str, payload: dict) -> dict:
        msg_id = str(next(self.ids))
        future = asyncio.get_running_loop().create_future()
        self.conn.waiter = (msg_id, future)
        self.conn.send(f'[2,"{msg_id}","{action}",{json.dumps(payload, separators=(",", ":"))}]')
        frame = await future
        if frame[0] == 4:
            raise CallFailed(f"{action}: {frame[2]} {frame[3]}")
        return frame[2]

    def tick(self) -> str:
        """A fresh, strictly increasing timestamp (readings are unique per time)."""
        self.clock += timedelta(milliseconds=1)
        return iso(self.clock)

    def boot(self) -> dict:
        return {"chargePointVendor": "LoadGen", "chargePointModel": "L1", "chargePointSerialNumber": self.cp_id[-25:]}

    def meter_values(self, wh: int) -> dict:
        payload = {
            "connectorId": 1,
            "meterValue": [
                {
                    "timestamp": self.tick(),
                    "sampledValue": [
                        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
                        {"value": "16.0", "measurand": "Current.Import", "unit": "A"},
                        {"value": "230.0", "measurand": "Voltage", "unit": "V"},
                    ],
                }
            ],
        }
        if self.tx_id is not None:
            payload["transactionId"] = self.tx_id
        return payload

    def status(self, status: str = "Available") -> dict:
        return {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": iso(datetime.now(UTC))}

    def start_tx(self, meter: int = 0) -> dict:
        return {"connectorId": 1, "idTag": f"L{self.cp_id[-18:]}", "meterStart": meter, "timestamp": self.tick()}

    def stop_tx(self, meter: int) -> dict:
        return {"transactionId": self.tx_id, "meterStop": meter, "timestamp": self.tick(), "reason": "Local"}


def basic_auth(cp_id: str, password: str) -> str:
    """The Authorization header of a charger (Security Profile 1: the charger
    id is the user name)."""
    return "Basic " + base64.b64encode(f"{cp_id}:{password}".encode()).decode("ascii")


async def connect(
    url: str,
    cp_id: str,
    *,
    boot: bool = True,
    status: bool = False,
    password: str | None = None,
    timeout: float = 60,
) -> Charger:
    """Open one charger's socket (with Basic auth if `password`), then send its
    BootNotification and, with `status`, a StatusNotification: it returns when
    the last of them was answered."""
    full = url.rstrip("/") + "/" + cp_id
    uri = parse_uri(full)
    loop = asyncio.get_running_loop()
    auth = basic_auth(cp_id, password) if password else None
    _, conn = await asyncio.wait_for(
        loop.create_connection(lambda: LeanConnection(full, auth), uri.host, uri.port), timeout
    )
    try:
        await asyncio.wait_for(conn.opened, timeout)
    except BaseException:
        conn.close()
        raise
    charger = Charger(cp_id, conn)
    if boot:
        try:
            await charger.call("BootNotification", charger.boot())
            if status:
                await charger.call("StatusNotification", charger.status())
        except BaseException:
            conn.close()
            raise
    return charger


async def connect_many(
    url: str,
    prefix: str,
    n: int,
    *,
    concurrency: int,
    rec: Recorder | None = None,
    boot: bool = True,
    status: bool = False,
    password: str | None = None,
    deadline: float = 120,
    ids: list[str] | None = None,
) -> list[Charger]:
    gate = asyncio.Semaphore(concurrency)
    chargers: list[Charger] = []

    names = ids if ids is not None else [f"{prefix}{i:05d}" for i in range(n)]

    async def one(name: str) -> None:
        async with gate:
            t0 = time.perf_counter()
            try:
                chargers.append(await connect(url, name, boot=boot, status=status, password=password))
            except Exception as error:
                if rec is not None:
                    rec.fail(error)
                return
            if rec is not None:
                rec.ok(time.perf_counter() - t0)

    await bounded((one(name) for name in names), deadline, rec, "connections")
    return chargers


def freeze_heap() -> None:
    """Move the connections set up so far out of the garbage collector's
    sight: a full collection over 10 000 connections pauses the client for
    hundreds of milliseconds, which would be reported as server latency."""
    gc.collect()
    gc.freeze()


async def close_all(chargers: list[Charger]) -> None:
    for c in chargers:
        c.conn.close()
    await asyncio.sleep(0.5)
