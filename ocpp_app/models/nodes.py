"""Server nodes: each serving process renews a lease here; a node whose lease
ran out died without a goodbye, and the chargers it held are marked offline
by whichever node notices first (services/nodes.py)."""

from django.db import models
from django.utils import timezone


class Node(models.Model):
    node_id = models.CharField(max_length=200, primary_key=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    renewed_at = models.DateTimeField(default=timezone.now)
    # Past this instant without a renewal the node counts as dead.
    lease_expires_at = models.DateTimeField(default=timezone.now)
    # Set on a clean stop; a node that died leaves it empty.
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Set once its chargers were marked offline after it died or stopped.
    swept_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node_id"]
        indexes = [models.Index(fields=["lease_expires_at"], name="node_lease_expires")]

    def __str__(self) -> str:
        return self.node_id

    @property
    def alive(self) -> bool:
        return self.stopped_at is None and self.lease_expires_at > timezone.now()
