"""The load manager: keeps every circuit tree within its limits by sending
charging profiles (services/load.py decides, this sends).

It runs beside uvicorn on every node, and acts on the first live node by id
only (as the prune does): one place at a time across a cluster, handed over
when that node's lease runs out. Every OCPP_LOAD_INTERVAL seconds it plans
(off the event loop), then sends the orders through the command transport,
on record like an operator's commands (source "load"):

- the decreases first, all chargers at once, and the increases only once
  every decrease was accepted, so a change of shares never adds up above a
  limit (a cut that failed is counted at what that charger still applies);
- an order that failed (charger not answering) is not repeated for
  OCPP_LOAD_MIN_INTERVAL seconds, and a session's limit is raised at most that
  often (the plan says so): no profile storm;
- an accepted TxProfile is confirmed with GetCompositeSchedule, and what the
  charger says it applies is kept beside the limit;
- a plan that takes long (thousands of sessions) spaces the next ones out:
  the pause is at least BUSY_FACTOR times the plan.
"""

import asyncio
import logging
import time
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from ocpp_app.models import CommandStatus
from ocpp_app.ocpp.commands import send_command_async
from ocpp_app.runtime.outage import DATABASE_UNREACHABLE, Outage
from ocpp_app.runtime.side_thread import run_aside
from ocpp_app.services import load, nodes

logger = logging.getLogger("ocpp_app.load")

LEADER_CHECK = 5.0  # seconds between looks at which node is first
NOT_STEERABLE = frozenset({"NotSupported", "NotImplemented"})
COMMAND_TIMEOUT = 15.0
BUSY_FACTOR = 4  # the pause after a pass is at least this many times its plan


class LoadManager:
    def __init__(self, *, node_id: str, interval: float | None = None) -> None:
        self.node_id = node_id
        self.interval = settings.OCPP_LOAD_INTERVAL if interval is None else interval
        self._leader_until = 0.0
        self._leading = False
        self._failed: dict[tuple, tuple[float, float]] = {}  # order key -> (when it failed, how long to wait)
        self._last_sample = 0.0
        self.plan_seconds = 0.0  # how long the last plan took
        self._confirming: set[asyncio.Task] = set()  # GetCompositeSchedule confirmations in flight

    async def run(self) -> None:
        if self.interval <= 0:
            return
        failures = 0
        # The database away: one warning for the outage, not one per pass.
        outage = Outage(logger, "load manager: reaching the database")
        while True:
            # A large site's plan may take a while: never more than a fifth of
            # the time, so the node's own chargers keep the CPU.
            await asyncio.sleep(max(self.interval, BUSY_FACTOR * self.plan_seconds))
            try:
                if await self._is_leader():
                    await self.step()
                failures = 0
                outage.ok()
            except asyncio.CancelledError:
                raise
            except DATABASE_UNREACHABLE as error:
                outage.failed(error)
            except Exception:
                failures += 1
                logger.warning("load manager: a pass failed (attempt %d)", failures, exc_info=failures == 1)

    async def _is_leader(self) -> bool:
        if time.monotonic() >= self._leader_until:
            alive = await run_aside(nodes.nodes_alive)
            self._leading = not alive or alive[0] == self.node_id
            self._leader_until = time.monotonic() + LEADER_CHECK
        return self._leading

    async def step(self) -> load.Plan:
        """One pass: plan, send the decreases, then the increases."""
        started = time.monotonic()
        plan = await run_aside(load.load_plan)
        now = time.monotonic()
        self.plan_seconds = now - started
        self._failed = {key: (at, wait) for key, (at, wait) in self._failed.items() if now - at < wait}
        orders = [order for order in plan.orders if _key(order) not in self._failed]
        decreases = [o for o in orders if o.decrease]
        outcomes = await asyncio.gather(*(self._send(order) for order in decreases))
        # Raises only once every cut of the pass went through: a cut that did
        # not is counted at what that charger applies by the next plan.
        if all(status in ("accepted", "unknown") for status in outcomes):
            increases = [o for o in orders if not o.decrease]
            await asyncio.gather(*(self._send(order) for order in increases))
        if now - self._last_sample >= settings.OCPP_LOAD_SAMPLE_INTERVAL:
            self._last_sample = now
            await run_aside(load.load_sample)
        return plan

    async def _send(self, order: load.ProfileOrder) -> str:
        clearing = order.kind in (load.CLEAR_TX, load.CLEAR_FAILSAFE)
        result = await send_command_async(
            charger_id=order.charger_id,
            action="ClearChargingProfile" if clearing else "SetChargingProfile",
            payload=order.payload(now=timezone.now()),
            source="load",
            timeout=COMMAND_TIMEOUT,
        )
        answer = (result.response or {}).get("status") if result.ok else None
        if answer == "Accepted":
            status, detail = "accepted", ""
        elif answer in ("Rejected", "Unknown"):
            status = answer.lower()
            detail = f"{'ClearChargingProfile' if clearing else 'SetChargingProfile'} answered {answer}"
        elif result.status == CommandStatus.CALL_ERROR and result.error_code in NOT_STEERABLE:
            status, detail = "unsupported", f"the charger answered {result.error_code} to SetChargingProfile"
        else:
            status = "failed"
            detail = result.error_description or result.error_code or result.status
        if status == "rejected" and clearing:
            status = "unknown"
        if status not in ("accepted", "unknown"):
            # Not again for a while: a refused fail-safe for OCPP_LOAD_RETRY, anything else OCPP_LOAD_MIN_INTERVAL.
            refused_failsafe = order.kind == load.FAILSAFE and status == "rejected"
            wait = settings.OCPP_LOAD_RETRY if refused_failsafe else settings.OCPP_LOAD_MIN_INTERVAL
            self._failed[_key(order)] = (time.monotonic(), wait)
            logger.warning("load manager: %s %s: %s", order.charger_id, order.kind, detail)
        await run_aside(load.load_applied, order=order, status=status, detail=detail)
        if status == "accepted" and order.kind == load.TX:
            # Confirmed aside: a slow answer must not hold the pass.
            task = asyncio.get_running_loop().create_task(self._confirm(order))
            self._confirming.add(task)
            task.add_done_callback(self._confirming.discard)
        return status

    async def _confirm(self, order: load.ProfileOrder) -> None:
        result = await send_command_async(
            charger_id=order.charger_id,
            action="GetCompositeSchedule",
            payload={"connectorId": order.connector_id, "duration": 60, "chargingRateUnit": order.unit},
            source="load",
            timeout=COMMAND_TIMEOUT,
        )
        response = result.response or {}
        if not result.ok or response.get("status") != "Accepted":
            return
        periods = (response.get("chargingSchedule") or {}).get("chargingSchedulePeriod") or []
        try:
            limit = Decimal(str(periods[0]["limit"]))
        except (IndexError, KeyError, TypeError, InvalidOperation):
            return
        if order.unit == "W":
            limit = limit / (order.voltage * order.phases)
        await run_aside(load.load_confirmed, transaction_id=order.transaction_id, limit=load.tenths(limit))


def _key(order: load.ProfileOrder) -> tuple:
    return (order.charger_id, order.kind, order.connector_id, order.limit)
