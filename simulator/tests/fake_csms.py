"""A small central system for driving the simulator in tests: `websockets.serve`
with the `ocpp` library's ChargePoint playing the CSMS. It records every CALL
it receives and lets a test send commands with `call(..., suppress=False)`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import UTC, datetime

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import Action


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakeCentralSystem(ChargePoint):
    def __init__(self, cp_id, connection, csms: FakeCSMS) -> None:
        super().__init__(cp_id, connection, response_timeout=5)
        self.csms = csms

    def _record(self, action: str, payload: dict) -> None:
        self.csms.received.append((action, payload))
        self.csms.changed.set()

    @on(Action.boot_notification)
    def on_boot(self, **kw):
        self._record("BootNotification", kw)
        status = self.csms.boot_statuses.pop(0) if self.csms.boot_statuses else "Accepted"
        interval = self.csms.heartbeat_interval if status == "Accepted" else self.csms.retry_interval
        return call_result.BootNotification(current_time=now_iso(), interval=interval, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self, **kw):
        self._record("Heartbeat", kw)
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    def on_status(self, **kw):
        self._record("StatusNotification", kw)
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, id_tag, **kw):
        self._record("Authorize", {"id_tag": id_tag, **kw})
        return call_result.Authorize(id_tag_info={"status": self.csms.tag_status.get(id_tag, "Accepted")})

    @on(Action.start_transaction)
    def on_start(self, **kw):
        self._record("StartTransaction", kw)
        return call_result.StartTransaction(
            transaction_id=next(self.csms.tx_ids),
            id_tag_info={"status": self.csms.tag_status.get(kw["id_tag"], "Accepted")},
        )

    @on(Action.meter_values)
    def on_meter_values(self, **kw):
        self._record("MeterValues", kw)
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    def on_stop(self, **kw):
        self._record("StopTransaction", kw)
        return call_result.StopTransaction()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics(self, **kw):
        self._record("DiagnosticsStatusNotification", kw)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    def on_firmware(self, **kw):
        self._record("FirmwareStatusNotification", kw)
        return call_result.FirmwareStatusNotification()


class FakeCSMS:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.changed = asyncio.Event()
        self.connections: asyncio.Queue[FakeCentralSystem] = asyncio.Queue()
        self.current: FakeCentralSystem | None = None
        self.boot_statuses: list[str] = []
        self.heartbeat_interval = 300
        self.retry_interval = 1
        self.tag_status: dict[str, str] = {}
        self.tx_ids = itertools.count(101)
        self.server = None
        self.port = 0
        self.sockets: list = []

    async def _handler(self, ws) -> None:
        cp = FakeCentralSystem(ws.request.path.rstrip("/").rsplit("/", 1)[-1], ws, self)
        self.current = cp
        self.sockets.append(ws)
        await self.connections.put(cp)
        with contextlib.suppress(websockets.ConnectionClosed):
            await cp.start()

    async def start(self, port: int = 0) -> None:
        self.server = await websockets.serve(
            self._handler, "127.0.0.1", port, subprotocols=["ocpp1.6"], compression=None
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for ws in self.sockets:
                ws.transport.abort()
            self.sockets.clear()
            await self.server.wait_closed()
            self.server = None

    def actions(self, name: str | None = None) -> list:
        return [p for a, p in self.received if a == name] if name else [a for a, _ in self.received]

    async def wait_for(self, predicate, timeout: float = 10) -> None:
        async def loop():
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)
