"""A Redis restart under two real server processes (a Redis of the test's
own, killed and started again on the same port): chargers stay connected,
answers go on, handshakes still work while Redis is away, a command while it
is away is answered 503 with a JSON body, and commands across processes work
again within seconds of its return, with no process restarted."""

import asyncio
import time

import pytest
from ocpp.v16 import call

from conftest import require
from ocpp_app.tests import private_redis
from ocpp_app.tests.commands.samples import ANSWERS, SAMPLES
from ocpp_app.tests.helpers import connected_charge_point, wait_connected

pytestmark = [pytest.mark.e2e, pytest.mark.own_services]


@pytest.fixture
def redis():
    reason = private_redis.missing_reason()
    require(reason is None, reason or "")
    server = private_redis.PrivateRedis()
    server.start()
    yield server
    server.remove()


async def command_until_ok(api, charger_id: str, *, within: float) -> float:
    """Send GetConfiguration until it is answered 200; the seconds it took."""
    started = time.monotonic()
    while True:
        status, body = await api.action(charger_id, "GetConfiguration", SAMPLES["GetConfiguration"][0], timeout=2)
        if status == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < within, (status, body)
        await asyncio.sleep(0.2)


async def test_a_redis_restart_drops_no_charger_and_commands_come_back(redis, server_factory, api_for):
    holder = server_factory(REDIS_URL=redis.url, OCPP_CALL_TIMEOUT="3")
    sender = server_factory(REDIS_URL=redis.url, OCPP_CALL_TIMEOUT="3")
    api = await api_for(sender)
    cid = "REDIS-RESTART-1"
    async with connected_charge_point(f"{holder.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await cp.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        await wait_connected(cid)
        assert await command_until_ok(api, cid, within=10) < 5

        redis.stop()
        # Redis is away: the charger's own messages are still answered...
        assert (await cp.call(call.Heartbeat())).current_time
        # ...a new charger can still connect and boot...
        async with connected_charge_point(f"{holder.ws_url}/ocpp/REDIS-RESTART-2", "REDIS-RESTART-2") as other:
            boot = await other.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
            assert boot.status == "Accepted"
        # ...and a command cannot be carried: 503 with a JSON body, promptly.
        started = time.monotonic()
        status, body = await api.action(cid, "GetConfiguration", SAMPLES["GetConfiguration"][0], timeout=2)
        assert status == 503, body
        assert "channel layer" in body["detail"]
        assert time.monotonic() - started < 10

        redis.start()
        back_after = await command_until_ok(api, cid, within=20)
        print(f"commands across processes answered again {back_after:.1f} s after Redis came back")
        assert (await cp.call(call.Heartbeat())).current_time  # the same socket all along
    for server in (holder, sender):
        assert server.proc.poll() is None  # no process needed a restart
        assert "Traceback" not in server.log_text()
