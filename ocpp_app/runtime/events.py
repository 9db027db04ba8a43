"""Live updates for browsers: every change a charger reports is announced on
one channel-layer group, so a dashboard served by any worker process (Redis
layer) sees it without reloading.

Events are gathered per process and sent every FLUSH_INTERVAL seconds as one
`charger.events` message: a group_send per charger message would be a Redis
round trip per frame on the hot path.

Listeners (`listen`) are also handed every event, synchronously inside
`publish`, on the charger's path: a listener only looks and appends to
memory (alerts keep the events a webhook wants, management/alert_intake.py),
never awaits, never touches the database or the network. One that raises is
logged and the others still run.
"""

import asyncio
import contextvars
import logging
from collections.abc import Callable

from channels.layers import get_channel_layer

from ocpp_app.runtime import metrics
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.runtime.outage import Outage

logger = logging.getLogger(__name__)
DASHBOARD_GROUP = "ocpp.dashboard"
FLUSH_INTERVAL = 0.05
MAX_PENDING = 10_000  # a stuck layer must not eat all memory


class _Publisher:
    def __init__(self) -> None:
        self.pending: list[dict] = []
        self.task: asyncio.Task | None = None
        # Browsers miss what could not be published; they catch up on reload.
        self.outage = Outage(logger, "publishing charger events to the dashboards")

    def add(self, event: dict) -> None:
        if len(self.pending) < MAX_PENDING:
            self.pending.append(event)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._flush_soon(), context=contextvars.Context())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL)
        await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        layer = get_channel_layer()
        if not batch or layer is None:
            return
        try:
            await layer.group_send(DASHBOARD_GROUP, {"type": "charger.events", "events": batch})
        except Exception as error:  # a broken layer must not break the charger's session
            metrics.layer_error("group_send")
            self.outage.failed(error)
            return
        self.outage.ok()


_publishers: LoopLocal[_Publisher] = LoopLocal(_Publisher)
Listener = Callable[[dict], None]
_listeners: tuple[Listener, ...] = ()


def listen(listener: Listener) -> None:
    """Hand every published event (the dict subscribers receive) to
    `listener` from now on; listening twice is listening once."""
    global _listeners
    if listener not in _listeners:
        _listeners = (*_listeners, listener)


def unlisten(listener: Listener) -> None:
    global _listeners
    _listeners = tuple(known for known in _listeners if known != listener)


async def publish(charger_id: str, kind: str, **data) -> None:
    """Announce that `charger_id` changed (`kind`: connected, disconnected,
    boot, status, transaction, meter, heartbeat, ...). Never fails the caller;
    subscribers receive it within FLUSH_INTERVAL, inside a `charger.events`
    message whose `events` are dicts with `charger_id`, `kind` and the data."""
    event = {"charger_id": charger_id, "kind": kind, **data}
    _publishers.get().add(event)
    for listener in _listeners:
        try:
            listener(event)
        except Exception:  # a listener's bug must not fail the charger's message
            logger.exception("an event listener failed on a %s event", kind)


async def flush() -> None:
    """Send what is gathered now (tests, shutdown)."""
    await _publishers.get().flush()
