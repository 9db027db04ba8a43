"""The sink endpoint: answers every CALL with an empty result and stores
nothing (a load-test baseline)."""

import pytest

from ocpp_app.models import (
    Charger,
    MessageLog,
)
from ocpp_app.runtime.message_log import get_writer
from ocpp_app.tests.helpers import (
    BOOT,
    TIMEOUT,
    acount,
    call,
    communicator,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_every_call_on_the_sink_with_an_empty_result():
    comm = communicator("/ws/sink/")
    connected, _ = await comm.connect(timeout=TIMEOUT)
    answer = await call(comm, "WhateverAction", {"x": 1}, message_id="s1")
    await comm.disconnect()
    assert (connected, answer) == (True, [3, "s1", {}])


async def test_it_stores_nothing_from_the_sink():
    comm = communicator("/ws/sink/")
    await comm.connect(timeout=TIMEOUT)
    await call(comm, "BootNotification", BOOT)
    await comm.disconnect()
    await get_writer().flush()
    assert (await acount(Charger), await acount(MessageLog)) == (0, 0)


async def test_it_keeps_the_sink_open_after_garbage():
    comm = communicator("/ws/sink/")
    await comm.connect(timeout=TIMEOUT)
    await comm.send_to(text_data="not json")
    answer = await call(comm, "Heartbeat", {}, message_id="s2")
    await comm.disconnect()
    assert answer == [3, "s2", {}]
