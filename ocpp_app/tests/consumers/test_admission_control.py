"""Reconnect storms: at most OCPP_HANDSHAKE_CONCURRENCY handshakes of a
process in the database stage at once; the others wait their turn and all
get in."""

import asyncio

import pytest

from ocpp_app import consumers
from ocpp_app.services import chargers
from ocpp_app.tests.helpers import TIMEOUT, communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def test_handshakes_beyond_the_limit_wait_and_all_get_in(settings, monkeypatch):
    settings.OCPP_HANDSHAKE_CONCURRENCY = 2
    # A fresh per-loop table, so the semaphore is made with the setting above.
    monkeypatch.setattr(consumers, "_handshake_slots", type(consumers._handshake_slots)(consumers._new_handshake_slots))
    in_flight, most = 0, 0
    real_commit = consumers.commit

    async def counting_commit(fn, /, **kwargs):
        nonlocal in_flight, most
        if fn is not chargers.charger_admit:
            return await real_commit(fn, **kwargs)
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.05)  # long enough for the others to pile up
            return await real_commit(fn, **kwargs)
        finally:
            in_flight -= 1

    monkeypatch.setattr(consumers, "commit", counting_commit)
    comms = [communicator(f"/ocpp/STORM{n}") for n in range(6)]
    results = await asyncio.gather(*(comm.connect(timeout=TIMEOUT) for comm in comms))
    for comm in comms:
        await comm.disconnect()
    assert [connected for connected, _ in results] == [True] * 6
    assert most == 2
