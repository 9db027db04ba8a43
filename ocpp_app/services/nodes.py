"""Node leases: which serving processes are alive, and the clean-up of the
chargers a dead one held.

Every node (a `manage.py serve` process, OCPP_NODE_ID) renews its lease
every third of OCPP_NODE_LEASE seconds. A node whose lease ran out died
without a goodbye (SIGKILL, a lost host): whichever node sweeps first claims
it (`swept_at`, under the node row's lock) and, in the same transaction,
marks offline the chargers whose row still names that node. A charger that
reconnected elsewhere names its new node, so the dead node's clean-up never
touches it.

A node that was only late (a long stall, its database unreachable for longer
than the lease) finds itself swept at its next renewal, and puts back the
connections it still holds (`node_reassert`), each only if no newer
connection replaced it meanwhile.

Chargers marked offline here (a dead node swept, a node started again under
the id of one that died, what a clean stop finds still connected) had no
socket clean-up to announce it: their `charger.offline` alerts are queued in
the same transaction (services/webhooks.py), when anything subscribes.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ocpp_app.lib.alerts import CHARGER_OFFLINE
from ocpp_app.models import Charger, Node
from ocpp_app.services import webhooks

# Why a charger was marked offline here, as its charger.offline alert says.
NODE_RESTARTED = "node_restarted"
NODE_STOPPED = "node_stopped"
NODE_LEASE_EXPIRED = "node_lease_expired"


@dataclass(frozen=True)
class Renewal:
    # The node had been given up for dead and its chargers marked offline:
    # the caller puts back what it still holds.
    was_swept: bool


def node_start(*, node_id: str, lease: float, host: str, pid: int) -> int:
    """Register a node that starts serving: its lease begins, and chargers
    the same node id held in an earlier life (a crash, a restart) are marked
    offline. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        Node.objects.update_or_create(
            node_id=node_id,
            defaults={
                "host": host[:255],
                "pid": pid,
                "started_at": now,
                "renewed_at": now,
                "lease_expires_at": now + timedelta(seconds=lease),
                "stopped_at": None,
                "swept_at": None,
            },
        )
        return _mark_offline(node_id, now, NODE_RESTARTED)


def node_renew(*, node_id: str, lease: float, host: str = "", pid: int | None = None) -> Renewal:
    """Extend the node's lease by `lease` seconds from now: from when the
    database answered, not from when we asked (a call that waited for a
    connection longer than the lease would write a lease already over).
    A node that was swept stays marked so until `node_reassert` is done."""
    with transaction.atomic():
        node = Node.objects.select_for_update().filter(node_id=node_id).first()
        now = timezone.now()
        if node is None:
            # Pruned while alive (impossible unless someone deleted it): start over.
            Node.objects.create(
                node_id=node_id,
                host=host[:255],
                pid=pid,
                started_at=now,
                renewed_at=now,
                lease_expires_at=now + timedelta(seconds=lease),
            )
            return Renewal(was_swept=True)
        was_swept = node.swept_at is not None
        Node.objects.filter(node_id=node_id).update(
            renewed_at=now, lease_expires_at=now + timedelta(seconds=lease), stopped_at=None
        )
    return Renewal(was_swept=was_swept)


def node_stop(*, node_id: str) -> int:
    """A clean stop: the lease ends now and the node's chargers still marked
    connected are marked offline (its sockets are closed). Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        Node.objects.filter(node_id=node_id).update(stopped_at=now, lease_expires_at=now, swept_at=now)
        return _mark_offline(node_id, now, NODE_STOPPED)


def nodes_sweep(*, now=None, sweeper: str = "") -> dict[str, int]:
    """Mark offline the chargers of every node whose lease ran out and that no
    node has swept yet, never the sweeper's own (a node that sweeps is
    alive, whatever its row says after a database outage): {node id:
    chargers marked offline}."""
    now = now or timezone.now()
    swept: dict[str, int] = {}
    expired = list(
        Node.objects.filter(lease_expires_at__lt=now, swept_at__isnull=True)
        .exclude(node_id=sweeper)
        .values_list("node_id", flat=True)
    )
    for node_id in expired:
        with transaction.atomic():
            # Claim it under the row's lock: a renewal racing with this sweep
            # waits, then sees swept_at and puts its connections back.
            claimed = Node.objects.filter(node_id=node_id, lease_expires_at__lt=now, swept_at__isnull=True).update(
                swept_at=now
            )
            if claimed:
                swept[node_id] = _mark_offline(node_id, now, NODE_LEASE_EXPIRED)
    return swept


def node_reassert(*, node_id: str, channel_name: str, connections: list[tuple[str, str]]) -> int:
    """Mark connected again the (charger id, connection id) pairs a node still
    holds after it had been swept; a charger whose row names another
    connection now (it reconnected elsewhere) is left alone. Then the node
    is no longer marked swept. Returns how many were marked connected.

    One row per statement, each committed alone: a transaction over many
    charger rows would deadlock with the writer's batches, which lock rows
    of their own; a failure part-way leaves the node marked swept, so its
    next renewal tries again."""
    now = timezone.now()
    restored = 0
    for charger_id, connection_id in sorted(connections):
        restored += Charger.objects.filter(charger_id=charger_id, connection_id=connection_id).update(
            connected=True, node_id=node_id, channel_name=channel_name, disconnected_at=None, updated_at=now
        )
    Node.objects.filter(node_id=node_id).update(swept_at=None)
    return restored


def node_alive(*, node_id: str, now=None) -> bool:
    """Whether `node_id` holds a lease that has not run out."""
    now = now or timezone.now()
    return Node.objects.filter(node_id=node_id, lease_expires_at__gte=now, stopped_at__isnull=True).exists()


def nodes_alive(*, now=None) -> list[str]:
    """Ids of the nodes whose lease holds, in order."""
    now = now or timezone.now()
    return list(
        Node.objects.filter(lease_expires_at__gte=now, stopped_at__isnull=True)
        .order_by("node_id")
        .values_list("node_id", flat=True)
    )


def charger_reachable(*, charger_id: str, channel_name: str, now=None, missed_renewal: bool = False) -> bool:
    """Whether the charger is still connected through `channel_name` on a
    node whose lease holds: what a command waiting for the charger's answer
    checks, so that it answers "not connected" once the socket or its node is
    gone instead of waiting for the whole time-out.

    With `missed_renewal`, a node that went two thirds of its lease without
    renewing (it renews every third) counts as gone too, before its lease runs
    out: what a command whose time-out is over asks, so that a charger on a
    node that died answers "not connected" within the operator's time-out even
    when the time-out is not longer than the lease (both default to 30 s)."""
    row = Charger.objects.filter(charger_id=charger_id).values_list("connected", "channel_name", "node_id").first()
    if row is None or not row[0] or row[1] != channel_name:
        return False
    node = Node.objects.filter(node_id=row[2]).values_list("lease_expires_at", "stopped_at", "renewed_at").first()
    if node is None:
        return True  # a node that never took a lease (an older version, a test server): trust the row
    expires, stopped, renewed = node
    now = now or timezone.now()
    if stopped is not None or expires < now:
        return False
    return not missed_renewal or now - renewed <= (expires - renewed) * 2 / 3


def _mark_offline(node_id: str, now, reason: str) -> int:
    """In the caller's transaction: the node's chargers still marked
    connected are marked offline, and their alerts queued."""
    held = Charger.objects.filter(node_id=node_id, connected=True)
    charger_ids: list[str] = []
    if webhooks.wants(CHARGER_OFFLINE):
        # Locked first, so that the alerts name exactly the rows updated.
        charger_ids = list(held.select_for_update().order_by("pk").values_list("charger_id", flat=True))
    count = held.update(connected=False, disconnected_at=now, channel_name="", updated_at=now)
    if charger_ids:
        webhooks.alerts_enqueue(
            [
                webhooks.AlertEvent(CHARGER_OFFLINE, charger_id, {"reason": reason, "node_id": node_id}, at=now)
                for charger_id in charger_ids
            ]
        )
    return count
