"""The ordered outbox of a simulated charger.

Transaction messages (StartTransaction, MeterValues, StopTransaction) are
queued and delivered one at a time, in order. While the connection is down
the charger keeps charging and they wait; after reconnecting they are
replayed, with the transaction id the central system gave filled in. A
message that keeps failing is dropped after TransactionMessageAttempts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace

from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from simulator.model import Session

logger = logging.getLogger("simulator")

#: Messages a charger stores while offline and replays in order (OCPP §4.7).
DURABLE = (call.StartTransaction, call.MeterValues, call.StopTransaction)


@dataclass
class Queued:
    payload: object
    session: Session | None = None
    attempts: int = 0


class OutboxMixin:
    """Behaviour of ChargePointSimulator that delivers its transaction messages."""

    async def wait_drained(self) -> None:
        while self.outbox:
            self._outbox_changed.clear()
            await self._outbox_changed.wait()

    def enqueue(self, payload, session: Session | None = None) -> None:
        self.outbox.append(Queued(payload, session))
        self._outbox_changed.set()

    async def _drain_outbox(self) -> None:
        """Deliver queued transaction messages one by one, in order."""
        while True:
            if not self.outbox:
                self._outbox_changed.clear()
                await self._outbox_changed.wait()
                continue
            await self._online.wait()
            item = self.outbox[0]
            payload = item.payload
            if item.session is not None and not isinstance(payload, call.StartTransaction):
                if item.session.transaction_id is None:
                    # Its StartTransaction was refused: nothing to attach to.
                    self._drop(item, "no transaction id")
                    continue
                payload = replace(payload, transaction_id=item.session.transaction_id)
            try:
                result = await self._call(payload)
            except ConnectionError:
                await asyncio.sleep(0)
                continue
            except TimeoutError:
                item.attempts += 1
                if item.attempts >= self._int_key("TransactionMessageAttempts", 3):
                    self._drop(item, "no answer")
                continue
            except OCPPError as error:
                self.stats.errors += 1
                item.attempts += 1
                self.last_error = f"{type(payload).__name__} answered {type(error).__name__}: {error.description}"
                if item.attempts >= self._int_key("TransactionMessageAttempts", 3):
                    self._drop(item, self.last_error)
                else:
                    await self._sleep(min(self._int_key("TransactionMessageRetryInterval", 10), 5))
                continue
            except Exception as error:  # e.g. an answer that fails the schema: never retried forever
                self.stats.errors += 1
                self.last_error = f"{type(payload).__name__}: {type(error).__name__}: {error}"
                self._drop(item, self.last_error)
                continue
            self.outbox.popleft()
            self._outbox_changed.set()
            if isinstance(payload, call.StartTransaction) and item.session is not None:
                item.session.started(result.transaction_id, (result.id_tag_info or {}).get("status", "Accepted"))

    def _drop(self, item: Queued, why: str) -> None:
        logger.warning("%s: dropping %s: %s", self.config.cp_id, type(item.payload).__name__, why)
        self.stats.dropped.append(item.payload)
        if self.outbox and self.outbox[0] is item:
            self.outbox.popleft()
        self._outbox_changed.set()
