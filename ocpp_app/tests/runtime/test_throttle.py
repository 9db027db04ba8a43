"""The failed-auth back-off: exponential per address and per charger id, never
a lock-out of the real charger, shared through Redis, open when Redis fails."""

import asyncio
import logging
import time
import uuid

import pytest

from conftest import free_port
from ocpp_app.runtime import throttle
from ocpp_app.runtime.throttle import auth_failed, auth_succeeded, auth_wait

BASE, MAX = 10.0, 1000.0


@pytest.fixture(params=["memory", "redis"])
def store(request, settings):
    """Each test runs on the in-memory tables and on a real Redis."""
    settings.OCPP_AUTH_THROTTLE = True
    settings.OCPP_AUTH_THROTTLE_FREE = 2
    settings.OCPP_AUTH_THROTTLE_BASE = BASE
    settings.OCPP_AUTH_THROTTLE_MAX = MAX
    settings.OCPP_AUTH_THROTTLE_WINDOW = 900.0
    settings.OCPP_AUTH_THROTTLE_TRUST = 3600.0
    if request.param == "redis":
        settings.REDIS_URL = request.getfixturevalue("require_redis")
    else:
        settings.REDIS_URL = ""
        throttle._memory = throttle.MemoryStore()
    return request.param


def fresh(name: str) -> str:
    """A name no other test (nor an earlier run on the same Redis) used."""
    return f"{name}-{uuid.uuid4().hex[:12]}"


async def fail(source: str, charger_id: str, times: int = 1) -> None:
    for _ in range(times):
        await auth_failed(source=source, charger_id=charger_id)


async def test_the_first_failures_are_free_then_the_wait_doubles_up_to_the_maximum(store):
    source, cp = fresh("10.0.0.1"), fresh("CP")
    await fail(source, cp, 1)
    assert await auth_wait(source=source, charger_id=cp) == 0.0
    waits = []
    for _ in range(4):  # after FREE (2) failures the next try waits
        await fail(source, cp)
        waits.append(await auth_wait(source=source, charger_id=cp))
    assert [round(w) for w in waits] == [10, 20, 40, 80]
    await fail(source, cp, 20)
    assert MAX - 2 < await auth_wait(source=source, charger_id=cp) <= MAX


async def test_an_address_that_fails_never_slows_another_address(store):
    attacker, other = fresh("10.0.0.66"), fresh("10.0.0.2")
    await fail(attacker, fresh("CP"), 10)
    assert await auth_wait(source=attacker, charger_id=fresh("CP")) > 0
    assert await auth_wait(source=other, charger_id=fresh("CP")) == 0.0


async def test_guessing_one_charger_from_many_addresses_backs_off_every_new_address(store):
    cp = fresh("CP")
    for n in range(10):
        await fail(fresh(f"198.51.100.{n}"), cp)
    assert await auth_wait(source=fresh("198.51.100.99"), charger_id=cp) > BASE


async def test_guessing_from_many_addresses_never_locks_the_real_charger_out(store):
    cp, home = fresh("CP"), fresh("192.0.2.7")
    await auth_succeeded(source=home, charger_id=cp)
    for n in range(50):
        await fail(fresh(f"203.0.113.{n}"), cp)
    assert await auth_wait(source=fresh("203.0.113.200"), charger_id=cp) > 0
    assert await auth_wait(source=home, charger_id=cp) == 0.0


async def test_a_neighbour_with_a_wrong_key_behind_the_same_address_never_locks_a_charger_out(store):
    nat, good, broken = fresh("192.0.2.1"), fresh("CP-good"), fresh("CP-broken")
    await auth_succeeded(source=nat, charger_id=good)
    await fail(nat, broken, 10)
    assert await auth_wait(source=nat, charger_id=broken) > 0
    assert await auth_wait(source=nat, charger_id=good) == 0.0


async def test_a_trusted_address_that_keeps_failing_backs_off_for_its_own_failures(store):
    cp, home = fresh("CP"), fresh("192.0.2.8")
    await auth_succeeded(source=home, charger_id=cp)
    await fail(home, cp, 4)
    assert round(await auth_wait(source=home, charger_id=cp)) == 40  # FREE (2) failures: 10 s, then doubled twice
    await auth_succeeded(source=home, charger_id=cp)
    assert await auth_wait(source=home, charger_id=cp) == 0.0


async def test_failures_are_forgotten_after_the_window(store, settings):
    settings.OCPP_AUTH_THROTTLE_WINDOW = 0.3
    source, cp = fresh("10.0.0.3"), fresh("CP")
    await fail(source, cp, 5)
    assert await auth_wait(source=source, charger_id=cp) > 0
    await asyncio.sleep(0.35)
    assert await auth_wait(source=source, charger_id=cp) == 0.0


async def test_nothing_waits_when_the_throttle_is_off(store, settings):
    source, cp = fresh("10.0.0.4"), fresh("CP")
    await fail(source, cp, 10)
    settings.OCPP_AUTH_THROTTLE = False
    assert await auth_wait(source=source, charger_id=cp) == 0.0


async def test_processes_sharing_redis_share_the_back_off(settings, require_redis):
    """A second client (another worker) sees the failures the first counted."""
    settings.REDIS_URL = require_redis
    settings.OCPP_AUTH_THROTTLE = True
    settings.OCPP_AUTH_THROTTLE_FREE = 0
    settings.OCPP_AUTH_THROTTLE_BASE = BASE
    source, cp = fresh("10.0.0.5"), fresh("CP")
    await throttle.RedisStore(require_redis).fail(throttle._Keys(source, cp), time.time())
    assert 9 < await auth_wait(source=source, charger_id=cp) <= 10


async def test_a_redis_that_does_not_answer_never_blocks_nor_lifts_the_back_off(settings, caplog):
    """Redis away: a handshake is not held up, the first tries go through,
    and a guesser is still backed off, by this process's own counts."""
    settings.OCPP_AUTH_THROTTLE = True
    settings.OCPP_AUTH_THROTTLE_FREE = 2
    settings.OCPP_AUTH_THROTTLE_BASE = BASE
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    throttle._last_warning = 0.0
    source, cp = fresh("10.0.0.6"), fresh("CP")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ocpp_app.throttle"):
        assert await auth_wait(source=source, charger_id=cp) == 0.0
        await auth_failed(source=source, charger_id=cp)
        assert await auth_wait(source=source, charger_id=cp) == 0.0
        await auth_failed(source=source, charger_id=cp)
        assert 9 < await auth_wait(source=source, charger_id=cp) <= 10
        await auth_succeeded(source=source, charger_id=cp)
    assert time.monotonic() - started < 10
    assert "auth throttle: Redis unavailable, counting failures in this process meanwhile" in caplog.text


async def test_a_storm_of_handshakes_shares_a_few_redis_connections(settings, require_redis):
    settings.REDIS_URL = require_redis
    settings.OCPP_AUTH_THROTTLE = True
    waits = await asyncio.gather(
        *(auth_wait(source=fresh(f"10.9.{n // 250}.{n % 250}"), charger_id="CP") for n in range(600))
    )
    assert waits == [0.0] * 600
    pool = throttle._store()._redis.connection_pool
    opened = len(pool._available_connections) + len(pool._in_use_connections)
    assert 0 < opened <= throttle.REDIS_CONNECTIONS


async def test_a_million_random_ids_keep_the_memory_tables_bounded(settings):
    settings.OCPP_AUTH_THROTTLE = True
    settings.REDIS_URL = ""
    throttle._memory = throttle.MemoryStore(max_keys=1000)
    for n in range(1_000_000):
        keys = throttle._Keys("10.0.0.9", str(n))
        await throttle._memory.fail(keys, float(n))
    assert len(throttle._memory) <= 1000
