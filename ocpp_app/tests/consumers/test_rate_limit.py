"""A charger over its CALL rate: the excess answered GenericError without
running its handler, only the first refusal of a streak logged, and a
charger flooding far beyond the limit closed with 1008."""

import json

import pytest

from ocpp_app.models import Charger
from ocpp_app.tests.helpers import acount, charger_socket, flushed_log_rows, reply

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limit(settings):
    settings.OCPP_RATE_LIMIT = 1.0
    settings.OCPP_RATE_BURST = 5
    settings.OCPP_RATE_CLOSE_AFTER = 20


def heartbeat(n: int) -> str:
    return json.dumps([2, f"hb{n}", "Heartbeat", {}])


async def test_calls_beyond_the_burst_are_answered_generic_error_and_logged_once(limit):
    async with charger_socket() as comm:
        for n in range(10):
            await comm.send_to(text_data=heartbeat(n))
        answers = [await reply(comm) for _ in range(10)]
        rows = await flushed_log_rows(charger_id="CP1")
    assert [a[0] for a in answers] == [3] * 5 + [4] * 5
    assert {a[2] for a in answers[5:]} == {"GenericError"}
    assert "Rate limit exceeded" in answers[5][3]
    # Five answered (in and out), and the first refusal (in and out) only.
    assert [(r.direction, r.message_id) for r in rows][-2:] == [("in", "hb5"), ("out", "hb5")]
    assert len(rows) == 12


async def test_a_refused_call_runs_no_handler(limit):
    async with charger_socket() as comm:
        for n in range(5):
            await comm.send_to(text_data=heartbeat(n))
        for _ in range(5):
            await reply(comm)
        boot = [2, "boot", "BootNotification", {"chargePointVendor": "Flood", "chargePointModel": "X"}]
        await comm.send_to(text_data=json.dumps(boot))
        assert (await reply(comm))[2] == "GenericError"
    assert await acount(Charger, charger_id="CP1", vendor="Flood") == 0


async def test_a_charger_flooding_far_beyond_the_limit_is_closed_with_1008(limit):
    async with charger_socket() as comm:
        for n in range(40):
            await comm.send_to(text_data=heartbeat(n))
        frames = []
        while True:
            output = await comm.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
            frames.append(json.loads(output["text"]))
    assert output["code"] == 1008
    assert sum(1 for f in frames if f[0] == 4) == 21  # refused until the excess passed 20


async def test_no_limit_when_the_rate_is_zero(settings):
    settings.OCPP_RATE_LIMIT = 0
    settings.OCPP_RATE_BURST = 1
    async with charger_socket() as comm:
        for n in range(50):
            await comm.send_to(text_data=heartbeat(n))
        answers = [await reply(comm) for _ in range(50)]
    assert {a[0] for a in answers} == {3}
