"""Node leases: a dead node's chargers go offline, a reconnected charger is
never touched by its old node's clean-up, a late node puts back what it holds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from ocpp_app.models import Charger, Node
from ocpp_app.services import nodes
from ocpp_app.tests.helpers import admit

pytestmark = pytest.mark.django_db
LEASE = 30.0


def connect_on(settings, node_id: str, charger_id: str, connection_id: str, channel: str = "") -> None:
    settings.OCPP_NODE_ID = node_id
    admit(
        charger_id,
        connection_id=connection_id,
        channel_name=channel or f"mailbox.{node_id}",
        unknown_policy="accept",
        takeover_checked=True,
    )


def expire(node_id: str, seconds_ago: float = 1.0) -> None:
    Node.objects.filter(node_id=node_id).update(lease_expires_at=timezone.now() - timedelta(seconds=seconds_ago))


def connected() -> dict[str, tuple[bool, str]]:
    return {cid: (on, node) for cid, on, node in Charger.objects.values_list("charger_id", "connected", "node_id")}


def test_a_node_that_starts_marks_what_it_held_in_an_earlier_life_offline(settings):
    connect_on(settings, "node-a", "CP1", "c1")
    connect_on(settings, "node-b", "CP2", "c2")
    assert nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1) == 1
    assert connected() == {"CP1": (False, "node-a"), "CP2": (True, "node-b")}
    node = Node.objects.get(node_id="node-a")
    assert node.alive and node.pid == 1 and node.stopped_at is None


def test_the_sweep_marks_offline_only_the_chargers_of_nodes_whose_lease_ran_out(settings):
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    nodes.node_start(node_id="node-b", lease=LEASE, host="h", pid=2)
    connect_on(settings, "node-a", "CP1", "c1")
    connect_on(settings, "node-b", "CP2", "c2")
    assert nodes.nodes_sweep() == {}
    expire("node-a")
    assert nodes.nodes_sweep() == {"node-a": 1}
    assert connected() == {"CP1": (False, "node-a"), "CP2": (True, "node-b")}
    assert nodes.nodes_sweep() == {}  # swept once
    assert Charger.objects.get(charger_id="CP1").channel_name == ""


def test_a_charger_that_reconnected_elsewhere_is_never_marked_offline_by_its_dead_node(settings):
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    nodes.node_start(node_id="node-b", lease=LEASE, host="h", pid=2)
    connect_on(settings, "node-a", "CP1", "c1")
    connect_on(settings, "node-b", "CP1", "c2")  # through the proxy, to another node
    expire("node-a")
    assert nodes.nodes_sweep() == {"node-a": 0}
    assert connected() == {"CP1": (True, "node-b")}


def test_a_late_node_finds_itself_swept_and_puts_back_only_what_no_one_replaced(settings):
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    connect_on(settings, "node-a", "CP1", "c1")
    connect_on(settings, "node-a", "CP2", "c2")
    expire("node-a")
    nodes.nodes_sweep()
    connect_on(settings, "node-b", "CP2", "c3")  # CP2 moved meanwhile
    renewal = nodes.node_renew(node_id="node-a", lease=LEASE)
    assert renewal.was_swept
    assert nodes.node_renew(node_id="node-a", lease=LEASE).was_swept  # until it put its chargers back
    restored = nodes.node_reassert(
        node_id="node-a", channel_name="mailbox.a", connections=[("CP1", "c1"), ("CP2", "c2")]
    )
    assert restored == 1
    assert connected() == {"CP1": (True, "node-a"), "CP2": (True, "node-b")}
    assert Charger.objects.get(charger_id="CP1").channel_name == "mailbox.a"
    assert not nodes.node_renew(node_id="node-a", lease=LEASE).was_swept
    assert Node.objects.get(node_id="node-a").alive


def test_a_clean_stop_ends_the_lease_and_its_connections(settings):
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    connect_on(settings, "node-a", "CP1", "c1")
    assert nodes.node_stop(node_id="node-a") == 1
    assert not nodes.node_alive(node_id="node-a")
    assert nodes.nodes_sweep() == {}  # nothing left to sweep
    assert connected() == {"CP1": (False, "node-a")}


def test_alive_nodes_in_order(settings):
    for node_id in ("node-c", "node-a", "node-b"):
        nodes.node_start(node_id=node_id, lease=LEASE, host="h", pid=1)
    expire("node-a")
    nodes.node_stop(node_id="node-c")
    assert nodes.nodes_alive() == ["node-b"]


def test_a_charger_is_reachable_while_its_socket_and_its_node_live(settings):
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    connect_on(settings, "node-a", "CP1", "c1", channel="mailbox.a")
    assert nodes.charger_reachable(charger_id="CP1", channel_name="mailbox.a")
    assert not nodes.charger_reachable(charger_id="CP1", channel_name="mailbox.other")
    assert not nodes.charger_reachable(charger_id="NOPE", channel_name="mailbox.a")
    expire("node-a")
    assert not nodes.charger_reachable(charger_id="CP1", channel_name="mailbox.a")


def test_a_node_never_sweeps_itself(settings):
    """After a database outage longer than the lease, a node's own row may
    read expired when it sweeps: it is alive, it is the one sweeping."""
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    connect_on(settings, "node-a", "CP1", "c1")
    expire("node-a")
    assert nodes.nodes_sweep(sweeper="node-a") == {}
    assert connected() == {"CP1": (True, "node-a")}
    assert nodes.nodes_sweep(sweeper="node-b") == {"node-a": 1}


def test_after_its_time_out_a_command_counts_a_node_that_missed_a_renewal_as_gone(settings):
    # Lease 30 s, renewed every 10 s: 21 s after its last renewal the node has
    # missed one. Its lease still holds, so a command still waiting for the
    # answer keeps waiting; one whose time-out is over answers "not connected".
    nodes.node_start(node_id="node-a", lease=LEASE, host="h", pid=1)
    connect_on(settings, "node-a", "CP1", "c1", channel="mailbox.node-a")
    renewed = Node.objects.get(node_id="node-a").renewed_at
    later = renewed + timedelta(seconds=21)
    reach = {"charger_id": "CP1", "channel_name": "mailbox.node-a"}
    assert nodes.charger_reachable(**reach, now=later)
    assert not nodes.charger_reachable(**reach, now=later, missed_renewal=True)
    # A node that renews on time is reachable either way.
    assert nodes.charger_reachable(**reach, now=renewed + timedelta(seconds=9), missed_renewal=True)
    # Past its lease it is gone either way.
    assert not nodes.charger_reachable(**reach, now=renewed + timedelta(seconds=31))
