"""HTTP Basic authentication of chargers at the handshake (OCPP 1.6 security
profile 1)."""

import pytest
from django.contrib.auth.hashers import make_password

from ocpp_app.models import Charger
from ocpp_app.services.secrets import secret_is_fast, secret_verify
from ocpp_app.tests.helpers import (
    PASSWORD,
    TIMEOUT,
    acreate_charger,
    aget_charger,
    basic,
    charger_socket,
    communicator,
    heartbeat_still_answered,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_refuses_a_charger_with_a_password_and_no_credentials(fast_hasher):
    await acreate_charger(password=PASSWORD)
    comm = communicator()
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_a_charger_with_a_wrong_password(fast_hasher):
    await acreate_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", "wrong-password-wrong"))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_credentials_for_another_charger(fast_hasher):
    await acreate_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP2", PASSWORD))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_credentials_that_are_not_basic(fast_hasher):
    await acreate_charger(password=PASSWORD)
    comm = communicator(headers={"Authorization": "Bearer " + PASSWORD})
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_accepts_a_charger_with_the_right_password(fast_hasher):
    await acreate_charger(password=PASSWORD)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_refuses_a_charger_without_password_when_auth_is_required(settings):
    settings.OCPP_REQUIRE_AUTH = True
    await acreate_charger()
    comm = communicator(headers=basic("CP1", "any-password-at-all"))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_accepts_a_charger_with_its_password_when_auth_is_required(settings, fast_hasher):
    settings.OCPP_REQUIRE_AUTH = True
    await acreate_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", PASSWORD))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is True


async def test_it_migrates_a_legacy_password_hash_on_a_successful_login(fast_hasher):
    charger = await acreate_charger()
    await Charger.objects.filter(pk=charger.pk).aupdate(password_hash=make_password(PASSWORD))
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        assert await heartbeat_still_answered(comm)
    stored = (await aget_charger()).password_hash
    assert secret_is_fast(stored) and secret_verify(password=PASSWORD, password_hash=stored)
    async with charger_socket(headers=basic("CP1", PASSWORD)) as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_keeps_a_password_hash_that_matched_nothing(fast_hasher):
    charger = await acreate_charger()
    legacy = make_password(PASSWORD)
    await Charger.objects.filter(pk=charger.pk).aupdate(password_hash=legacy)
    comm = communicator(headers=basic("CP1", "wrong-password-wrong"))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False
    assert (await aget_charger()).password_hash == legacy
