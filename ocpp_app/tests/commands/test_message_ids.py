"""A command's record names the CALL it sent: Command.message_id is the
unique id of the frame in the message log, so the admin finds a command by
the id seen in the log. A CALL that was never sent has none."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from ocpp_app.models import Command, CommandStatus
from ocpp_app.ocpp.commands import send_command
from ocpp_app.tests.helpers import charger_socket, flushed_log_rows, operator_call, reply, wait_connected


async def _send(**kwargs):
    # send_command is sync (views, admin actions); the charger's socket runs on this loop.
    return await sync_to_async(send_command, thread_sensitive=False)(**kwargs)


@pytest.mark.django_db(transaction=True)
async def test_it_records_the_message_id_of_the_call_it_sent():
    async with charger_socket() as comm:
        await wait_connected("CP1")
        command = asyncio.ensure_future(_send(charger_id="CP1", action="Reset", payload={"type": "Soft"}))
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        result = await command
    assert result.ok
    recorded = await Command.objects.aget(pk=result.command_id)
    assert recorded.message_id == sent[1]
    logged = await flushed_log_rows(charger_id="CP1", message_id=sent[1])
    assert [(row.message_type, row.action) for row in logged] == [(2, "Reset"), (3, "Reset")]


@pytest.mark.django_db(transaction=True)
async def test_a_call_that_timed_out_after_sending_keeps_its_message_id():
    async with charger_socket() as comm:
        await wait_connected("CP1")
        command = asyncio.ensure_future(_send(charger_id="CP1", action="ClearCache", payload={}, timeout=0.3))
        sent = await reply(comm)
        result = await command
    assert result.status == CommandStatus.TIMEOUT
    assert (await Command.objects.aget(pk=result.command_id)).message_id == sent[1]


@pytest.mark.django_db(transaction=True)
async def test_a_call_dropped_at_its_deadline_answers_without_a_message_id():
    async with charger_socket():
        reply_channel = await operator_call("ClearCache", {}, timeout=5, deadline=time.time() - 1)
        answer = await asyncio.wait_for(get_channel_layer().receive(reply_channel), 5)
    assert answer["status"] == "timeout"
    assert "message_id" not in answer
