"""The per-charger message log, written with the data it describes.

Every frame in and out is kept. A row is queued here on the event loop and
rides in the next group-commit batch's transaction (runtime/group_commit.py,
riders): a frame's row is committed together with the data it carried, before
the charger is answered, with no round trip of its own. Rows of frames that
no batch follows (the last answer of a quiet charger) are written by a short
timer, OCPP_LOG_FLUSH_INTERVAL seconds later, which delays no answer. The same
write bumps `last_seen` for the chargers that spoke, in one UPDATE.

No row keeps more than OCPP_LOG_PAYLOAD_MAX_BYTES of payload: a larger one
is stored as a note of its size and first characters (`cut`), so a charger
cannot turn the log into a way of filling the disk. What is handed here is
already redacted (ocpp/charge_point.py), so a cut never reveals a secret.
"""

import asyncio
import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from ocpp_app.lib import jsontext
from ocpp_app.models import Charger, MessageLog
from ocpp_app.runtime import group_commit
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.runtime.outage import DATABASE_UNREACHABLE, Outage

logger = logging.getLogger(__name__)
MAX_PENDING = 50_000  # beyond this a stuck database must not eat all memory
LAST_SEEN_RESOLUTION = 5.0  # seconds
RETRY_AFTER = 1.0  # seconds between tries to write held-back rows while the database is away
HEAD_CHARS = 1024  # what a cut payload keeps of its JSON text


def cut(text: str, *, head: int = HEAD_CHARS, **extra: Any) -> dict:
    """What is stored of a payload too large (or too pointless) to keep
    whole: its size in bytes and its first characters, marked as cut."""
    return {"_truncated": True, "bytes": len(text.encode("utf-8", "replace")), "head": text[:head], **extra}


def _capped(payload: Any) -> tuple[Any, str | None]:
    """The payload as it is stored, and its JSON text."""
    if payload is None:
        return None, None
    text = jsontext.dumps(payload)
    limit = settings.OCPP_LOG_PAYLOAD_MAX_BYTES
    # Characters never outnumber bytes: most rows are decided without encoding.
    if limit <= 0 or len(text) * 4 <= limit or len(text.encode("utf-8", "replace")) <= limit:
        return payload, text
    note = cut(text, head=min(HEAD_CHARS, limit))
    return note, jsontext.dumps(note)


class MessageLogWriter:
    def __init__(self) -> None:
        self._rows: list[tuple] = []
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None  # strong reference to a timer's flush
        self._bumped: dict[str, float] = {}  # charger id -> when its last_seen was last written (monotonic)
        self._committer = group_commit.get_committer()
        self._outage = Outage(logger, "writing the message log")
        self._committer.add_rider(self)

    def add(
        self,
        *,
        charger_id: str,
        direction: str,
        message_type: int | None,
        action: str,
        message_id: str,
        payload: Any,
    ) -> None:
        if len(self._rows) >= MAX_PENDING:
            logger.error("message log backlog full; dropping a %s frame of %s", direction, charger_id)
            return
        # A plain tuple: this runs twice per frame on the event loop.
        self._rows.append(
            (
                charger_id[:48],
                direction,
                message_type,
                (action or "")[:64],
                (message_id or "")[:64],
                payload,
                timezone.now(),
            )
        )
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(settings.OCPP_LOG_FLUSH_INTERVAL, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._rows:
            self._task = asyncio.get_running_loop().create_task(self._flush_on_timer())

    async def _flush_on_timer(self) -> None:
        """The timer's flush: while the database is away the rows are held
        back, and written by a later try."""
        try:
            await self.flush()
        except Exception as error:
            self._outage.failed(error)
            if self._rows and self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(RETRY_AFTER, self._on_timer)
            return
        self._outage.ok()

    async def flush(self) -> None:
        """Return once every row queued so far is committed."""
        if self._rows:
            await self._committer.ride()

    # -- as a group-commit rider --------------------------------------------------

    def take(self) -> list[tuple] | None:
        if not self._rows:
            return None
        rows, self._rows = self._rows, []
        return rows

    def write(self, rows: list[tuple]) -> None:
        _write_rows(rows=rows, seen=self._due_for_last_seen(rows))

    def _due_for_last_seen(self, rows: list[tuple]) -> set[str]:
        """Chargers that spoke and whose `last_seen` is older than
        LAST_SEEN_RESOLUTION: now that rows ride in every batch, bumping all
        of them each time was one more UPDATE per batch, doubling the work of
        a heartbeat. Staleness is judged over minutes; seconds are enough."""
        now = time.monotonic()
        due = set()
        for row in rows:
            if row[1] == "in" and now - self._bumped.get(row[0], -LAST_SEEN_RESOLUTION) >= LAST_SEEN_RESOLUTION:
                self._bumped[row[0]] = now
                due.add(row[0])
        if len(self._bumped) > MAX_PENDING:
            self._bumped = {cid: at for cid, at in self._bumped.items() if now - at < LAST_SEEN_RESOLUTION}
        return due

    def restore(self, rows: list[tuple]) -> None:
        self._rows[:0] = rows[: max(0, MAX_PENDING - len(self._rows))]


_COLUMNS = ("charger_id", "direction", "message_type", "action", "message_id", "payload", "timestamp")


def _insert_sql() -> str:
    quote = connection.ops.quote_name
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    columns = ", ".join(quote(column) for column in _COLUMNS)
    return f"INSERT INTO {quote(MessageLog._meta.db_table)} ({columns}) VALUES (%s, %s, %s, %s, %s, {payload}, %s)"


def _write_rows(*, rows: list[tuple], seen: set[str]) -> None:
    """One executemany for the batch: the ORM's bulk_create compiles every
    field of every row and cost more than the rest of the write path. Bumps
    `last_seen` of the chargers in `seen`."""
    adapt = connection.ops.adapt_datetimefield_value
    params = [(*row[:5], _capped(row[5])[1], adapt(row[6])) for row in rows]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(_insert_sql(), params)
    except DATABASE_UNREACHABLE:
        # The database went away (a restart, a failover): no row is at
        # fault. The batch fails whole and its rows are held back (`restore`)
        # until the database is back.
        raise
    except (DatabaseError, ValueError, TypeError):
        # One bad row must not lose the batch: retry row by row.
        logger.exception("message log batch failed; retrying row by row")
        for row in rows:
            try:
                with transaction.atomic():
                    fields = dict(zip(_COLUMNS, row, strict=True))
                    fields["payload"] = _capped(fields["payload"])[0]
                    MessageLog.objects.create(**fields)
            except DATABASE_UNREACHABLE:
                raise
            except (DatabaseError, ValueError, TypeError):
                logger.exception("dropping unstorable log row for %s", row[0])
    if seen:
        Charger.objects.filter(charger_id__in=seen).update(last_seen=timezone.now())


_writers: LoopLocal[MessageLogWriter] = LoopLocal(MessageLogWriter)


def get_writer() -> MessageLogWriter:
    """The writer of the running event loop (tests run one loop per test)."""
    return _writers.get()
