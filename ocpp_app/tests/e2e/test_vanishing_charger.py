"""A charger that vanishes while its CALL is being answered (its socket reset
right after the frame, as a charger losing power does): the server still
runs its clean-up, so the charger shows offline at once, and a charger that
comes back is admitted without a takeover wait."""

import json
import time

import pytest
import websockets

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import wait_connected

pytestmark = pytest.mark.e2e


async def test_a_charger_gone_before_its_answer_is_marked_offline(live_ocpp_server):
    url = f"{live_ocpp_server.ws_url}/ocpp/VANISH1"
    for attempt in range(5):
        ws = await websockets.connect(url, subprotocols=["ocpp1.6"])
        if attempt == 0:
            await ws.send(
                json.dumps([2, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
            )
            assert json.loads(await ws.recv())[0] == 3
        await wait_connected("VANISH1")
        # The frame and the reset leave together: the server reads both
        # before its answer is written.
        await ws.send(json.dumps([2, f"hb{attempt}", "Heartbeat", {}]))
        ws.transport.abort()
        charger = await wait_connected("VANISH1", connected=False, timeout=5)
        assert not charger.connected
    started = time.monotonic()
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as back:
        await back.send(json.dumps([2, "again", "Heartbeat", {}]))
        assert json.loads(await back.recv())[:2] == [3, "again"]
    assert time.monotonic() - started < 2  # no takeover probe of a dead socket
    assert "Exception in ASGI application" not in live_ocpp_server.log_text()
    assert (await Charger.objects.aget(charger_id="VANISH1")).disconnected_at is not None
