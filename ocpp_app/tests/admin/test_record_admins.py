"""What chargers report (and what was sent to them) is shown in the admin,
never added or edited by hand; a transaction's notes stay the operator's."""

import pytest
from django.urls import reverse

from ocpp_app import models
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db

RECORDS = [
    models.Connector,
    models.StatusNotificationRecord,
    models.Transaction,
    models.MeterReading,
    models.MessageLog,
    models.Command,
    models.ChargerEvent,
    models.DataTransferRecord,
    models.ChargingProfileRecord,
]


@pytest.mark.parametrize("model", RECORDS, ids=lambda m: m.__name__)
def test_it_refuses_to_add_a_record_by_hand(superuser_client, model):
    response = superuser_client.get(reverse(f"admin:ocpp_app_{model._meta.model_name}_add"))
    assert response.status_code == 403


def test_it_shows_every_field_of_a_record_read_only(superuser_client):
    charger = make_charger("CP1")
    command = models.Command.objects.create(charger=charger, action="Reset", request={"type": "Soft"})
    response = superuser_client.get(reverse("admin:ocpp_app_command_change", args=[command.pk]))
    form = response.context["adminform"].form
    assert list(form.fields) == []
    shown = {field for fieldset in response.context["adminform"] for line in fieldset for field in line}
    assert len(shown) == len(models.Command._meta.fields)


def test_it_leaves_only_the_notes_of_a_transaction_editable(superuser_client):
    tx = make_session(make_charger("CP1"), readings=0)
    url = reverse("admin:ocpp_app_transaction_change", args=[tx.pk])
    form = superuser_client.get(url).context["adminform"].form
    assert list(form.fields) == ["notes"]
    response = superuser_client.post(url, {"notes": "refunded"})
    assert response.status_code == 302
    tx.refresh_from_db()
    assert tx.notes == "refunded"
