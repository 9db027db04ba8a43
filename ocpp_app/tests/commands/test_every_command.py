"""Every central-system command through the REST API to a real `ocpp`-library
charge point on a real server process: answered, CALLERROR, time-out and not
connected."""

import asyncio
import json
import re

import pytest
import websockets

from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.ocpp import framing
from ocpp_app.services.commands import CSMS_ACTIONS
from ocpp_app.tests.commands.samples import ANSWERS, SAMPLES
from ocpp_app.tests.helpers import connected_charge_point, wait_connected

pytestmark = pytest.mark.e2e


def test_it_has_a_sample_for_every_action_and_the_samples_are_valid():
    assert set(SAMPLES) == set(CSMS_ACTIONS)
    assert len(CSMS_ACTIONS) == 26
    for action, (request, answer) in SAMPLES.items():
        framing.validate(2, action, request)
        framing.validate(3, action, answer)


async def _commands(charger_id: str) -> list[Command]:
    return [c async for c in Command.objects.filter(charger__charger_id=charger_id).order_by("id")]


async def test_every_command_reaches_an_answering_charger(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "CMD-ALL"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        for action in CSMS_ACTIONS:
            request, answer = SAMPLES[action]
            status, body = await api.action(cid, action, request)
            assert status == 200, (action, body)
            assert body["action"] == action
            assert body["request"] == request
            assert body["response"] == answer, action
            assert cp.received[-1][0] == action
        for task in cp.later:
            await task
    commands = await _commands(cid)
    assert [c.action for c in commands] == list(CSMS_ACTIONS)
    assert all(c.status == CommandStatus.OK and c.duration_ms is not None for c in commands)
    assert commands[0].source == "api" and commands[0].created_by_id is not None
    assert commands[0].response == {"status": "Accepted"}


async def test_snake_case_forms_and_short_aliases_are_accepted(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "CMD-ALIAS"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        status, body = await api.action(cid, "reset")
        assert status == 200, body
        assert body["action"] == "Reset" and body["request"] == {"type": "Soft"}
        status, body = await api.action(cid, "reset", {"type": "Hard"})
        assert status == 200 and body["request"] == {"type": "Hard"}
        status, body = await api.action(cid, "get_configuration", {})
        assert status == 200 and body["action"] == "GetConfiguration"
        status, body = await api.action(cid, "trigger_message", {"requestedMessage": "Heartbeat"})
        assert status == 200 and body["action"] == "TriggerMessage"
    assert [a for a, _ in cp.received] == ["Reset", "Reset", "GetConfiguration", "TriggerMessage"]
    assert cp.received[0][1] == {"type": "Soft"}


@pytest.mark.parametrize("action", CSMS_ACTIONS)
def test_every_command_to_a_charger_that_is_not_connected_is_409(action, api_client):
    Charger.objects.create(charger_id="OFF1")
    response = api_client.post(
        "/ocpp/chargers/OFF1/action/", {"action": action, "payload": SAMPLES[action][0]}, format="json"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["status"] == "not_connected"
    command = Command.objects.get(charger__charger_id="OFF1")
    assert command.action == action and command.status == CommandStatus.NOT_CONNECTED


async def test_every_command_answered_with_a_callerror_is_502(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "CMD-ERR"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid):
        await wait_connected(cid)
        for action in CSMS_ACTIONS:
            status, body = await api.action(cid, action, SAMPLES[action][0])
            assert status == 502, (action, body)
            assert body["status"] == "call_error"
            assert body["error_code"] == "NotImplemented", body
            assert body["error_description"] == "Request Action is recognized but not supported by the receiver"
            assert action in str(body["error_details"])
    commands = await _commands(cid)
    assert len(commands) == len(CSMS_ACTIONS)
    assert {c.status for c in commands} == {CommandStatus.CALL_ERROR}
    assert commands[0].error_code == "NotImplemented"


async def test_every_command_to_a_silent_charger_is_504(live_ocpp_server, api_for):
    """A per-request timeout keeps this fast; the server default is tested below."""
    api = await api_for(live_ocpp_server)
    cid = "CMD-SILENT"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, silent=True):
        await wait_connected(cid)
        for action in CSMS_ACTIONS:
            status, body = await api.action(cid, action, SAMPLES[action][0], timeout=0.3)
            assert status == 504, (action, body)
            assert body["status"] == "timeout"
    commands = await _commands(cid)
    assert {c.status for c in commands} == {CommandStatus.TIMEOUT}
    assert len(commands) == len(CSMS_ACTIONS)


async def test_it_times_out_after_ocpp_call_timeout(server_factory, api_for):
    server = server_factory(OCPP_CALL_TIMEOUT="1")
    api = await api_for(server)
    cid = "CMD-SILENT2"
    async with connected_charge_point(f"{server.ws_url}/ocpp/{cid}", cid, silent=True):
        await wait_connected(cid)
        status, body = await api.action(cid, "ClearCache", {})
        # The charger is still there, and the one-CALL-at-a-time slot is free again.
        status2, _ = await api.action(cid, "Reset", {"type": "Soft"})
    assert status == 504 and body["detail"] == "Charger did not answer in time"
    assert status2 == 504
    command = await Command.objects.filter(charger__charger_id=cid).afirst()
    assert command.status == CommandStatus.TIMEOUT
    # The charger's silence is a warning about the charger, not a server error.
    log = server.log_text()
    assert re.search(rf"WARNING ocpp_app.commands command \d+ ClearCache to {cid}: timeout", log), log
    assert "django.request" not in log and "Gateway Timeout" not in log


def test_a_schema_violation_is_400_and_never_sent(api_client):
    Charger.objects.create(charger_id="C400", connected=True, channel_name="nowhere")
    response = api_client.post(
        "/ocpp/chargers/C400/action/", {"action": "Reset", "payload": {"type": "Sideways"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "PropertyConstraintViolation"
    assert "type" in response.json()["detail"]
    command = Command.objects.get()  # on record, never sent
    assert command.status == CommandStatus.INVALID and command.error_code == "PropertyConstraintViolation"
    assert command.request == {"type": "Sideways"} and command.action == "Reset"
    assert response.json()["command_id"] == command.pk


def test_an_unknown_action_is_400(api_client):
    Charger.objects.create(charger_id="C400b")
    response = api_client.post("/ocpp/chargers/C400b/action/", {"action": "BootNotification"}, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "UnknownAction"


async def test_an_answer_that_fails_the_schema_is_502(live_ocpp_server, api_for):
    """A raw socket, because the library refuses to send an invalid answer."""
    api = await api_for(live_ocpp_server)
    cid = "CMD-BOGUS"
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/{cid}", subprotocols=["ocpp1.6"]) as ws:
        await wait_connected(cid)
        request = asyncio.create_task(api.action(cid, "Reset", {"type": "Soft"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        assert frame[0] == 2 and frame[2] == "Reset" and frame[3] == {"type": "Soft"}
        await ws.send(json.dumps([3, frame[1], {"status": "Maybe"}]))
        status, body = await request
    assert status == 502, body
    assert body["status"] == "invalid_response" and body["error_code"] == "InvalidResponse"
    command = await Command.objects.aget(charger__charger_id=cid)
    assert command.status == CommandStatus.CALL_ERROR and command.error_code == "InvalidResponse"
