"""This node's Prometheus metrics: who may read /ocpp/metrics, and what a
charger session, the group commit, the channel layer and operator commands
move. Values are read from the exposition a scraper gets, as differences:
the registry is the process's."""

import asyncio
import urllib.request

import pytest
from channels.layers import get_channel_layer
from django.db import OperationalError
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port
from ocpp_app import consumers
from ocpp_app.runtime import events, group_commit, metrics
from ocpp_app.runtime.mailbox import Mailbox
from ocpp_app.tests.helpers import (
    BOOT,
    TIMEOUT,
    answer_next_call,
    call,
    charger_socket,
    create_staff,
    create_without_role,
    error_code,
    operator_call,
    raw,
)

TOKEN = "metrics-token-0123456789abcdef"


def scrape() -> dict:
    body, _ = metrics.exposition()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def _chargers(settings, tmp_path):
    settings.LOG_DIR = tmp_path
    settings.OCPP_UNKNOWN_CHARGERS = "accept"
    settings.OCPP_REQUIRE_AUTH = False
    consumers.LIVE.clear()  # the registry is per process: no other test's sockets
    yield
    consumers.LIVE.clear()


# -- who may read them ---------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_requests_are_refused_with_401_json(client, settings):
    settings.OCPP_METRICS_TOKEN = TOKEN
    response = client.get("/ocpp/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


@pytest.mark.django_db
def test_a_wrong_token_is_refused_with_401(client, settings):
    settings.OCPP_METRICS_TOKEN = TOKEN
    response = client.get("/ocpp/metrics", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert response.status_code == 401
    assert TOKEN not in response.content.decode()


@pytest.mark.django_db
def test_without_a_configured_token_every_bearer_token_is_refused(client, settings):
    settings.OCPP_METRICS_TOKEN = ""
    assert client.get("/ocpp/metrics", headers={"Authorization": "Bearer "}).status_code == 401
    assert client.get("/ocpp/metrics", headers={"Authorization": "Bearer anything"}).status_code == 401


@pytest.mark.django_db
def test_a_user_who_is_not_staff_is_refused_with_403(client):
    client.force_login(create_without_role())
    response = client.get("/ocpp/metrics")
    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.django_db
def test_the_right_token_reads_the_prometheus_text(client, settings):
    settings.OCPP_METRICS_TOKEN = TOKEN
    response = client.get("/ocpp/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    assert f'ocpp_node_info{{node_id="{settings.OCPP_NODE_ID}"}} 1.0' in text
    assert "# TYPE ocpp_messages_total counter" in text


@pytest.mark.django_db
def test_a_staff_session_reads_them_without_a_token(client, settings):
    settings.OCPP_METRICS_TOKEN = ""
    client.force_login(create_staff())
    response = client.get("/ocpp/metrics")
    assert response.status_code == 200
    assert "ocpp_chargers_connected" in response.content.decode()


def test_the_separate_listener_serves_them_without_authentication():
    port = free_port()
    server, thread = metrics.start_metrics_server(port, "127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=TIMEOUT) as response:
            assert response.status == 200
            assert b"ocpp_node_info{" in response.read()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


# -- a charger session -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_connected_gauge_counts_the_sockets_of_this_node(_chargers):
    assert value(scrape(), "ocpp_chargers_connected") == 0
    async with charger_socket("/ocpp/MET1"), charger_socket("/ocpp/MET2"):
        assert value(scrape(), "ocpp_chargers_connected") == 2
    assert value(scrape(), "ocpp_chargers_connected") == 0


@pytest.mark.django_db(transaction=True)
async def test_a_charger_session_counts_its_calls_by_action_and_direction(_chargers):
    before = scrape()
    async with charger_socket("/ocpp/METRIC-CHARGER-7") as comm:
        assert (await call(comm, "BootNotification", BOOT))[0] == 3
        for number in range(3):
            assert (await call(comm, "Heartbeat", {}, message_id=f"hb{number}"))[0] == 3
        reply_channel = await operator_call("Reset", {"type": "Soft"}, charger_id="METRIC-CHARGER-7")
        await answer_next_call(comm, lambda message_id: [3, message_id, {"status": "Accepted"}])
        await asyncio.wait_for(get_channel_layer().receive(reply_channel), TIMEOUT)
    after = scrape()
    assert moved(before, after, "ocpp_messages_total", action="BootNotification", direction="in") == 1
    assert moved(before, after, "ocpp_messages_total", action="Heartbeat", direction="in") == 3
    assert moved(before, after, "ocpp_messages_total", action="Reset", direction="out") == 1
    assert moved(before, after, "ocpp_messages_total", action="Reset", direction="in") == 0
    # Every message was stored by the group commit.
    assert moved(before, after, "ocpp_group_commit_batch_size_sum") >= 4
    assert moved(before, after, "ocpp_group_commit_batch_seconds_count") >= 4
    # Never a charger id as a label value.
    assert "METRIC-CHARGER-7" not in metrics.exposition()[0].decode()


@pytest.mark.django_db(transaction=True)
async def test_callerrors_sent_are_counted_by_code_and_unknown_actions_as_other(_chargers):
    before = scrape()
    async with charger_socket("/ocpp/MET3") as comm:
        assert await error_code(comm, "Heartbeat", {"extra": True}) == "FormationViolation"
        assert (await raw(comm, '[2,"m2","Heartbeat",{"oops"]'))[2] == "FormationViolation"
        assert await error_code(comm, "Teleport-Nonsense", {}) == "NotImplemented"
    after = scrape()
    assert moved(before, after, "ocpp_callerrors_sent_total", error_code="FormationViolation") == 2
    assert moved(before, after, "ocpp_callerrors_sent_total", error_code="NotImplemented") == 1
    assert moved(before, after, "ocpp_messages_total", action="other", direction="in") == 1
    assert "Teleport-Nonsense" not in metrics.exposition()[0].decode()


# -- the group commit --------------------------------------------------------------------


def _unreachable() -> None:
    raise OperationalError("the database went away")


def _fine() -> str:
    return "stored"


@pytest.mark.django_db(transaction=True)
async def test_a_batch_that_fails_on_the_database_is_one_database_error():
    before = scrape()
    outcomes = await asyncio.gather(
        group_commit.run(_fine), group_commit.run(_unreachable), group_commit.run(_fine), return_exceptions=True
    )
    after = scrape()
    assert outcomes[0] == outcomes[2] == "stored"
    assert isinstance(outcomes[1], OperationalError)
    assert moved(before, after, "ocpp_database_errors_total") == 1
    assert moved(before, after, "ocpp_group_commit_batch_size_count") == 1
    assert moved(before, after, "ocpp_group_commit_batch_size_sum") == 3


@pytest.mark.django_db(transaction=True)
async def test_a_failure_that_is_not_the_database_is_no_database_error():
    def refused() -> None:
        raise ValueError("a business rule said no")

    before = scrape()
    with pytest.raises(ValueError):
        await group_commit.run(refused)
    assert moved(before, scrape(), "ocpp_database_errors_total") == 0


class _UnwritableRider:
    """Rows that cannot be stored (the database is down): the batch and its
    riders' second attempt both fail, so the hop to the writer fails."""

    def __init__(self) -> None:
        self.rows = ["row"]

    def take(self):
        rows, self.rows = self.rows, None
        return rows

    def write(self, taken) -> None:
        raise OperationalError("the database went away")

    def restore(self, taken) -> None:
        self.rows = None  # dropped: the next batch must not meet it again


@pytest.mark.django_db(transaction=True)
async def test_a_batch_whose_hop_fails_is_one_database_error():
    group_commit.get_committer().add_rider(_UnwritableRider())
    before = scrape()
    with pytest.raises(OperationalError):
        await group_commit.run(_fine)
    assert moved(before, scrape(), "ocpp_database_errors_total") == 1


# -- the channel layer -------------------------------------------------------------------


async def test_a_failed_group_send_is_a_channel_layer_error(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},  # nothing listens there
        }
    }
    before = scrape()
    await events.publish("CP1", "status", status="Available")
    await events.flush()
    assert moved(before, scrape(), "ocpp_channel_layer_errors_total", operation="group_send") == 1


async def test_a_failed_receive_of_the_mailbox_is_a_channel_layer_error(monkeypatch):
    layer = get_channel_layer()
    real_receive = layer.receive
    failures = iter([ConnectionError("redis restarting")])

    async def flaky_receive(name):
        for error in failures:
            raise error
        return await real_receive(name)

    monkeypatch.setattr(layer, "receive", flaky_receive)
    delivered = asyncio.get_running_loop().create_future()

    async def deliver(message):
        delivered.set_result(message)

    before = scrape()
    name = await Mailbox().address(deliver)
    await layer.send(name, {"type": "ocpp.replaced", "charger_id": "X"})
    await asyncio.wait_for(delivered, TIMEOUT)
    assert moved(before, scrape(), "ocpp_channel_layer_errors_total", operation="receive") == 1


# -- operator commands -------------------------------------------------------------------


def test_command_outcomes_and_latency_are_counted_by_action_and_status():
    before = scrape()
    metrics.command_observed("Reset", "ok", 0.3)
    metrics.command_observed("Reset", "timeout", 30.0)
    metrics.command_observed("NoSuchAction", "made-up", 1.0)
    after = scrape()
    assert moved(before, after, "ocpp_commands_total", action="Reset", status="ok") == 1
    assert moved(before, after, "ocpp_commands_total", action="Reset", status="timeout") == 1
    assert moved(before, after, "ocpp_commands_total", action="other", status="other") == 1
    assert moved(before, after, "ocpp_command_seconds_count", action="Reset") == 2
    assert moved(before, after, "ocpp_command_seconds_sum", action="Reset") == pytest.approx(30.3)
    assert moved(before, after, "ocpp_command_seconds_bucket", action="Reset", le="0.5") == 1
    assert "NoSuchAction" not in metrics.exposition()[0].decode()
