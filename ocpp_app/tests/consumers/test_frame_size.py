"""Frame size and kind: the byte limit (close 1009) and binary frames."""

import json

import pytest

from ocpp_app.models import (
    DataTransferRecord,
)
from ocpp_app.tests.helpers import (
    TIMEOUT,
    acount,
    charger_socket,
    communicator,
    heartbeat_still_answered,
    reply,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_closes_the_socket_with_1009_on_an_oversized_frame(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    await comm.send_to(text_data=json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": "x" * 300}]))
    closing = await comm.receive_output(timeout=TIMEOUT)
    await comm.disconnect()
    assert (closing["type"], closing.get("code")) == ("websocket.close", 1009)
    assert await acount(DataTransferRecord) == 0


async def test_it_counts_the_frame_limit_in_bytes(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    # 80 characters, 240 bytes in UTF-8.
    await comm.send_to(
        text_data=json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": "€" * 60}], ensure_ascii=False)
    )
    closing = await comm.receive_output(timeout=TIMEOUT)
    await comm.disconnect()
    assert (closing["type"], closing.get("code")) == ("websocket.close", 1009)


async def test_it_answers_a_frame_within_the_limit(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    async with charger_socket() as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_accepts_a_binary_utf8_frame():
    async with charger_socket() as comm:
        await comm.send_to(bytes_data=b'[2,"b1","Heartbeat",{}]')
        assert (await reply(comm))[:2] == [3, "b1"]
