"""Handshake and session rules of the security work, in process: files only
for known chargers, an operator's Rejected enforced at once, an
AuthorizationKey answered after its time-out still stored, the security
profile a charger accepted kept and enforced."""

import asyncio
import json
import secrets

import pytest
from asgiref.sync import sync_to_async

from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.ocpp.commands import send_command
from ocpp_app.runtime.charger_log import flush_charger_logs
from ocpp_app.services.secrets import secret_verify
from ocpp_app.tests.helpers import (
    BOOT,
    PASSWORD,
    TIMEOUT,
    acreate_charger,
    aget_charger,
    api_client_for,
    basic,
    call,
    charger_socket,
    communicator,
    create_staff,
    reply,
    wait_connected,
)

pytestmark = pytest.mark.django_db(transaction=True)
NEW_KEY = "brand-new-key-0123456789"


async def _send(**kwargs):
    # send_command is sync (views, admin actions); the charger's socket runs on this loop.
    return await sync_to_async(send_command, thread_sensitive=False)(**kwargs)


async def refused(path: str, **kw) -> bool:
    comm = communicator(path, **kw)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    return connected is False


async def test_two_hundred_refused_random_ids_create_no_log_file(settings, tmp_path):
    settings.OCPP_UNKNOWN_CHARGERS = "reject"
    for _ in range(200):
        assert await refused(f"/ocpp/X{secrets.token_hex(6)}")
    assert await refused("/ocpp/CP%2F1", raw_path=b"/ocpp/CP%2F1")  # a bad id (400)
    assert await refused("/ocpp/ODD", subprotocols=["ocpp2.0.1"])  # a bad subprotocol (400)
    await sync_to_async(flush_charger_logs)()
    assert sorted(path.name for path in tmp_path.glob("charger.*.log")) == []


async def test_failed_auth_of_an_unknown_charger_creates_no_file_but_a_known_one_logs_why(settings, tmp_path):
    settings.OCPP_REQUIRE_AUTH = True
    await acreate_charger("KNOWN1", password=PASSWORD)
    assert await refused("/ocpp/STRANGER1", headers=basic("STRANGER1", "wrong-password-0000"))
    assert await refused("/ocpp/KNOWN1", headers=basic("KNOWN1", "wrong-password-0000"))
    await sync_to_async(flush_charger_logs)()
    assert [path.name for path in tmp_path.glob("charger.*.log")] == ["charger.KNOWN1.log"]
    assert "missing or wrong credentials (401)" in (tmp_path / "charger.KNOWN1.log").read_text()
    assert "wrong-password" not in (tmp_path / "charger.KNOWN1.log").read_text()


async def test_a_charger_set_to_rejected_by_an_operator_gets_security_error_at_its_next_call():
    staff = await sync_to_async(create_staff)()
    api = await sync_to_async(api_client_for)(staff)
    async with charger_socket() as comm:
        await wait_connected("CP1")
        assert (await call(comm, "Heartbeat", {}, "h1"))[0] == 3
        response = await sync_to_async(api.patch)(
            "/ocpp/chargers/CP1/", {"registration_status": "Rejected"}, format="json"
        )
        assert response.status_code == 200
        start = {"connectorId": 1, "idTag": "T1", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"}
        answers = []
        for _ in range(50):  # the notice crosses the channel layer: at most a moment
            answers.append(await call(comm, "StartTransaction", start, "s1"))
            if answers[-1][0] == 4:
                break
            await asyncio.sleep(0.02)
        boot = await call(comm, "BootNotification", BOOT, "b1")
    assert answers[-1][:3] == [4, "s1", "SecurityError"]
    assert len(answers) <= 2  # at once, not after a reconnect or a boot
    assert boot[2]["status"] == "Rejected"


async def test_an_authorization_key_accepted_after_the_time_out_is_still_stored(fast_hasher):
    await acreate_charger(password=PASSWORD)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        await wait_connected("CP1")
        payload = {"key": "AuthorizationKey", "value": NEW_KEY}
        command = asyncio.ensure_future(
            _send(charger_id="CP1", action="ChangeConfiguration", payload=payload, timeout=0.3)
        )
        sent = await reply(comm)
        result = await command
        assert result.status == CommandStatus.TIMEOUT
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        for _ in range(100):
            stored = await Command.objects.aget(pk=result.command_id)
            if stored.status == CommandStatus.OK:
                break
            await asyncio.sleep(0.02)
    charger = await aget_charger()
    assert stored.status == CommandStatus.OK and stored.response == {"status": "Accepted"}
    assert secret_verify(password=NEW_KEY, password_hash=charger.password_hash)
    assert not secret_verify(password=PASSWORD, password_hash=charger.password_hash)
    assert NEW_KEY not in json.dumps(stored.request)


async def test_a_late_answer_to_a_rejected_key_change_keeps_the_old_key(fast_hasher):
    await acreate_charger(password=PASSWORD)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        await wait_connected("CP1")
        payload = {"key": "AuthorizationKey", "value": NEW_KEY}
        command = asyncio.ensure_future(
            _send(charger_id="CP1", action="ChangeConfiguration", payload=payload, timeout=0.3)
        )
        sent = await reply(comm)
        result = await command
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Rejected"}]))
        for _ in range(100):
            if (await Command.objects.aget(pk=result.command_id)).status == CommandStatus.OK:
                break
            await asyncio.sleep(0.02)
    assert secret_verify(password=PASSWORD, password_hash=(await aget_charger()).password_hash)


async def test_an_accepted_security_profile_is_kept_and_a_lower_connection_refused(fast_hasher):
    await acreate_charger(password=PASSWORD)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        await wait_connected("CP1")
        payload = {"key": "SecurityProfile", "value": "2"}
        command = asyncio.ensure_future(_send(charger_id="CP1", action="ChangeConfiguration", payload=payload))
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        assert (await command).ok
    assert (await aget_charger()).security_profile == 2
    # In process the socket is not TLS: a profile-2 charger is refused.
    assert await refused("/ocpp/CP1", headers=basic("CP1", PASSWORD))
    lower = await _send(
        charger_id="CP1", action="ChangeConfiguration", payload={"key": "SecurityProfile", "value": "1"}
    )
    assert lower.refused and "cannot be lowered" in lower.error_description


async def test_a_security_profile_command_is_refused_before_sending_when_it_makes_no_sense():
    await acreate_charger()
    bad = await _send(charger_id="CP1", action="ChangeConfiguration", payload={"key": "SecurityProfile", "value": "7"})
    no_key = await _send(
        charger_id="CP1", action="ChangeConfiguration", payload={"key": "securityprofile", "value": "1"}
    )
    assert bad.refused and "0, 1, 2 or 3" in bad.error_description
    assert no_key.refused and "AuthorizationKey set first" in no_key.error_description
    assert (await Charger.objects.aget(charger_id="CP1")).security_profile is None
