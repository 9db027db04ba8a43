"""The AuthorizationKey (a charger's Basic-auth password) never reaches a
command record, an operator's answer or the stored configuration, whatever
its spelling and however the charger answered."""

import pytest

from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.ocpp import commands
from ocpp_app.services import commands as svc
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.services.secrets import REDACTED, redact, secret_verify
from ocpp_app.tests.helpers import create_charger

pytestmark = pytest.mark.django_db

SECRET = "SuperSecretKey123456"


def connected_charger(charger_id: str) -> Charger:
    return create_charger(charger_id, connected=True, channel_name="chan-" + charger_id)


def answer_with(monkeypatch, outcome: commands.CallOutcome) -> None:
    async def fake_call_charger(channel_name, action, payload, *, timeout, charger_id, command_id=None):
        return outcome

    monkeypatch.setattr(commands, "call_charger", fake_call_charger)


def test_an_authorization_key_a_charger_reports_is_kept_out_of_the_command_and_the_answer(monkeypatch):
    connected_charger("R1")
    keys = [
        {"key": "AuthorizationKey", "readonly": False, "value": SECRET},
        {"key": "HeartbeatInterval", "value": "60"},
    ]
    answer_with(monkeypatch, commands.CallOutcome(status=CommandStatus.OK, payload={"configurationKey": keys}))
    result = commands.send_command(charger_id="R1", action="GetConfiguration", payload={})
    stored = Command.objects.get(pk=result.command_id)
    assert SECRET not in str(result.response) and SECRET not in str(stored.response)
    assert SECRET not in str(Charger.objects.get(charger_id="R1").config)
    assert {"key": "HeartbeatInterval", "value": "60"} in result.response["configurationKey"]


def test_an_invalid_answer_carrying_the_key_is_redacted_too(monkeypatch):
    connected_charger("R2")
    details = {"response": {"configurationKey": [{"key": "authorizationkey", "value": SECRET, "bogus": 1}]}}
    answer_with(
        monkeypatch,
        commands.CallOutcome(status="invalid_response", error_code="InvalidResponse", error_details=details),
    )
    result = commands.send_command(charger_id="R2", action="GetConfiguration", payload={})
    assert SECRET not in str(result.error_details)
    assert SECRET not in Command.objects.get(pk=result.command_id).error_description


@pytest.mark.parametrize("spelling", ["authorizationkey", "AUTHORIZATIONKEY", "AuthorizationKey"])
def test_any_spelling_of_authorization_key_is_checked_redacted_and_rotates_the_password(spelling):
    charger = Charger.objects.create(charger_id="R3")
    charger_set_password(charger_id="R3", password="the-old-password-1")
    with pytest.raises(svc.BadCommand):
        svc.command_precheck(charger=charger, action="ChangeConfiguration", payload={"key": spelling, "value": "short"})
    request = {"key": spelling, "value": "the-new-password-2"}
    assert redact("ChangeConfiguration", request)["value"] == REDACTED
    command = svc.command_prepare(
        charger_id="R3", action="ChangeConfiguration", payload=request, schema=commands.check_schema
    )
    svc.command_finish(
        prepared=command, outcome=svc.CallOutcome(status=CommandStatus.OK, payload={"status": "Accepted"})
    )
    charger.refresh_from_db()
    assert secret_verify(password="the-new-password-2", password_hash=charger.password_hash)
    assert "the-new-password-2" not in str(charger.config)
