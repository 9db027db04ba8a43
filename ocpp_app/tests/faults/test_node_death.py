"""A node that dies without a goodbye (SIGKILL), among real server processes
sharing the database and Redis: once its lease ran out a surviving node marks
its chargers offline, a command for one of them answers "not connected"
before the operator's time-out, and a charger that reconnected to a surviving
node is online there at once and never touched by the dead node's clean-up.
`serve --workers 2` on PostgreSQL: two nodes on one port, a killed worker is
started again."""

import os
import signal
import time

import pytest
import requests
from asgiref.sync import sync_to_async
from django.db import connection
from ocpp.v16 import call

from ocpp_app.models import Charger, Node
from ocpp_app.tests.commands.samples import ANSWERS, SAMPLES
from ocpp_app.tests.helpers import connected_charge_point, wait_connected, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.redis]
LEASE = "8"
# A charger without credentials replaces its old socket once that socket
# fails to answer a ping through the dead node's mailbox: this long, plus 2 s.
TAKEOVER_PING = "0.5"


def node_of(server) -> str:
    return f"test-{server.port}"  # start_server's OCPP_NODE_ID


async def boot(cp) -> None:
    await cp.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))


async def test_a_killed_nodes_chargers_go_offline_after_its_lease(require_redis, server_factory, api_for):
    env = {
        "REDIS_URL": require_redis,
        "OCPP_NODE_LEASE": LEASE,
        "OCPP_CALL_TIMEOUT": "20",
        "OCPP_TAKEOVER_PING_TIMEOUT": TAKEOVER_PING,
    }
    doomed = server_factory(**env)
    survivor = server_factory(**env)
    api = await api_for(survivor)
    async with (
        connected_charge_point(f"{doomed.ws_url}/ocpp/DEATH-STAYS", "DEATH-STAYS", answers=ANSWERS) as stays,
        connected_charge_point(f"{doomed.ws_url}/ocpp/DEATH-MOVES", "DEATH-MOVES", answers=ANSWERS) as moves,
    ):
        await boot(stays)
        await boot(moves)
        assert (await wait_connected("DEATH-STAYS")).node_id == node_of(doomed)
        await wait_connected("DEATH-MOVES")
        status, _ = await api.action("DEATH-STAYS", "GetConfiguration", SAMPLES["GetConfiguration"][0])
        assert status == 200  # across processes, while both live

        doomed.proc.send_signal(signal.SIGKILL)
        doomed.proc.wait(10)
        killed_at = time.monotonic()

        # One charger reconnects to the survivor at once (through a proxy, in
        # real life), before the dead node's lease ran out.
        async with connected_charge_point(
            f"{survivor.ws_url}/ocpp/DEATH-MOVES", "DEATH-MOVES", answers=ANSWERS
        ) as back:
            await boot(back)
            moved = await wait_connected("DEATH-MOVES")
            assert moved.node_id == node_of(survivor)
            assert (await Node.objects.aget(node_id=node_of(doomed))).swept_at is None  # not yet
            # A command for the charger left on the dead node: "not connected"
            # once the lease ran out, well before the 20 s time-out.
            status, body = await api.action("DEATH-STAYS", "GetConfiguration", SAMPLES["GetConfiguration"][0])
            answered_after = time.monotonic() - killed_at
            assert status == 409, body
            assert body["status"] == "not_connected"
            assert answered_after < float(LEASE) + 5, answered_after

            def swept() -> bool:
                return not Charger.objects.get(charger_id="DEATH-STAYS").connected

            assert await wait_for(swept, timeout=15)
            offline_after = time.monotonic() - killed_at
            print(
                f"lease {LEASE} s: command answered not_connected {answered_after:.1f} s and "
                f"the charger marked offline {offline_after:.1f} s after SIGKILL"
            )
            dead = await Node.objects.aget(node_id=node_of(doomed))
            assert dead.swept_at is not None and dead.stopped_at is None
            # The moved charger was never touched by the dead node's clean-up.
            assert (await Charger.objects.aget(charger_id="DEATH-MOVES")).connected
            status, body = await api.action("DEATH-MOVES", "GetConfiguration", SAMPLES["GetConfiguration"][0])
            assert status == 200, body
    assert f"node {node_of(doomed)}'s lease ran out: 1 charger(s) marked offline" in survivor.log_text()


def worker_pids(server) -> dict[str, int]:
    return dict(Node.objects.filter(node_id__startswith=f"{node_of(server)}-").values_list("node_id", "pid"))


async def test_serve_workers_share_the_port_and_a_killed_worker_comes_back(require_redis, server_factory, api_for):
    if connection.vendor != "postgresql":
        # Not a missing service: this pass runs on SQLite, which --workers
        # refuses (tested in management/test_serve.py); the PostgreSQL pass runs it.
        pytest.skip("serve --workers needs PostgreSQL: runs when DATABASE_URL names one")
    server = server_factory(REDIS_URL=require_redis, WORKERS="2", OCPP_NODE_LEASE=LEASE)
    api = await api_for(server)

    def two_workers() -> dict[str, int]:
        pids = worker_pids(server)
        return pids if len(pids) == 2 else {}

    pids = await wait_for(two_workers, timeout=20)
    assert set(pids) == {f"{node_of(server)}-1", f"{node_of(server)}-2"}
    # Chargers spread over both workers (SO_REUSEPORT); commands reach each.
    chargers = [f"WORKERS-{n}" for n in range(24)]
    held = {}
    for charger_id in chargers:
        async with connected_charge_point(f"{server.ws_url}/ocpp/{charger_id}", charger_id, answers=ANSWERS) as cp:
            await boot(cp)
            held[charger_id] = (await wait_connected(charger_id)).node_id
            status, body = await api.action(charger_id, "GetConfiguration", SAMPLES["GetConfiguration"][0])
            assert status == 200, body
    assert set(held.values()) == set(pids)  # both took chargers (all on one: a chance of 1 in 8 million)

    victim = f"{node_of(server)}-1"
    os.kill(pids[victim], signal.SIGKILL)

    def restarted() -> bool:
        return worker_pids(server).get(victim) not in (None, pids[victim])

    assert await wait_for(restarted, timeout=30)
    assert server.proc.poll() is None  # the supervisor lives on
    for _ in range(20):
        assert requests.get(f"{server.http_url}/ocpp/health/", timeout=5).status_code == 200
    # SIGTERM to the supervisor: every worker stops cleanly and ends its lease.
    await sync_to_async(server.stop)()
    assert server.proc.returncode == 0
    stopped = await sync_to_async(
        lambda: dict(Node.objects.filter(node_id__in=pids).values_list("node_id", "stopped_at"))
    )()
    assert len(stopped) == 2 and all(stopped.values()), stopped
