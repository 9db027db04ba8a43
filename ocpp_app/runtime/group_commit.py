"""Group commit: the database path of every charger message.

Each handler calls exactly one service. Calling it through
`database_sync_to_async` costs a thread hop and a commit per message, and the
ORM runs on one thread anyway (thread_sensitive), so thousands of chargers
queue behind each other one round trip at a time. Instead every handler
awaits `run(service, **kwargs)`: calls queue up, and one writer per event
loop executes everything queued so far in ONE thread hop and ONE database
transaction, then resolves each caller. A charger is answered only after its
data is committed (durability first). Under light load a batch holds one call
and nothing waits; under heavy load batches grow and the per-message cost
falls.

If anything in a batch raises, the whole transaction is rolled back and each
call is re-run alone, so one bad message never fails or loses another's.

Riders (the message log) put their pending rows into the same transaction:
a frame's log row is committed together with the data it carried, before the
charger is answered, and costs no transaction of its own.

A service may offer a batched form as its `many` attribute, taking the list of
keyword dicts and returning one result per dict: the calls of one batch to it
then become one statement (heartbeats: one UPDATE for all chargers). Calls in
one batch come from different chargers (each charger has one message in
flight), so running them grouped does not reorder any charger's messages.
"""

import asyncio
import contextvars
import time
from collections.abc import Callable
from typing import Any, Protocol

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, transaction

from ocpp_app.runtime import metrics
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.runtime.outage import DATABASE_UNREACHABLE

MAX_BATCH = 500


class Rider(Protocol):
    """Rows that travel in the next batch's transaction."""

    def take(self) -> Any:
        """What is pending (on the event loop), or None when nothing is."""

    def write(self, taken: Any) -> None:
        """Store what `take` gave (on the writer thread, inside the batch's
        transaction). Must not raise for bad rows: it isolates them itself."""

    def restore(self, taken: Any) -> None:
        """Put back what `take` gave when the batch never reached the database."""


def _write_riders(taken: list[tuple[Rider, Any]]) -> None:
    for rider, rows in taken:
        rider.write(rows)


def _run_alone(fn: Callable, kwargs: dict) -> tuple[bool, Any]:
    try:
        with transaction.atomic():
            return True, fn(**kwargs)
    except Exception as exc:  # handed to the caller, who maps it to a CALLERROR
        return False, exc


def _execute_all(calls: list[tuple[Callable, dict]]) -> list[tuple[bool, Any]]:
    results: list[tuple[bool, Any]] = [(False, None)] * len(calls)
    grouped: dict[Callable, list[int]] = {}
    for index, (fn, kwargs) in enumerate(calls):
        many = getattr(fn, "many", None)
        if many is not None:
            grouped.setdefault(many, []).append(index)
        else:
            results[index] = (True, fn(**kwargs))
    for many, indexes in grouped.items():
        values = many([calls[index][1] for index in indexes])
        for index, value in zip(indexes, values, strict=True):
            results[index] = (True, value)
    return results


def _keep_connection_healthy() -> None:
    """The writer thread keeps its database connection open across batches
    whatever CONN_MAX_AGE says (a new connection per batch would cost more than
    the batch). It is dropped only when it broke, e.g. the server restarted."""
    if connection.connection is not None and connection.errors_occurred:
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()


def _execute(calls: list[tuple[Callable, dict]], riding: list[tuple[Rider, Any]]) -> list[tuple[bool, Any]]:
    _keep_connection_healthy()
    try:
        with transaction.atomic():
            _write_riders(riding)
            if len(calls) == 1:
                fn, kwargs = calls[0]
                return [(True, fn(**kwargs))]
            return _execute_all(calls)
    except Exception as error:
        if isinstance(error, DATABASE_UNREACHABLE) and (connection.connection is None or not connection.is_usable()):
            # The database is away, not one call at fault: running them alone
            # would wait for it again, each. The batch fails whole (the
            # riders' rows are held back by _drain).
            raise
        # Nothing of the batch was committed: the riders' rows alone, then
        # each call alone, so the failing one fails by itself.
        with transaction.atomic():
            _write_riders(riding)
        # Counted once the riders' rows are in: when they fail too, the hop
        # fails and _drain counts it, once.
        if isinstance(error, DatabaseError):
            metrics.database_error()
        if len(calls) == 1:
            return [(False, error)]
        return [_run_alone(fn, kwargs) for fn, kwargs in calls]


class GroupCommitter:
    def __init__(self) -> None:
        self._queue: list[tuple[Callable, dict, asyncio.Future]] = []
        self._draining = False
        self._task: asyncio.Task | None = None  # a strong reference: the loop keeps only weak ones
        self._riders: list[Rider] = []

    def add_rider(self, rider: Rider) -> None:
        self._riders.append(rider)

    def _take_riders(self) -> list[tuple[Rider, Any]]:
        taken = []
        for rider in self._riders:
            rows = rider.take()
            if rows is not None:
                taken.append((rider, rows))
        return taken

    async def run(self, fn: Callable, /, **kwargs: Any) -> Any:
        """Run `fn(**kwargs)` (a sync service) in the next batch; return its
        result once the batch has committed, or raise what it raised."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((fn, kwargs, future))
        self._start(loop)
        return await future

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._draining:
            self._draining = True
            # A fresh context: a drain started from inside an HTTP request must
            # not inherit that request's thread (asgiref ThreadSensitiveContext),
            # which is gone once the request ends.
            self._task = loop.create_task(self._drain(), context=contextvars.Context())

    async def ride(self) -> None:
        """Write the riders' pending rows now (with the next batch, or alone),
        and return once they are committed."""
        await self.run(_nothing)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                riding = self._take_riders()
                started = time.perf_counter()
                try:
                    # thread_sensitive: one thread, so one long-lived connection.
                    outcomes = await sync_to_async(_execute, thread_sensitive=True)(
                        [(fn, kwargs) for fn, kwargs, _ in batch], riding
                    )
                except Exception as exc:  # the hop itself failed (e.g. database unreachable)
                    metrics.database_error()
                    for rider, rows in riding:
                        rider.restore(rows)
                    outcomes = [(False, exc)] * len(batch)
                else:
                    metrics.batch_committed(len(batch), time.perf_counter() - started)
                for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # the caller went away (socket closed)
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._draining = False


def _nothing() -> None:
    """A call that only carries the riders' rows to the database."""


_committers: LoopLocal[GroupCommitter] = LoopLocal(GroupCommitter)


def get_committer() -> GroupCommitter:
    """The committer of the running event loop."""
    return _committers.get()


async def run(fn: Callable, /, **kwargs: Any) -> Any:
    """`await run(service, **kwargs)`: the service, group-committed."""
    return await get_committer().run(fn, **kwargs)
