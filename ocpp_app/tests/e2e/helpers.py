"""A real OCPP 1.6 charge point (the `ocpp` library over `websockets`) for
end-to-end tests."""

import asyncio
import contextlib

import websockets
from ocpp.v16 import ChargePoint as LibraryChargePoint


class ClientChargePoint(LibraryChargePoint):
    """The library's charge point; handlers for CSMS commands are added by tests."""


@contextlib.asynccontextmanager
async def connected_charge_point(url: str, charger_id: str, *, subprotocols=("ocpp1.6",), cls=ClientChargePoint, **kw):
    async with websockets.connect(url, subprotocols=list(subprotocols) or None, **kw) as ws:
        cp = cls(charger_id, ws)
        task = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
