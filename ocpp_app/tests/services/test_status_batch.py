"""StatusNotifications of a whole group-commit batch stored together: the
same connectors and history as storing them one by one."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocpp_app.models import Charger, Connector, StatusNotificationRecord
from ocpp_app.services.chargers import connector_status_update, connector_status_update_many

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def status(charger_id, connector_id, minute, state, **extra):
    return {
        "charger_id": charger_id,
        "connector_id": connector_id,
        "status": state,
        "error_code": "NoError",
        "timestamp": T0 + timedelta(minutes=minute),
        **extra,
    }


def connectors():
    return sorted(Connector.objects.values_list("charger__charger_id", "connector_id", "status", "info", "timestamp"))


def history():
    return sorted(
        StatusNotificationRecord.objects.values_list("charger__charger_id", "connector_id", "status", "timestamp")
    )


def test_it_keeps_the_newest_status_of_each_connector_and_every_history_row():
    connector_status_update_many(
        [
            status("A", 1, 2, "Charging"),
            status("B", 1, 1, "Available"),
            status("A", 1, 1, "Preparing"),  # older than the Charging above
            status("A", 2, 1, "Faulted", info="x" * 80),
        ]
    )
    assert connectors() == [
        ("A", 1, "Charging", "", T0 + timedelta(minutes=2)),
        ("A", 2, "Faulted", "x" * 50, T0 + timedelta(minutes=1)),
        ("B", 1, "Available", "", T0 + timedelta(minutes=1)),
    ]
    assert len(history()) == 4


def test_it_does_not_overwrite_a_newer_stored_status():
    connector_status_update(**status("A", 1, 5, "Charging"))
    connector_status_update_many([status("A", 1, 3, "Available"), status("B", 1, 3, "Available")])
    assert Connector.objects.get(charger__charger_id="A").status == "Charging"
    assert StatusNotificationRecord.objects.filter(charger__charger_id="A").count() == 2


def test_it_creates_a_charger_first_seen_in_the_batch():
    connector_status_update_many([status("NEW1", 0, 0, "Available"), status("NEW1", 1, 0, "Available")])
    assert Charger.objects.filter(charger_id="NEW1").count() == 1
    assert Connector.objects.filter(charger__charger_id="NEW1").count() == 2


calls = st.lists(
    st.builds(
        status,
        st.sampled_from(["A", "B"]),
        st.sampled_from([0, 1]),
        st.integers(0, 4),
        st.sampled_from(["Available", "Charging", "Faulted"]),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(stored=calls, batch=calls)
def test_it_ends_where_storing_one_by_one_ends(stored, batch):
    def outcome(store_batch):
        with transaction.atomic():
            for call in stored:
                connector_status_update(**call)
            store_batch()
            result = (connectors(), history())
            transaction.set_rollback(True)
        return result

    def one_by_one():
        for call in batch:
            connector_status_update(**call)

    assert outcome(lambda: connector_status_update_many(batch)) == outcome(one_by_one)
