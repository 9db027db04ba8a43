"""Alerts on the real database, sent to real receivers on loopback ports:
the signature, the retries (a 500, then a 200), the attempts running out, a
410 Gone, a dead receiver holding only its own slots, e-mail through
Django's locmem backend, the intake of published events (the payload of
each type, nothing kept when nothing subscribes), the sweep's offline
alerts, the queue's retention, and two senders on PostgreSQL never sending
one row twice."""

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import sync_to_async
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from ocpp_app.lib import alerts
from ocpp_app.management.alert_intake import AlertIntake
from ocpp_app.management.webhook_sender import WebhookSender
from ocpp_app.models import (
    Charger,
    ChargerEvent,
    ChargerEventKind,
    Delivery,
    DeliveryStatus,
    Node,
    StatusNotificationRecord,
    Transaction,
    Webhook,
)
from ocpp_app.runtime import events
from ocpp_app.services import alert_deliveries, nodes, webhooks
from ocpp_app.services.retention import prune
from ocpp_app.tests.helpers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "s3cret-for-the-receiver-0123456789"
BASE_DIR = __import__("config.settings", fromlist=["BASE_DIR"]).BASE_DIR


# -- receivers --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # many senders at once: no connection refused by the backlog
    daemon_threads = True


class Receiver:
    """A webhook receiver (the standard library's HTTP server on a thread):
    it checks each request's signature with `secret` as docs/alerts.md tells
    receivers to, answers the statuses of `answers` in turn and 200 after
    them, and keeps every request."""

    def __init__(self, secret: str = SECRET, answers=(), port: int | None = None) -> None:
        self.secret = secret
        self.answers = list(answers)
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.requests.append(
                        {
                            "headers": dict(self.headers),
                            "body": body,
                            "json": json.loads(body),
                            "signed": hmac.compare_digest(expected, self.headers.get("X-OCPP-Signature", "")),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", port or 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def delivered(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if 200 <= r["status"] < 300]


class DeadReceiver:
    """A socket that accepts connections and reads, and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.connections: list[socket.socket] = []
        self.received = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(65536):
                self.received.set()

    def __enter__(self) -> "DeadReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        for conn in self.connections:
            conn.close()


# -- helpers ----------------------------------------------------------------------------------


def make_webhook(url: str, types=(alerts.CONNECTOR_FAULTED,), secret: str = SECRET, **fields) -> Webhook:
    webhook = Webhook(url=url, event_types=list(types), **fields)
    webhooks.webhook_set_secret(webhook, secret)
    webhook.full_clean()
    webhook.save()
    return webhook


def fault(charger_id: str = "CP1", **data) -> webhooks.AlertEvent:
    return webhooks.AlertEvent(
        alerts.CONNECTOR_FAULTED, charger_id, {"connector_id": 1, "error_code": "GroundFailure", **data}
    )


@contextlib.asynccontextmanager
async def sending(**options):
    options.setdefault("node_id", "node-test")
    sender = WebhookSender(poll_interval=0.05, stop_grace=0.2, **options)
    task = asyncio.get_running_loop().create_task(sender.run())
    try:
        yield sender
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def delivery_rows(**filters) -> list[Delivery]:
    return list(Delivery.objects.filter(**filters).order_by("id"))


arows = sync_to_async(delivery_rows)


@pytest.fixture(autouse=True)
def _subscriptions_unknown(monkeypatch):
    """Each test starts with the process's subscriptions not loaded yet."""
    monkeypatch.setattr(webhooks, "_subscribed", None)


@pytest.fixture
def quick_retries(settings):
    settings.OCPP_WEBHOOK_BACKOFF_BASE = 0.1
    settings.OCPP_WEBHOOK_BACKOFF_MAX = 0.2


# -- signing, retries, outcomes -----------------------------------------------------------------


async def test_a_delivery_is_a_post_of_the_event_signed_with_the_webhooks_secret():
    with Receiver() as receiver:
        webhook = await sync_to_async(make_webhook)(receiver.url)
        event = fault(info="Breaker")
        assert await sync_to_async(webhooks.alerts_enqueue)([event]) == 1
        async with sending():
            assert await wait_for(lambda: delivery_rows(status=DeliveryStatus.DELIVERED), timeout=10)
        [row] = await arows()
    [request] = receiver.requests
    assert request["signed"]
    assert request["headers"]["X-OCPP-Event"] == "connector.faulted"
    assert request["headers"]["X-OCPP-Delivery"] == str(row.uuid)
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "id": event.id,
        "type": "connector.faulted",
        "time": request["json"]["time"],
        "charger_id": "CP1",
        "data": {"connector_id": 1, "error_code": "GroundFailure", "info": "Breaker"},
    }
    assert request["body"] == row.body.encode()
    assert (row.webhook_id, row.status, row.attempts, row.last_status_code) == (
        webhook.pk,
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert row.finished_at is not None


async def test_a_500_is_tried_again_and_delivered_once_on_the_second_attempt(quick_retries):
    with Receiver(answers=[500]) as receiver:
        await sync_to_async(make_webhook)(receiver.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault()])
        async with sending():
            assert await wait_for(lambda: delivery_rows(status=DeliveryStatus.DELIVERED), timeout=10)
            await asyncio.sleep(0.5)  # nothing more comes
        [row] = await arows()
    assert [r["status"] for r in receiver.requests] == [500, 200]
    assert len({r["headers"]["X-OCPP-Delivery"] for r in receiver.requests}) == 1
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    assert all(r["signed"] for r in receiver.requests)
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == (DeliveryStatus.DELIVERED, 2, 200, "")


async def test_a_delivery_that_keeps_failing_fails_after_the_last_attempt(quick_retries, settings):
    settings.OCPP_WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver(answers=[500] * 10) as receiver:
        await sync_to_async(make_webhook)(receiver.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault()])
        async with sending():
            assert await wait_for(lambda: delivery_rows(status=DeliveryStatus.FAILED), timeout=10)
            await asyncio.sleep(0.5)
        [row] = await arows()
    assert len(receiver.requests) == 3
    assert (row.attempts, row.last_status_code, row.last_error) == (3, 500, "answered HTTP 500")
    assert row.finished_at is not None


async def test_a_closed_port_is_a_network_error_tried_again():
    port = free_port()  # nothing listens there
    await sync_to_async(make_webhook)(f"http://127.0.0.1:{port}/hook")
    await sync_to_async(webhooks.alerts_enqueue)([fault()])
    async with sending():
        assert await wait_for(lambda: delivery_rows(attempts=1, claimed_by=""), timeout=10)
    [row] = await arows()
    assert row.status == DeliveryStatus.PENDING
    assert row.last_status_code is None and "ConnectError" in row.last_error
    assert row.next_attempt_at > timezone.now()


async def test_a_410_gone_disables_the_webhook_and_fails_its_pending_deliveries():
    with Receiver(answers=[410]) as receiver:
        webhook = await sync_to_async(make_webhook)(receiver.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault()])
        later = await sync_to_async(webhooks.alerts_enqueue)([fault("CP2")])
        assert later == 1
        await Delivery.objects.filter(charger_id="CP2").aupdate(next_attempt_at=timezone.now() + timedelta(hours=1))
        async with sending():
            assert await wait_for(lambda: len(delivery_rows(status=DeliveryStatus.FAILED)) == 2, timeout=10)
    assert len(receiver.requests) == 1
    assert not (await Webhook.objects.aget(pk=webhook.pk)).active
    first, second = await arows()
    assert "410 Gone" in first.last_error and first.last_status_code == 410
    assert second.attempts == 0 and "410 Gone" in second.last_error


async def test_a_dead_receiver_holds_only_its_own_slots():
    with DeadReceiver() as dead, Receiver() as alive:
        stuck = await sync_to_async(make_webhook)(dead.url)
        await sync_to_async(make_webhook)(alive.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault(f"CP{i}") for i in range(10)])
        async with sending(per_target=2, timeout=30) as sender:
            assert await wait_for(
                lambda: len(delivery_rows(webhook__url=alive.url, status=DeliveryStatus.DELIVERED)) == 10, timeout=10
            )
            assert await wait_for(lambda: dead.received.is_set(), timeout=10)
            # The dead one has its two slots in flight, no more, and the rest wait.
            assert await wait_for(lambda: sender.busy == {f"webhook:{stuck.pk}": 2}, timeout=10)
        assert len(alive.delivered()) == 10
        assert len(await arows(webhook__url=dead.url, status=DeliveryStatus.PENDING)) == 10
        assert len(await arows(webhook__url=dead.url, attempts=1)) == 2


async def test_an_inactive_webhooks_deliveries_wait():
    with Receiver() as receiver:
        webhook = await sync_to_async(make_webhook)(receiver.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault()])
        await Webhook.objects.filter(pk=webhook.pk).aupdate(active=False)
        async with sending():
            await asyncio.sleep(0.5)
            assert receiver.requests == []
            await Webhook.objects.filter(pk=webhook.pk).aupdate(active=True)
            assert await wait_for(lambda: delivery_rows(status=DeliveryStatus.DELIVERED), timeout=10)
    assert len(receiver.delivered()) == 1


def test_a_secret_is_stored_encrypted_and_read_back_for_signing():
    webhook = make_webhook("http://127.0.0.1:9/hook")
    assert webhook.secret.startswith("fernet:") and SECRET not in webhook.secret
    webhooks.alerts_enqueue([fault()])
    [claimed] = alert_deliveries.deliveries_claim(claimer="n", busy={}, per_target=4, limit=10, lease=30)
    assert claimed.secret == SECRET
    assert SECRET not in repr(claimed)


# -- e-mail -----------------------------------------------------------------------------------


async def test_an_email_alert_goes_through_the_queue_and_djangos_mail(settings):
    settings.OCPP_ALERT_EMAILS = ["ops@example.com", "night@example.com"]
    settings.OCPP_ALERT_EMAIL_EVENTS = [alerts.CONNECTOR_FAULTED]
    written = await sync_to_async(webhooks.alerts_enqueue)(
        [fault(), webhooks.AlertEvent(alerts.CHARGER_CONNECTED, "CP1", {})]
    )
    assert written == 1  # charger.connected is not among the e-mail events
    async with sending():
        assert await wait_for(lambda: delivery_rows(status=DeliveryStatus.DELIVERED), timeout=10)
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "night@example.com"]
    assert message.subject.startswith("[OCPP] connector.faulted: CP1")
    assert "error_code: GroundFailure" in message.body
    [row] = await arows()
    assert (row.channel, row.attempts) == ("email", 1)


def test_a_bad_email_event_type_stops_the_start_up():
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "OCPP_ALERT_EMAIL_EVENTS": "charger.offline,charger.exploded"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: OCPP_ALERT_EMAIL_EVENTS: unknown event type 'charger.exploded'" in result.stderr


# -- the intake of published events -------------------------------------------------------------


@contextlib.asynccontextmanager
async def intake_installed():
    intake = AlertIntake()
    intake.install()
    try:
        yield intake
    finally:
        intake.uninstall()


async def test_published_events_become_deliveries_with_their_details():
    charger = await Charger.objects.acreate(charger_id="CP1")
    await sync_to_async(make_webhook)("http://127.0.0.1:9/hook", types=alerts.EVENT_TYPES)
    await sync_to_async(webhooks.subscriptions_refresh)()
    start = timezone.now() - timedelta(minutes=1)
    tx = await Transaction.objects.acreate(
        charger=charger, connector_id=2, id_tag="CARD-12345", meter_start=1000, start_time=start
    )
    await StatusNotificationRecord.objects.acreate(
        charger=charger,
        connector_id=1,
        status="Faulted",
        error_code="OverCurrentFailure",
        info="Relay",
        vendor_id="ACME",
        vendor_error_code="E42",
    )
    await ChargerEvent.objects.acreate(
        charger=charger,
        kind=ChargerEventKind.SECURITY,
        status="TamperDetectionActivated",
        payload={"type": "TamperDetectionActivated", "techInfo": "lid open"},
    )
    async with intake_installed() as intake:
        await events.publish("CP1", "connected")
        await events.publish("CP1", "status", connector_id=1, status="Faulted", error_code="OverCurrentFailure")
        await events.publish("CP1", "status", connector_id=1, status="Available", error_code="NoError")
        await events.publish("CP1", "heartbeat")
        await events.publish("CP1", "transaction", connector_id=2, transaction_id=tx.pk, state="started")
        await events.publish("CP1", "security", event_type="TamperDetectionActivated")
        await Transaction.objects.filter(pk=tx.pk).aupdate(
            meter_stop=4500, energy_wh=3500, stop_time=timezone.now(), stop_reason="Local"
        )
        await events.publish("CP1", "transaction", transaction_id=tx.pk, state="stopped")
        await events.publish("CP1", "disconnected")
        assert await intake.flush()
    rows = await arows()
    payloads = {row.event_type: json.loads(row.body) for row in rows}
    assert [row.event_type for row in rows] == [
        "charger.connected",
        "connector.faulted",
        "transaction.started",
        "security.event",
        "transaction.stopped",
        "charger.offline",
    ]
    assert payloads["connector.faulted"]["data"] == {
        "connector_id": 1,
        "status": "Faulted",
        "error_code": "OverCurrentFailure",
        "info": "Relay",
        "vendor_id": "ACME",
        "vendor_error_code": "E42",
        "timestamp": payloads["connector.faulted"]["data"]["timestamp"],
    }
    started = payloads["transaction.started"]["data"]
    assert (started["transaction_id"], started["connector_id"], started["id_tag"], started["meter_start"]) == (
        tx.pk,
        2,
        "••••45",
        1000,
    )
    stopped = payloads["transaction.stopped"]["data"]
    assert (stopped["meter_stop"], stopped["energy_wh"], stopped["stop_reason"]) == (4500, 3500, "Local")
    assert "CARD-12345" not in "".join(row.body for row in rows)
    assert payloads["security.event"]["data"] == {
        "event_type": "TamperDetectionActivated",
        "tech_info": "lid open",
        "timestamp": None,
        "critical": True,
    }
    assert payloads["charger.offline"]["data"] == {"reason": "disconnected"}
    assert len({p["id"] for p in payloads.values()}) == 6


async def test_nothing_is_kept_when_nothing_subscribes_to_the_event():
    await sync_to_async(make_webhook)("http://127.0.0.1:9/hook", types=[alerts.SECURITY_EVENT])
    await sync_to_async(webhooks.subscriptions_refresh)()
    async with intake_installed() as intake:
        await events.publish("CP1", "connected")
        await events.publish("CP1", "status", connector_id=1, status="Faulted", error_code="OtherError")
        assert intake._buffers.get().pending == []
        await events.publish("CP1", "security", event_type="FirmwareUpdated")
        assert len(intake._buffers.get().pending) == 1
        assert await intake.flush()
    assert [row.event_type for row in await arows()] == ["security.event"]


async def test_a_listener_that_raises_fails_neither_the_publisher_nor_the_other_listeners():
    heard = []

    def broken(event):
        raise RuntimeError("a bug")

    events.listen(broken)
    events.listen(heard.append)
    events.listen(heard.append)  # once is enough
    try:
        await events.publish("CP1", "heartbeat")
    finally:
        events.unlisten(broken)
        events.unlisten(heard.append)
    assert heard == [{"charger_id": "CP1", "kind": "heartbeat"}]
    await events.publish("CP1", "heartbeat")
    assert len(heard) == 1


async def test_a_webhook_sees_only_the_chargers_it_names():
    await sync_to_async(make_webhook)("http://127.0.0.1:9/hook", chargers=["CP2"])
    assert await sync_to_async(webhooks.alerts_enqueue)([fault("CP1"), fault("CP2")]) == 1
    assert [row.charger_id for row in await arows()] == ["CP2"]


# -- the sweep, the retention -----------------------------------------------------------------


def test_a_dead_nodes_chargers_get_offline_alerts_with_the_sweep():
    make_webhook("http://127.0.0.1:9/hook", types=[alerts.CHARGER_OFFLINE])
    now = timezone.now()
    Node.objects.create(node_id="dead", lease_expires_at=now - timedelta(seconds=5))
    for charger_id in ("CP1", "CP2"):
        Charger.objects.create(charger_id=charger_id, connected=True, node_id="dead")
    Charger.objects.create(charger_id="CP3", connected=True, node_id="alive")
    assert nodes.nodes_sweep(sweeper="alive") == {"dead": 2}
    rows = delivery_rows()
    assert sorted(row.charger_id for row in rows) == ["CP1", "CP2"]
    assert {json.loads(row.body)["data"]["reason"] for row in rows} == {"node_lease_expired"}


def test_finished_deliveries_are_pruned_with_the_message_log_and_pending_ones_kept(settings):
    make_webhook("http://127.0.0.1:9/hook")
    webhooks.alerts_enqueue([fault("CP1"), fault("CP2"), fault("CP3")])
    old, recent, pending = delivery_rows()
    now = timezone.now()
    Delivery.objects.filter(pk=old.pk).update(status=DeliveryStatus.DELIVERED, finished_at=now - timedelta(days=31))
    Delivery.objects.filter(pk=recent.pk).update(status=DeliveryStatus.FAILED, finished_at=now - timedelta(days=29))
    Delivery.objects.filter(pk=pending.pk).update(created_at=now - timedelta(days=90))
    assert prune(now=now, message_log_days=30)["alert_deliveries"] == 1
    assert [row.pk for row in delivery_rows()] == [recent.pk, pending.pk]


# -- many senders (PostgreSQL) ----------------------------------------------------------------

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serves one process")


@postgres_only
def test_a_claim_skips_the_rows_another_claim_holds_locked():
    make_webhook("http://127.0.0.1:9/hook")
    webhooks.alerts_enqueue([fault(f"CP{i}") for i in range(4)])
    first_two = [row.pk for row in delivery_rows()[:2]]
    holding, release, result = threading.Event(), threading.Event(), []

    def hold() -> None:
        with transaction.atomic():
            list(Delivery.objects.select_for_update().filter(pk__in=first_two))
            holding.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    try:

        def claim() -> None:
            result.extend(
                alert_deliveries.deliveries_claim(claimer="other", busy={}, per_target=10, limit=10, lease=30)
            )
            connection.close()

        claimer = threading.Thread(target=claim)
        claimer.start()
        claimer.join(10)
        assert not claimer.is_alive()  # it skipped the locked rows instead of waiting
    finally:
        release.set()
        thread.join(10)
    assert sorted(c.pk for c in result) == [row.pk for row in delivery_rows()[2:]]


@postgres_only
async def test_two_senders_never_send_one_row_twice():
    with Receiver() as receiver:
        await sync_to_async(make_webhook)(receiver.url)
        await sync_to_async(webhooks.alerts_enqueue)([fault(f"CP{i}") for i in range(300)])
        async with sending(node_id="node-a", per_target=50), sending(node_id="node-b", per_target=50):
            assert await wait_for(lambda: len(delivery_rows(status=DeliveryStatus.DELIVERED)) == 300, timeout=60)
            await asyncio.sleep(0.5)
    sent = Counter(r["headers"]["X-OCPP-Delivery"] for r in receiver.requests)
    assert len(sent) == 300 and set(sent.values()) == {1}
    rows = await arows()
    assert {row.status for row in rows} == {DeliveryStatus.DELIVERED}
    assert {row.attempts for row in rows} == {1}


def test_a_webhook_saved_here_counts_at_once_even_when_a_slower_load_ends_after_it():
    # The sender's periodic load reads before the webhook is saved and
    # finishes after the save's own load: what it read must not undo it.
    webhooks.subscriptions_refresh()
    assert not webhooks.wants(alerts.CHARGER_CONNECTED)
    stale = webhooks.subscriptions_read()
    make_webhook("http://127.0.0.1:9/hook", types=[alerts.CHARGER_CONNECTED])  # committed: its load ran
    assert webhooks.wants(alerts.CHARGER_CONNECTED)
    assert not webhooks.subscriptions_store(*stale)
    assert webhooks.wants(alerts.CHARGER_CONNECTED)
    # A load begun after the change is kept.
    assert webhooks.subscriptions_store(*webhooks.subscriptions_read())
