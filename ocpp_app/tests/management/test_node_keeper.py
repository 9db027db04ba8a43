"""The node keeper's rounds on the real database: renew the lease, sweep the
nodes whose lease ran out, put back what a late node still holds, prune on
the first live node only, end the lease on a clean stop."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ocpp_app.management.node_keeper import NodeKeeper
from ocpp_app.models import Charger, MessageLog, Node
from ocpp_app.tests.helpers import admit

pytestmark = pytest.mark.django_db(transaction=True)


def keeper(node_id: str, held=(), prune_interval: float = 0.0) -> NodeKeeper:
    return NodeKeeper(
        node_id=node_id,
        lease=30.0,
        held=lambda: list(held),
        channel_name=lambda: f"mailbox.{node_id}",
        prune_interval=prune_interval,
    )


def old_log_row() -> None:
    row = MessageLog.objects.create(charger_id="CP1", direction="in", action="Heartbeat", payload={})
    MessageLog.objects.filter(pk=row.pk).update(timestamp=timezone.now() - timedelta(days=400))


async def test_a_round_renews_and_sweeps_a_dead_node(settings):
    alive, dead = keeper("node-a"), keeper("node-b")
    await alive.start()
    await dead.start()
    settings.OCPP_NODE_ID = "node-b"
    await admit_async("CP1", "c1")
    await Node.objects.filter(node_id="node-b").aupdate(lease_expires_at=timezone.now() - timedelta(seconds=1))
    before = (await Node.objects.aget(node_id="node-a")).lease_expires_at
    await alive.step()
    assert (await Node.objects.aget(node_id="node-a")).lease_expires_at > before
    assert not (await Charger.objects.aget(charger_id="CP1")).connected
    assert (await Node.objects.aget(node_id="node-b")).swept_at is not None


async def test_a_late_node_puts_back_the_connections_it_holds(settings):
    late = keeper("node-a", held=[("CP1", "c1")])
    await late.start()
    settings.OCPP_NODE_ID = "node-a"
    await admit_async("CP1", "c1")
    await Node.objects.filter(node_id="node-a").aupdate(lease_expires_at=timezone.now() - timedelta(seconds=1))
    await keeper("node-z").step()  # another node sweeps it
    assert not (await Charger.objects.aget(charger_id="CP1")).connected
    await late.step()
    charger = await Charger.objects.aget(charger_id="CP1")
    assert charger.connected and charger.channel_name == "mailbox.node-a"


async def test_only_the_first_live_node_prunes(settings):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 30
    first, second = keeper("node-a", prune_interval=0.001), keeper("node-b", prune_interval=0.001)
    await first.start()
    await second.start()
    await sync(old_log_row)
    await second.step()
    if second._prune_task:
        await second._prune_task
    assert await MessageLog.objects.acount() == 1  # not its turn
    await first.step()
    await first._prune_task
    assert await MessageLog.objects.acount() == 0


async def test_a_clean_stop_ends_the_lease():
    node = keeper("node-a")
    await node.start()
    await node.stop()
    assert not (await Node.objects.aget(node_id="node-a")).alive


async def sync(fn):
    from asgiref.sync import sync_to_async

    return await sync_to_async(fn)()


async def admit_async(charger_id: str, connection_id: str):
    return await sync(lambda: admit(charger_id, connection_id=connection_id, takeover_checked=True))
