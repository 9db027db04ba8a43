"""A flood over a real socket: 20 000 pipelined Heartbeats from one charger are
refused beyond its rate limit and close it, while another charger is still
answered at once."""

import asyncio
import contextlib
import json
import time

import pytest
import websockets

pytestmark = pytest.mark.e2e

FLOOD = 20_000


async def test_a_flooding_charger_is_refused_and_closed_while_others_are_answered(server_factory):
    server = server_factory(OCPP_RATE_LIMIT="20", OCPP_RATE_BURST="100", OCPP_RATE_CLOSE_AFTER="1000")
    url = server.ws_url + "/ocpp16/"
    async with (
        websockets.connect(url + "FLOOD", subprotocols=["ocpp1.6"], max_queue=None) as flooder,
        websockets.connect(url + "CALM", subprotocols=["ocpp1.6"]) as calm,
    ):
        await calm.send(json.dumps([2, "warm", "Heartbeat", {}]))
        assert json.loads(await calm.recv())[:2] == [3, "warm"]
        frames = [json.dumps([2, f"f{n}", "Heartbeat", {}]) for n in range(FLOOD)]

        async def flood() -> None:
            for start in range(0, FLOOD, 500):
                for text in frames[start : start + 500]:
                    await flooder.send(text)
                await asyncio.sleep(0)

        async def answers() -> list:
            got = []
            try:
                async for text in flooder:
                    got.append(json.loads(text))
            except websockets.ConnectionClosed:
                pass
            return got

        collecting = asyncio.create_task(answers())
        sending = asyncio.create_task(flood())
        worst = 0.0
        for n in range(20):
            started = time.monotonic()
            await calm.send(json.dumps([2, f"c{n}", "Heartbeat", {}]))
            assert json.loads(await asyncio.wait_for(calm.recv(), 5))[:2] == [3, f"c{n}"]
            worst = max(worst, time.monotonic() - started)
            await asyncio.sleep(0.05)
        got = await asyncio.wait_for(collecting, 30)  # ends when the server closes the flooder
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(sending, 30)
    accepted = [frame for frame in got if frame[0] == 3]
    refused = [frame for frame in got if frame[0] == 4]
    assert flooder.close_code == 1008
    assert refused and {frame[2] for frame in refused} == {"GenericError"}
    assert 100 <= len(accepted) < 1000  # the burst and the rate, far from the flood
    assert len(got) < FLOOD  # closed long before its end
    assert worst < 2.0, f"the calm charger waited {worst:.2f} s"


async def test_a_charger_that_waits_for_each_answer_is_never_rate_limited(server_factory):
    """An offline queue replayed one CALL at a time, far above the rate: every
    CALL is answered, none refused (only pipelined CALLs count)."""
    server = server_factory(OCPP_RATE_LIMIT="2", OCPP_RATE_BURST="2", OCPP_RATE_CLOSE_AFTER="5")
    async with websockets.connect(server.ws_url + "/ocpp16/REPLAY", subprotocols=["ocpp1.6"]) as charger:
        kinds = []
        for n in range(60):
            await charger.send(json.dumps([2, f"r{n}", "Heartbeat", {}]))
            answer = json.loads(await asyncio.wait_for(charger.recv(), 5))
            assert answer[1] == f"r{n}"
            kinds.append(answer[0])
    assert kinds == [3] * 60
