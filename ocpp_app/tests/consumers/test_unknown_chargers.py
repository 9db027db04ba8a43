"""Admission by registration status: the unknown-charger policy (accept,
pending, reject) and what a Pending or Rejected charger may say."""

import pytest
from channels.db import database_sync_to_async

from ocpp_app.models import (
    Charger,
)
from ocpp_app.tests.helpers import (
    BOOT,
    TIMEOUT,
    acount,
    acreate_charger,
    aget_charger,
    call,
    charger_socket,
    communicator,
    error_code,
    heartbeat_still_answered,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_refuses_an_unknown_charger_when_unknown_chargers_are_rejected(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "reject"
    comm = communicator()
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert (connected, await acount(Charger)) == (False, 0)


async def test_it_accepts_a_known_charger_when_unknown_chargers_are_rejected(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "reject"
    await acreate_charger()
    async with charger_socket() as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_creates_an_unknown_charger_pending_in_pending_mode(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "pending"
    async with charger_socket():
        assert (await aget_charger()).registration_status == "Pending"


async def test_it_answers_the_boot_of_a_pending_charger_pending_with_the_retry_interval(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "pending"
    settings.OCPP_BOOT_RETRY_INTERVAL = 17
    async with charger_socket() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[2]["status"], answer[2]["interval"]) == ("Pending", 17)


async def test_it_answers_a_rejected_chargers_boot_rejected_with_the_retry_interval(settings):
    settings.OCPP_BOOT_RETRY_INTERVAL = 19
    await acreate_charger(registration_status="Rejected")
    async with charger_socket() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[2]["status"], answer[2]["interval"]) == ("Rejected", 19)


async def test_it_answers_a_rejected_chargers_other_messages_with_security_error():
    await acreate_charger(registration_status="Rejected")
    async with charger_socket() as comm:
        assert await error_code(comm, "Heartbeat", {}) == "SecurityError"


async def test_it_lets_a_charger_accepted_since_it_connected_speak_after_its_boot():
    await acreate_charger(registration_status="Rejected")
    async with charger_socket() as comm:
        await database_sync_to_async(Charger.objects.filter(charger_id="CP1").update)(registration_status="Accepted")
        await call(comm, "BootNotification", BOOT)
        assert await heartbeat_still_answered(comm)
