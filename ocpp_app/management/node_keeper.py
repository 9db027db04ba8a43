"""The node's housekeeping on the server's event loop: its lease, the sweep
of dead nodes' chargers, and the periodic prune (services/nodes.py,
services/retention.py).

Every third of OCPP_NODE_LEASE seconds the node renews its lease and sweeps
the nodes whose lease ran out. Each step runs aside (runtime/side_thread.py),
never on the group-commit writer's thread, so a slow sweep never delays a
charger's answer; a database that is away
makes a step fail, and the next round tries again. While the lease cannot be
renewed, other nodes will sweep this one once it runs out; when the database
comes back, the renewal tells, and the connections still held here are put
back.

The prune runs on the first live node by id, every OCPP_PRUNE_INTERVAL
seconds: one node of a cluster at a time without a lock of its own.

`manage.py serve` runs it beside uvicorn on the server's event loop.
"""

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable

from django.conf import settings

from ocpp_app.runtime.side_thread import run_aside
from ocpp_app.services import nodes
from ocpp_app.services.retention import prune

logger = logging.getLogger("ocpp_app.node")


class NodeKeeper:
    def __init__(
        self,
        *,
        node_id: str,
        lease: float,
        held: Callable[[], list[tuple[str, str]]],
        channel_name: Callable[[], str],
        prune_interval: float | None = None,
    ) -> None:
        self.node_id = node_id
        self.lease = lease
        self.held = held  # (charger id, connection id) of every socket this node holds
        self.channel_name = channel_name  # the process's mailbox channel
        self.prune_interval = settings.OCPP_PRUNE_INTERVAL if prune_interval is None else prune_interval
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._last_prune = time.monotonic()  # the first prune one interval after start
        self._prune_task: asyncio.Task | None = None

    async def start(self) -> int:
        """Take the lease; returns how many chargers of this node's earlier
        life were marked offline."""
        return await run_aside(nodes.node_start, node_id=self.node_id, lease=self.lease, host=self.host, pid=self.pid)

    async def run(self) -> None:
        """Renew, sweep and prune until cancelled."""
        failures = 0
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.step()
                if failures:
                    logger.warning("node %s: lease renewed again after %d failed attempt(s)", self.node_id, failures)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                logger.warning(
                    "node %s: could not renew the lease or sweep (attempt %d)",
                    self.node_id,
                    failures,
                    exc_info=failures == 1,
                )

    async def step(self) -> None:
        renewal = await run_aside(
            nodes.node_renew, node_id=self.node_id, lease=self.lease, host=self.host, pid=self.pid
        )
        if renewal.was_swept:
            held = self.held()
            restored = await run_aside(
                nodes.node_reassert, node_id=self.node_id, channel_name=self.channel_name(), connections=held
            )
            logger.warning(
                "node %s: the lease had run out and other nodes marked its chargers offline; "
                "%d of %d live connection(s) marked connected again",
                self.node_id,
                restored,
                len(held),
            )
        swept = await run_aside(nodes.nodes_sweep, sweeper=self.node_id)
        for dead, count in swept.items():
            logger.warning("node %s: node %s's lease ran out: %d charger(s) marked offline", self.node_id, dead, count)
        await self._maybe_prune()

    async def _maybe_prune(self) -> None:
        if self.prune_interval <= 0 or time.monotonic() - self._last_prune < self.prune_interval:
            return
        if self._prune_task is not None and not self._prune_task.done():
            return
        alive = await run_aside(nodes.nodes_alive)
        self._last_prune = time.monotonic()
        if alive and alive[0] != self.node_id:
            return  # the first live node prunes
        self._prune_task = asyncio.get_running_loop().create_task(self._prune())

    async def _prune(self) -> None:
        try:
            deleted = await run_aside(prune)
        except Exception:
            logger.exception("node %s: prune failed", self.node_id)
            return
        if any(deleted.values()):
            logger.info("node %s: pruned %s", self.node_id, deleted)

    async def stop(self) -> int:
        """A clean stop: the lease ends now. Returns the chargers still marked
        connected on this node that were marked offline."""
        return await run_aside(nodes.node_stop, node_id=self.node_id)
