"""Operator CALLs: secrets stay out of the message log, and a command whose
operator stopped waiting is never sent late."""

import asyncio
import json
import time

import pytest

from ocpp_app.models import MessageLog
from ocpp_app.runtime.message_log import get_writer
from ocpp_app.services.secrets import REDACTED
from ocpp_app.tests.helpers import FakeSocket, answer_next_call

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_keeps_a_new_authorization_key_out_of_the_message_log():
    connection = FakeSocket("SECRET1")
    cp = connection.cp
    call = asyncio.create_task(
        cp.call_action("ChangeConfiguration", {"key": "AuthorizationKey", "value": "0123456789abcdef"})
    )
    await answer_next_call(connection, lambda message_id: [3, message_id, {"status": "Accepted"}])
    assert await call == {"status": "Accepted"}
    assert connection.sent[0][3]["value"] == "0123456789abcdef"  # the charger gets the key...
    await get_writer().flush()
    logged = [row.payload async for row in MessageLog.objects.filter(charger_id="SECRET1")]
    assert {"key": "AuthorizationKey", "value": REDACTED} in logged  # ...the log does not
    assert "0123456789abcdef" not in json.dumps(logged)


async def test_it_redacts_an_authorization_key_a_charger_reports_in_get_configuration():
    connection = FakeSocket("SECRET2")
    cp = connection.cp
    call = asyncio.create_task(cp.call_action("GetConfiguration", {}))
    keys = [
        {"key": "AuthorizationKey", "readonly": False, "value": "fedcba9876543210"},
        {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
    ]
    await answer_next_call(connection, lambda message_id: [3, message_id, {"configurationKey": keys}])
    assert (await call)["configurationKey"] == keys
    await get_writer().flush()
    logged = json.dumps([row.payload async for row in MessageLog.objects.filter(charger_id="SECRET2")])
    assert "fedcba9876543210" not in logged and '"60"' in logged


async def test_it_never_sends_a_command_whose_deadline_passed_while_it_waited_its_turn():
    connection = FakeSocket("QUEUE1")
    cp = connection.cp
    first = asyncio.create_task(cp.call_action("ClearCache", {}, timeout=5))
    while not connection.sent:
        await asyncio.sleep(0.01)
    # The operator of the second command gives up 1.2 s from now; the first
    # CALL holds the line longer than that.
    second = asyncio.create_task(cp.call_action("Reset", {"type": "Soft"}, deadline=time.time() + 1.2))
    await asyncio.sleep(1.5)
    await cp.route_message(json.dumps([3, connection.sent[0][1], {"status": "Accepted"}]))
    assert await first == {"status": "Accepted"}
    with pytest.raises(TimeoutError):
        await second
    assert [frame[2] for frame in connection.sent] == ["ClearCache"]


async def test_it_sends_a_command_whose_deadline_is_ahead():
    connection = FakeSocket("QUEUE2")
    cp = connection.cp
    call = asyncio.create_task(cp.call_action("Reset", {"type": "Soft"}, deadline=time.time() + 30))
    await answer_next_call(connection, lambda message_id: [3, message_id, {"status": "Accepted"}])
    assert await call == {"status": "Accepted"}
