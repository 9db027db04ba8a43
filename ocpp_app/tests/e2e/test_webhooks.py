"""Alerts against real `manage.py serve` processes: a receiver that never
answers does not delay the chargers' answers (the answers come while its
request is still open), deliveries queued before a node was killed are
sent by the next one, and a webhook made through the API is pinged with
the secret its create answer showed."""

import asyncio
import json

import pytest
import requests
from asgiref.sync import sync_to_async
from ocpp.v16 import call as ocpp_call

from ocpp_app.lib import alerts
from ocpp_app.models import Delivery, DeliveryStatus, Webhook
from ocpp_app.services import webhooks
from ocpp_app.tests.helpers import connected_charge_point, create_staff, token_of, wait_for
from ocpp_app.tests.services.test_webhooks import SECRET, DeadReceiver, Receiver, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def make_webhook(url: str, types) -> Webhook:
    webhook = Webhook(url=url, event_types=list(types))
    webhooks.webhook_set_secret(webhook, SECRET)
    webhook.save()
    return webhook


def deliveries(**filters) -> list[Delivery]:
    return list(Delivery.objects.filter(**filters).order_by("id"))


adeliveries = sync_to_async(deliveries)


async def test_a_receiver_that_never_answers_does_not_delay_the_chargers_answers(server_factory):
    with DeadReceiver() as dead:
        types = (alerts.CHARGER_CONNECTED, alerts.CONNECTOR_FAULTED, alerts.TRANSACTION_STARTED)
        await sync_to_async(make_webhook)(dead.url, types)
        server = await asyncio.to_thread(server_factory, OCPP_WEBHOOK_TIMEOUT="60")
        async with connected_charge_point(f"{server.ws_url}/ocpp/SLOWHOOK", "SLOWHOOK") as cp:
            # The charger.connected POST reached the receiver, which holds it open.
            assert await wait_for(lambda: dead.received.is_set(), timeout=15)
            status = await cp.call(
                ocpp_call.StatusNotification(connector_id=1, error_code="GroundFailure", status="Faulted")
            )
            started = await cp.call(
                ocpp_call.StartTransaction(
                    connector_id=2, id_tag="TAG-0042", meter_start=100, timestamp="2026-01-01T10:00:00Z"
                )
            )
            assert status is not None and started.transaction_id > 0
            # Answered while that request was still open: its outcome is not recorded.
            [connected] = await adeliveries(event_type=alerts.CHARGER_CONNECTED)
            assert (connected.status, connected.attempts, connected.last_status_code) == ("pending", 1, None)
            assert connected.claimed_by and not connected.last_error
            # And the events of those answers were queued meanwhile, and sent too.
            assert await wait_for(
                lambda: (
                    [d.event_type for d in deliveries(attempts=1)]
                    == [alerts.CHARGER_CONNECTED, alerts.CONNECTOR_FAULTED, alerts.TRANSACTION_STARTED]
                ),
                timeout=15,
            )
    started_row = json.loads((await adeliveries(event_type=alerts.TRANSACTION_STARTED))[0].body)
    assert started_row["data"]["id_tag"] == "••••42" and started_row["data"]["transaction_id"] == started.transaction_id


async def test_deliveries_queued_before_a_node_was_killed_are_sent_by_the_next_one(server_factory):
    port = free_port()  # the receiver is down at first: nothing listens there
    await sync_to_async(make_webhook)(f"http://127.0.0.1:{port}/hook", [alerts.CONNECTOR_FAULTED])
    first = await asyncio.to_thread(server_factory, OCPP_WEBHOOK_BACKOFF_BASE="1", OCPP_WEBHOOK_BACKOFF_MAX="2")
    async with connected_charge_point(f"{first.ws_url}/ocpp/KILLED1", "KILLED1") as cp:
        await cp.call(ocpp_call.StatusNotification(connector_id=1, error_code="PowerMeterFailure", status="Faulted"))
        assert await wait_for(lambda: deliveries(attempts__gte=1, claimed_by=""), timeout=15)
    first.proc.kill()  # no goodbye: nothing more is written by it
    await asyncio.to_thread(first.proc.wait, 10)
    [queued] = await adeliveries()
    assert queued.status == DeliveryStatus.PENDING and "ConnectError" in queued.last_error
    with Receiver(port=port) as receiver:
        await asyncio.to_thread(server_factory, OCPP_WEBHOOK_BACKOFF_BASE="1", OCPP_WEBHOOK_BACKOFF_MAX="2")
        assert await wait_for(lambda: deliveries(status=DeliveryStatus.DELIVERED), timeout=20)
    [request] = receiver.requests
    assert request["signed"] and request["headers"]["X-OCPP-Delivery"] == str(queued.uuid)
    assert request["json"]["charger_id"] == "KILLED1"
    assert request["json"]["data"]["error_code"] == "PowerMeterFailure"
    [sent] = await adeliveries()
    assert sent.status == DeliveryStatus.DELIVERED and sent.attempts == queued.attempts + 1


async def test_a_webhook_made_through_the_api_is_pinged_with_the_secret_it_was_shown(live_ocpp_server):
    token = await sync_to_async(lambda: token_of(create_staff("alerts")))()
    headers = {"Authorization": f"Token {token}"}
    base = f"{live_ocpp_server.http_url}/ocpp/webhooks/"
    with Receiver(secret="unknown yet") as receiver:

        def create_and_ping() -> dict:
            created = requests.post(
                base, json={"url": receiver.url, "event_types": [alerts.SECURITY_EVENT]}, headers=headers, timeout=30
            )
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            pinged = requests.post(f"{base}{created.json()['id']}/ping/", headers=headers, timeout=30)
            assert pinged.status_code == 202, pinged.text
            return pinged.json()

        ping = await asyncio.to_thread(create_and_ping)
        assert await wait_for(lambda: receiver.delivered(), timeout=15)
    [request] = receiver.requests
    assert request["signed"]
    assert request["headers"]["X-OCPP-Event"] == alerts.PING
    assert request["headers"]["X-OCPP-Delivery"] == ping["id"]
    assert receiver.secret not in live_ocpp_server.log_text()
