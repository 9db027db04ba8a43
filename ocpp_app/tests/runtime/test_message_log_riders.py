"""Message-log rows ride in the group-commit batch of the data they describe."""

import json
from datetime import UTC, datetime

import pytest

from ocpp_app.models import Charger, MessageLog
from ocpp_app.runtime import group_commit
from ocpp_app.runtime.message_log import get_writer
from ocpp_app.tests.helpers import acount, aget_charger, charger_socket, raw

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_frames_row_is_committed_before_its_answer(settings):
    settings.OCPP_LOG_FLUSH_INTERVAL = 3600  # no timer may have written it
    async with charger_socket() as comm:
        answer = await raw(comm, json.dumps([2, "m1", "Heartbeat", {}]))
        assert answer[0] == 3
        assert await acount(MessageLog, direction="in", action="Heartbeat", message_id="m1") == 1


async def test_rows_of_a_batch_that_never_reached_the_database_are_written_later(monkeypatch, settings):
    settings.OCPP_LOG_FLUSH_INTERVAL = 3600
    real_execute = group_commit._execute
    failures = iter([ConnectionError("database unreachable")])

    def flaky_execute(calls, riding):
        for error in failures:
            raise error
        return real_execute(calls, riding)

    monkeypatch.setattr(group_commit, "_execute", flaky_execute)
    writer = get_writer()
    writer.add(charger_id="CP9", direction="in", message_type=2, action="Heartbeat", message_id="x1", payload={})
    with pytest.raises(ConnectionError):
        await group_commit.run(lambda: None)
    assert await acount(MessageLog, message_id="x1") == 0
    await writer.flush()
    assert await acount(MessageLog, message_id="x1") == 1


async def test_any_message_marks_its_charger_seen():
    old = datetime(2020, 1, 1, tzinfo=UTC)
    async with charger_socket() as comm:
        await Charger.objects.filter(charger_id="CP1").aupdate(last_seen=old)
        status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
        await raw(comm, json.dumps([2, "m1", "StatusNotification", status]))
        await get_writer().flush()
        assert (await aget_charger()).last_seen > old
