"""Items gathered on the event loop and written in batches aside: `add` is
an append to a list (what the charger's path may afford), and a task of the
loop hands everything gathered every `interval` seconds to `write`, on a
worker thread of its own (runtime/side_thread.py), never on the group-commit
writer's thread whose queue holds the chargers' answers.

While the database cannot be reached a batch is kept and tried again (up to
`max_pending` items in all, the newest beyond that dropped and counted); a
batch the database refuses for another reason is logged and dropped, never
tried forever. What is still in memory when the process is killed is lost:
the caller says so where it matters (docs/alerts.md).
"""

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from typing import Any

from ocpp_app.runtime.outage import DATABASE_UNREACHABLE, Outage
from ocpp_app.runtime.side_thread import run_aside

logger = logging.getLogger(__name__)
RETRY_MAX = 5.0  # seconds between attempts while the database is away


class BatchBuffer:
    def __init__(
        self,
        write: Callable[[list], Any],
        *,
        name: str,
        interval: float,
        max_pending: int,
        dropped: Callable[[int], None] | None = None,
        written: Callable[[Any], None] | None = None,
    ) -> None:
        self._write = write  # runs aside with the batch as `items`
        self.name = name
        self.interval = interval
        self.max_pending = max_pending
        self._dropped = dropped  # told how many items were dropped
        self._written = written  # told what `write` returned, on the loop
        self.pending: list = []
        self._task: asyncio.Task | None = None
        self._writing: asyncio.Future | None = None
        self.outage = Outage(logger, f"writing {name}")

    def add(self, item: Any) -> None:
        """On the event loop: keep `item` for the next batch."""
        if len(self.pending) >= self.max_pending:
            if self._dropped is not None:
                self._dropped(1)
            return
        self.pending.append(item)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write_soon(), context=contextvars.Context())

    async def _write_soon(self) -> None:
        delay = self.interval
        while self.pending:
            await asyncio.sleep(delay)
            delay = self.interval if await self.flush() else min(RETRY_MAX, max(delay, 0.1) * 2)

    async def flush(self) -> bool:
        """Write what is gathered now; False when the database could not be
        reached (the batch is kept for the next attempt)."""
        if self._writing is not None:
            # One batch at a time, in order; that one's outcome is its own flush's.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writing)
        batch, self.pending = self.pending, []
        if not batch:
            return True
        self._writing = asyncio.ensure_future(run_aside(self._write, items=batch))
        try:
            result = await asyncio.shield(self._writing)
        except DATABASE_UNREACHABLE as error:
            kept = (batch + self.pending)[: self.max_pending]
            if self._dropped is not None and len(batch) + len(self.pending) > len(kept):
                self._dropped(len(batch) + len(self.pending) - len(kept))
            self.pending = kept
            self.outage.failed(error)
            return False
        except Exception:
            logger.exception("%s: a batch of %d was refused and dropped", self.name, len(batch))
            if self._dropped is not None:
                self._dropped(len(batch))
            return True
        finally:
            self._writing = None
        self.outage.ok()
        if self._written is not None:
            self._written(result)
        return True

    async def drain(self, timeout: float = 10.0) -> bool:
        """Write everything gathered (a clean stop); False if the database
        could not take it within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while self.pending or self._writing is not None:
                    if not await self.flush():
                        await asyncio.sleep(0.2)
        except TimeoutError:
            return False
        return True
