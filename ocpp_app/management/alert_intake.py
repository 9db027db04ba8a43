"""From charger events to queued alerts, without slowing the charger.

`AlertIntake` listens to every published event (runtime/events.py), on the
charger's path: it keeps, in memory, only an event that is an alert
(lib/alerts.alert_type) of a type something subscribes to (a set in memory,
services/webhooks.wants), with the time and a new event id. Every
FLUSH_INTERVAL seconds the kept events are written as delivery rows aside
(runtime/batch_buffer.py): the rows behind them read for the payload
(selectors/alerts.py), one row per event and subscriber. The charger's
answer never waits for any of it: it was sent after its own commit, before
the event was published.

What a process killed without a goodbye had kept but not yet written (up
to FLUSH_INTERVAL seconds of events) is lost; a clean stop writes it
(`drain`). docs/alerts.md says so.

`manage.py serve` installs it (never the other processes: a test or a
`migrate` publishes nothing that alerts should send).
"""

import uuid
from collections.abc import Callable

from django.utils import timezone

from ocpp_app.lib.alerts import alert_type
from ocpp_app.runtime import events, metrics
from ocpp_app.runtime.batch_buffer import BatchBuffer
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.selectors.alerts import alert_events
from ocpp_app.services import webhooks

FLUSH_INTERVAL = 0.2
# Events kept while the database is away; the newest beyond are dropped (and counted).
MAX_PENDING = 50_000


def alerts_write(*, items: list) -> int:
    """Aside: the delivery rows of a batch of kept events."""
    return webhooks.alerts_enqueue(alert_events(items))


class AlertIntake:
    def __init__(
        self,
        *,
        interval: float = FLUSH_INTERVAL,
        max_pending: int = MAX_PENDING,
        written: Callable[[int], None] | None = None,
    ) -> None:
        self._written = written  # told how many rows a batch wrote (the sender wakes up)
        self._buffers: LoopLocal[BatchBuffer] = LoopLocal(
            lambda: BatchBuffer(
                alerts_write,
                name="alert deliveries",
                interval=interval,
                max_pending=max_pending,
                dropped=metrics.alert_events_dropped,
                written=self._rows_written,
            )
        )

    def __call__(self, event: dict) -> None:
        """The listener: on the charger's path, memory only."""
        kind = alert_type(event)
        if kind is None or not webhooks.wants(kind):
            return
        self._buffers.get().add((kind, timezone.now(), str(uuid.uuid4()), event))

    def _rows_written(self, rows: int) -> None:
        if rows and self._written is not None:
            self._written(rows)

    def install(self) -> None:
        events.listen(self)

    def uninstall(self) -> None:
        events.unlisten(self)

    async def flush(self) -> bool:
        """Write what is kept now (tests)."""
        return await self._buffers.get().flush()

    async def drain(self, timeout: float = 10.0) -> bool:
        """A clean stop: write everything kept; False if the database could not take it in time."""
        return await self._buffers.get().drain(timeout)
