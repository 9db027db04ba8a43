"""The command path across processes: two server processes on the Redis
channel layer, the charger connected to one, the command sent through the
other (skipped locally without Redis, mandatory in CI)."""

import pytest

from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.tests.commands.samples import ANSWERS, SAMPLES
from ocpp_app.tests.helpers import connected_charge_point, wait_connected

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


async def test_a_command_sent_through_one_process_reaches_a_charger_on_another(require_redis, server_factory, api_for):
    holder = server_factory(REDIS_URL=require_redis)
    sender = server_factory(REDIS_URL=require_redis)
    assert holder.env["REDIS_URL"] == sender.env["REDIS_URL"] and holder.port != sender.port
    api = await api_for(sender)
    cid = "REDIS-CP 1"
    async with connected_charge_point(f"{holder.ws_url}/ocpp/REDIS-CP%201", cid, answers=ANSWERS) as cp:
        charger = await wait_connected(cid)
        assert charger.node_id == f"test-{holder.port}"  # the socket lives in the other process
        status, body = await api.action(cid, "GetConfiguration", SAMPLES["GetConfiguration"][0])
        assert status == 200, body
        assert body["response"] == SAMPLES["GetConfiguration"][1]
        # RemoteStart: the answer and the StartTransaction both arrive at the
        # holder; the sender still finds the transaction id.
        status, body = await api.action(cid, "RemoteStartTransaction", {"connectorId": 1, "idTag": "TAG-REDIS"})
        assert status == 200, body
        assert body["transaction_id"] == cp.started_transaction_id is not None
    assert [a for a, _ in cp.received] == ["GetConfiguration", "RemoteStartTransaction"]
    charger = await Charger.objects.aget(charger_id=cid)
    assert charger.config["configurationKey"]["HeartbeatInterval"]["value"] == "60"


async def test_a_silent_charger_on_another_process_times_out(require_redis, server_factory, api_for):
    holder = server_factory(REDIS_URL=require_redis)
    sender = server_factory(REDIS_URL=require_redis)
    api = await api_for(sender)
    cid = "REDIS-SILENT"
    async with connected_charge_point(f"{holder.ws_url}/ocpp/{cid}", cid, silent=True):
        await wait_connected(cid)
        status, body = await api.action(cid, "ClearCache", {}, timeout=0.5)
    assert status == 504, body
    assert (await Command.objects.aget(charger__charger_id=cid)).status == CommandStatus.TIMEOUT
