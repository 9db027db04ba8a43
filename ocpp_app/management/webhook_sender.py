"""The alert sender: every `serve` node sends due deliveries from the
durable queue (services/alert_deliveries.py decides, this does the I/O).

Each pass claims what is due, up to MAX_IN_FLIGHT sends on this node and
OCPP_WEBHOOK_CONCURRENCY per target (a webhook, or the mail server), and
starts one task per delivery: the signed POST with httpx (async, on the
server's event loop, OCPP_WEBHOOK_TIMEOUT for the whole attempt, redirects
not followed), or the e-mail through Django's mail settings on a worker
thread. The outcome is recorded aside. A target that is slow or dead holds
its own slots only; the others' deliveries are claimed and sent meanwhile,
and no charger's answer ever waits for any of it (the claims and outcomes
run on worker threads of their own, never on the group-commit writer's).

A pass runs every OCPP_WEBHOOK_POLL_INTERVAL seconds, at once when this
node queued new rows or a send ended (a slot freed). Every
SUBSCRIPTIONS_REFRESH seconds the node loads again what is subscribed to
(webhooks made on other nodes), and counts the queue for the metrics.
"""

import asyncio
import logging
import time

import httpx
from django.conf import settings

from ocpp_app.lib.alerts import url_problem
from ocpp_app.runtime import metrics
from ocpp_app.runtime.outage import Outage
from ocpp_app.runtime.side_thread import run_aside
from ocpp_app.services import alert_deliveries, webhooks
from ocpp_app.services.alert_deliveries import Claimed, Outcome

logger = logging.getLogger("ocpp_app.alerts")

MAX_IN_FLIGHT = 200  # sends at once on this node, all targets together
LEASE_MARGIN = 30.0  # a claim lasts the attempt's time-out and this much more
SUBSCRIPTIONS_REFRESH = 5.0
QUEUE_COUNT_INTERVAL = 15.0
STOP_GRACE = 5.0  # seconds a clean stop lets sends in flight finish


class WebhookSender:
    def __init__(
        self,
        *,
        node_id: str,
        poll_interval: float | None = None,
        per_target: int | None = None,
        timeout: float | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.node_id = node_id
        self.poll_interval = settings.OCPP_WEBHOOK_POLL_INTERVAL if poll_interval is None else poll_interval
        self.per_target = settings.OCPP_WEBHOOK_CONCURRENCY if per_target is None else per_target
        self.timeout = settings.OCPP_WEBHOOK_TIMEOUT if timeout is None else timeout
        self.max_in_flight = max_in_flight
        self.stop_grace = stop_grace
        self.busy: dict[str, int] = {}  # sends in flight by target
        self._tasks: set[asyncio.Task] = set()
        self._wake: asyncio.Event | None = None
        self._client: httpx.AsyncClient | None = None
        self._refreshed = self._counted = 0.0
        # One warning while the database is away, not one per pass or per send.
        self.outage = Outage(logger, "alerts: claiming and recording deliveries")

    def wake(self) -> None:
        """Look for due deliveries now (new rows were queued here)."""
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Claim and send until cancelled; a clean stop lets sends in flight
        finish for `stop_grace` seconds."""
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            # The bounds are this sender's own (per target, per node).
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=50),
        )
        try:
            while True:
                claimed = 0
                try:
                    await self._housekeeping()
                    claimed = await self.step()
                    self.outage.ok()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    self.outage.failed(error)
                if claimed and len(self._tasks) < self.max_in_flight:
                    continue  # more may be due
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            await self._stop_sends()

    async def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._refreshed >= SUBSCRIPTIONS_REFRESH:
            self._refreshed = now
            await run_aside(webhooks.subscriptions_refresh)
        if now - self._counted >= QUEUE_COUNT_INTERVAL:
            self._counted = now
            metrics.alert_queue_depth(await run_aside(alert_deliveries.deliveries_pending))

    async def step(self) -> int:
        """One claim: starts a send per delivery taken; returns how many."""
        room = self.max_in_flight - len(self._tasks)
        if room <= 0:
            return 0
        claimed = await run_aside(
            alert_deliveries.deliveries_claim,
            claimer=self.node_id,
            busy=dict(self.busy),
            per_target=self.per_target,
            limit=room,
            lease=self.timeout + LEASE_MARGIN,
        )
        loop = asyncio.get_running_loop()
        for delivery in claimed:
            self.busy[delivery.target] = self.busy.get(delivery.target, 0) + 1
            task = loop.create_task(self._deliver(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _deliver(self, delivery: Claimed) -> None:
        try:
            outcome = await self.attempt(delivery)
            try:
                verdict = await run_aside(
                    alert_deliveries.delivery_record, pk=delivery.pk, attempt=delivery.attempt, outcome=outcome
                )
            except Exception as error:
                # The claim runs out and the delivery is tried again: at least once.
                self.outage.failed(error)
                return
            if verdict is not None:
                metrics.alert_delivery(delivery.channel, verdict)
            if verdict == "failed":
                logger.warning(
                    "alerts: delivery %s (%s, %s) failed after %d attempt(s): %s",
                    delivery.uuid,
                    delivery.event_type,
                    delivery.target,
                    delivery.attempt,
                    outcome.error or outcome.status_code,
                )
        finally:
            left = self.busy.get(delivery.target, 1) - 1
            if left > 0:
                self.busy[delivery.target] = left
            else:
                self.busy.pop(delivery.target, None)
            self.wake()  # a slot is free

    async def attempt(self, delivery: Claimed) -> Outcome:
        """One attempt; never raises."""
        if delivery.problem:
            return Outcome(ok=False, error=delivery.problem)
        if delivery.channel == "email":
            return await asyncio.to_thread(alert_deliveries.email_send, delivery)
        # Checked again here: the allowed hosts may have changed since the webhook was saved.
        problem = url_problem(delivery.url, settings.OCPP_WEBHOOK_ALLOWED_HOSTS)
        if problem is not None:
            return Outcome(ok=False, error=f"not sent: {problem}")
        body = delivery.body.encode("utf-8")
        headers = alert_deliveries.request_headers(delivery, body)
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream("POST", delivery.url, content=body, headers=headers) as response:
                    status = response.status_code
        except TimeoutError:
            return Outcome(ok=False, error=f"no answer within {self.timeout:g} s")
        except httpx.TimeoutException:
            return Outcome(ok=False, error=f"no answer within {self.timeout:g} s")
        except Exception as error:  # refused, reset, DNS, TLS, a URL httpx cannot use
            return Outcome(ok=False, error=f"{type(error).__name__}: {error}".rstrip(": "))
        if 200 <= status < 300:
            return Outcome(ok=True, status_code=status)
        return Outcome(ok=False, status_code=status, error=f"answered HTTP {status}")

    async def _stop_sends(self) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.stop_grace)
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
