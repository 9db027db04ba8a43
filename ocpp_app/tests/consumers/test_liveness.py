"""Disconnects: a charger is marked offline and unregistered when its socket
closes, whatever else fails."""

import pytest
from django.db import OperationalError

from ocpp_app import consumers
from ocpp_app.runtime.message_log import MessageLogWriter
from ocpp_app.tests.helpers import (
    TIMEOUT,
    aget_charger,
    charger_socket,
    communicator,
    with_ping,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_marks_the_charger_offline_on_disconnect():
    async with charger_socket():
        pass
    stored = await aget_charger()
    assert (stored.connected, stored.disconnected_at is not None) == (False, True)


async def test_it_marks_the_charger_offline_when_the_newest_connection_closes():
    first = with_ping(communicator(), answers=False)
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    await second.disconnect()
    assert (await aget_charger()).connected is False
    assert "CP1" not in consumers.LIVE


async def test_it_unregisters_a_charger_even_when_its_log_cannot_be_written(monkeypatch):
    async def broken_flush(self):
        raise OperationalError("database is unavailable")

    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    monkeypatch.setattr(MessageLogWriter, "flush", broken_flush)
    await comm.disconnect()
    assert "CP1" not in consumers.LIVE
    assert (await aget_charger()).connected is False
