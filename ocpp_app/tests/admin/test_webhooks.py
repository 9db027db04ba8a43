"""Alerts in the admin: a webhook's secret is write-only (never in a page),
stored encrypted, kept when left blank; the URL and event type rules are the
API's; the delivery log is read-only, and "Retry now" makes deliveries due
at once."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ocpp_app.lib.alerts import CHARGER_OFFLINE, CONNECTOR_FAULTED
from ocpp_app.models import Charger, Delivery, DeliveryStatus, Webhook
from ocpp_app.services import webhooks
from ocpp_app.services.secrets import secret_decrypt

pytestmark = pytest.mark.django_db
SECRET = "admin-secret-0123456789abcdef"


def form(**fields) -> dict:
    return {
        "name": "Ops",
        "url": "https://127.0.0.1/hook",
        "event_types": [CONNECTOR_FAULTED, CHARGER_OFFLINE],
        "chargers": "CP1\nCP2",
        "active": "on",
        "new_secret": SECRET,
        **fields,
    }


def add(client, **fields):
    for charger_id in ("CP1", "CP2"):  # the chargers the form names
        Charger.objects.get_or_create(charger_id=charger_id)
    return client.post(reverse("admin:ocpp_app_webhook_add"), form(**fields))


def test_the_secret_is_stored_encrypted_and_never_rendered(superuser_client):
    assert add(superuser_client).status_code == 302
    webhook = Webhook.objects.get()
    assert (webhook.event_types, webhook.chargers) == ([CONNECTOR_FAULTED, CHARGER_OFFLINE], ["CP1", "CP2"])
    assert webhook.secret.startswith("fernet:") and secret_decrypt(webhook.secret) == SECRET
    for url in (
        reverse("admin:ocpp_app_webhook_change", args=[webhook.pk]),
        reverse("admin:ocpp_app_webhook_changelist"),
        reverse("admin:ocpp_app_webhook_history", args=[webhook.pk]),
    ):
        page = superuser_client.get(url)
        assert page.status_code == 200
        assert SECRET not in page.content.decode() and webhook.secret not in page.content.decode()
    # Left blank, the secret is kept; a new one replaces it.
    change = reverse("admin:ocpp_app_webhook_change", args=[webhook.pk])
    assert superuser_client.post(change, form(new_secret="", name="Renamed")).status_code == 302
    webhook.refresh_from_db()
    assert webhook.name == "Renamed" and secret_decrypt(webhook.secret) == SECRET
    assert superuser_client.post(change, form(new_secret="replaced-secret-0123456789")).status_code == 302
    webhook.refresh_from_db()
    assert secret_decrypt(webhook.secret) == "replaced-secret-0123456789"


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"new_secret": ""}, "new_secret", "This field is required"),
        ({"new_secret": "short"}, "new_secret", "16 to 200 characters"),
        ({"url": "ftp://127.0.0.1/hook"}, "url", "Only http:// and https://"),
        ({"url": "https://elsewhere.example/hook"}, "url", "OCPP_WEBHOOK_ALLOWED_HOSTS"),
        ({"event_types": ["charger.exploded"]}, "event_types", "charger.exploded"),
        ({"chargers": "CP1\nsite/CP2"}, "chargers", "slash"),
        ({"chargers": "CP1\nNOPE"}, "chargers", "Unknown charger(s): NOPE"),
    ],
)
def test_a_bad_webhook_is_refused_with_the_rule(superuser_client, fields, field, says):
    page = add(superuser_client, **fields)
    assert page.status_code == 200
    errors = page.context["adminform"].form.errors
    assert field in errors and says in " ".join(errors[field])
    assert not Webhook.objects.exists()
    assert SECRET not in page.content.decode()


def queued(count: int = 2) -> list[Delivery]:
    webhook = Webhook(url="https://127.0.0.1/hook", event_types=[CONNECTOR_FAULTED])
    webhooks.webhook_set_secret(webhook, SECRET)
    webhook.save()
    webhooks.alerts_enqueue(
        [webhooks.AlertEvent(CONNECTOR_FAULTED, f"CP{i}", {"connector_id": 1}) for i in range(count)]
    )
    return list(Delivery.objects.order_by("id"))


def test_the_delivery_log_is_read_only_and_shows_no_secret(superuser_client):
    [delivery] = queued(1)
    page = superuser_client.get(reverse("admin:ocpp_app_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "connector.faulted" in content and SECRET not in content
    assert 'name="_save"' not in content  # no save button: nothing to edit
    assert superuser_client.get(reverse("admin:ocpp_app_delivery_add")).status_code == 403


def test_retry_now_makes_failed_and_waiting_deliveries_due_at_once(superuser_client):
    failed, waiting, delivered = queued(3)
    later = timezone.now() + timezone.timedelta(hours=1)
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED, attempts=10, finished_at=timezone.now())
    Delivery.objects.filter(pk=waiting.pk).update(attempts=3, next_attempt_at=later)
    Delivery.objects.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED, finished_at=timezone.now())
    page = superuser_client.post(
        reverse("admin:ocpp_app_delivery_changelist"),
        {"action": "retry_now", "_selected_action": [failed.pk, waiting.pk, delivered.pk]},
        follow=True,
    )
    assert page.status_code == 200
    assert "2 deliveries will be sent again now. 1 left alone" in page.content.decode()
    now = timezone.now()
    for pk in (failed.pk, waiting.pk):
        row = Delivery.objects.get(pk=pk)
        assert row.status == DeliveryStatus.PENDING and row.next_attempt_at <= now and row.finished_at is None
    assert Delivery.objects.get(pk=delivered.pk).status == DeliveryStatus.DELIVERED
