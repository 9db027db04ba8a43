"""The webhooks API: CRUD, the secret shown once (made when not given,
never in a later answer, stored encrypted), the 400 naming a bad URL, event
type, charger or secret, each webhook's deliveries and the ping."""

import json

import pytest
from rest_framework.test import APIClient

from ocpp_app.lib.alerts import CONNECTOR_FAULTED, PING
from ocpp_app.models import Delivery, DeliveryStatus, Webhook
from ocpp_app.services import alert_deliveries, webhooks
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9000/hooks/ocpp"
SECRET = "given-secret-0123456789"


def create(api_client, **body):
    return api_client.post("/ocpp/webhooks/", {"url": URL, "event_types": [CONNECTOR_FAULTED], **body}, format="json")


def claimed_secret() -> str:
    """The secret a sender signs with now (decrypted from the stored row)."""
    [claimed] = alert_deliveries.deliveries_claim(claimer="test", busy={}, per_target=10, limit=10, lease=30)
    return claimed.secret


def test_create_makes_a_secret_shows_it_once_and_never_again(api_client):
    created = create(api_client, name="Ops")
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert len(secret) >= 32
    assert body == {
        "id": body["id"],
        "name": "Ops",
        "url": URL,
        "secret": secret,
        "event_types": [CONNECTOR_FAULTED],
        "chargers": [],
        "active": True,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    stored = Webhook.objects.get(pk=body["id"])
    assert stored.secret.startswith("fernet:") and secret not in stored.secret
    for answer in (api_client.get(f"/ocpp/webhooks/{body['id']}/"), api_client.get("/ocpp/webhooks/")):
        assert answer.status_code == 200
        assert secret.encode() not in answer.content and b'"secret"' not in answer.content
    webhooks.webhook_ping(webhook=stored)
    assert claimed_secret() == secret


def test_a_given_secret_is_used_and_a_patch_replaces_it_without_showing_it(api_client):
    created = create(api_client, secret=SECRET)
    assert created.status_code == 201, created.content
    assert created.json()["secret"] == SECRET
    pk = created.json()["id"]
    patched = api_client.patch(f"/ocpp/webhooks/{pk}/", {"secret": "another-secret-9876543210"}, format="json")
    assert patched.status_code == 200, patched.content
    assert b"another-secret" not in patched.content and b'"secret"' not in patched.content
    webhooks.webhook_ping(webhook=Webhook.objects.get(pk=pk))
    assert claimed_secret() == "another-secret-9876543210"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://127.0.0.1/hook", "Only http:// and https://"),
        ("not a url", "no spaces"),
        ("http:///nohost", "names no host"),
        ("http://user:pw@127.0.0.1/hook", "no user name or password"),
        ("http://127.0.0.1:99999/hook", "not a URL"),
        ("https://alerts.example.com/hook", "OCPP_WEBHOOK_ALLOWED_HOSTS"),
        ("", "This field may not be blank"),
    ],
)
def test_a_bad_url_is_a_400_naming_the_field(api_client, url, says):
    answer = create(api_client, url=url)
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == ["url"]
    assert says.lower() in answer.json()["url"][0].lower()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("types", "says"),
    [
        (["charger.connected", "charger.exploded"], "Unknown event type 'charger.exploded'"),
        ([], "Give at least one event type"),
        ("connector.faulted", "Expected a list"),
    ],
)
def test_a_bad_event_type_is_a_400_naming_it(api_client, types, says):
    answer = create(api_client, event_types=types)
    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == ["event_types"]
    assert says in json.dumps(answer.json())
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"secret": "short"}, "secret"),
        ({"secret": "has a space in it 0123456"}, "secret"),
        ({"chargers": ["CP1", "site/CP2"]}, "chargers"),
        ({"chargers": "CP1"}, "chargers"),
        ({"name": "n" * 101}, "name"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(api_client, body, field):
    answer = create(api_client, **body)
    assert answer.status_code == 400, answer.content
    assert field in answer.json()
    assert not Webhook.objects.exists()


def test_update_and_delete(api_client):
    pk = create(api_client).json()["id"]
    put = api_client.put(
        f"/ocpp/webhooks/{pk}/",
        {"url": "https://127.0.0.1/new", "event_types": ["charger.offline", "charger.offline"], "active": False},
        format="json",
    )
    assert put.status_code == 200, put.content
    assert (put.json()["url"], put.json()["event_types"], put.json()["active"]) == (
        "https://127.0.0.1/new",
        ["charger.offline"],
        False,
    )
    bad = api_client.patch(f"/ocpp/webhooks/{pk}/", {"event_types": ["nope"]}, format="json")
    assert bad.status_code == 400 and "'nope'" in bad.json()["event_types"][0]
    assert Webhook.objects.get(pk=pk).event_types == ["charger.offline"]
    webhook = Webhook.objects.get(pk=pk)
    webhook.active = True
    webhook.save()
    webhooks.webhook_ping(webhook=webhook)
    assert api_client.delete(f"/ocpp/webhooks/{pk}/").status_code == 204
    assert not Webhook.objects.exists() and not Delivery.objects.exists()


def test_the_deliveries_of_a_webhook_and_their_status_filter(api_client):
    make_charger("CP1", connected=False)
    pk = create(api_client, chargers=["CP1"]).json()["id"]
    other = create(api_client).json()["id"]
    event = webhooks.AlertEvent(CONNECTOR_FAULTED, "CP1", {"connector_id": 1})
    assert webhooks.alerts_enqueue([event]) == 2
    Delivery.objects.filter(webhook_id=pk).update(attempts=2, last_status_code=500, last_error="answered HTTP 500")
    answer = api_client.get(f"/ocpp/webhooks/{pk}/deliveries/")
    assert answer.status_code == 200
    [row] = answer.json()["results"]
    stored = Delivery.objects.get(webhook_id=pk)
    assert row == {
        "id": str(stored.uuid),
        "event_id": event.id,
        "event_type": CONNECTOR_FAULTED,
        "charger_id": "CP1",
        "status": "pending",
        "attempts": 2,
        "last_status_code": 500,
        "last_error": "answered HTTP 500",
        "next_attempt_at": row["next_attempt_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "finished_at": None,
        "payload": json.loads(stored.body),
    }
    assert row["next_attempt_at"] is not None
    assert api_client.get(f"/ocpp/webhooks/{pk}/deliveries/?status=delivered").json()["results"] == []
    Delivery.objects.filter(webhook_id=pk).update(status=DeliveryStatus.FAILED)
    [failed] = api_client.get(f"/ocpp/webhooks/{pk}/deliveries/?status=failed").json()["results"]
    assert failed["next_attempt_at"] is None
    bad = api_client.get(f"/ocpp/webhooks/{pk}/deliveries/?status=lost")
    assert bad.status_code == 400 and "status" in bad.json()
    assert api_client.get("/ocpp/webhooks/999999/deliveries/").status_code == 404
    assert len(api_client.get(f"/ocpp/webhooks/{other}/deliveries/").json()["results"]) == 1


def test_a_ping_queues_a_test_event_and_an_inactive_webhook_refuses_it(api_client):
    pk = create(api_client).json()["id"]
    answer = api_client.post(f"/ocpp/webhooks/{pk}/ping/")
    assert answer.status_code == 202, answer.content
    assert answer.json()["event_type"] == PING and answer.json()["status"] == "pending"
    [delivery] = Delivery.objects.filter(webhook_id=pk)
    assert str(delivery.uuid) == answer.json()["id"]
    assert json.loads(delivery.body)["data"]["webhook_id"] == pk
    api_client.patch(f"/ocpp/webhooks/{pk}/", {"active": False}, format="json")
    refused = api_client.post(f"/ocpp/webhooks/{pk}/ping/")
    assert refused.status_code == 400 and "active" in refused.json()
    assert api_client.post("/ocpp/webhooks/999999/ping/").status_code == 404


def test_strangers_get_nothing(db):
    client = APIClient()
    assert client.get("/ocpp/webhooks/").status_code in (401, 403)
    assert client.post(
        "/ocpp/webhooks/", {"url": URL, "event_types": [CONNECTOR_FAULTED]}, format="json"
    ).status_code in (
        401,
        403,
    )
    assert not Webhook.objects.exists()


def test_a_webhook_for_an_unknown_charger_is_refused_naming_it(api_client):
    make_charger("CP1", connected=False)
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["charger.connected"], "chargers": ["CP1", "NOPE"]}
    response = api_client.post("/ocpp/webhooks/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"chargers": ["Unknown charger(s): NOPE."]}
    assert not Webhook.objects.exists()
    body["chargers"] = ["CP1"]
    assert api_client.post("/ocpp/webhooks/", body, format="json").status_code == 201
