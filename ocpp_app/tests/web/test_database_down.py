"""A real server (`manage.py serve`, psycopg's pool) on a PostgreSQL server of
the test's own, stopped and started again under it: while the database is
down, the API answers 503 JSON, the pages a 503 page, readiness 503 naming
the database, each with Retry-After, logged as one warning; metrics still
answer and count the charger messages that failed; once the database is back,
everything answers 200 again. Needs PostgreSQL's server binaries (initdb,
pg_ctl); skipped without them, except in CI."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from conftest import start_server
from ocpp_app.tests.private_postgres import manage

pytestmark = [pytest.mark.e2e, pytest.mark.own_services]
API_TOKEN = "a" * 40  # DRF's token: forty characters
METRICS_TOKEN = "metrics-token-for-the-outage-test"
CHARGER = "DOWN1"
TIMEOUT = 30  # a request waits at most the pool's 10 s for a connection

SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from ocpp_app.models import Charger
user = get_user_model().objects.create_user("operator", password="pw-operator-12345", is_staff=True)
user.groups.add(Group.objects.get(name="Operators"))
Token.objects.create(user=user, key="{API_TOKEN}")
Charger.objects.create(charger_id="{CHARGER}")
"""


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=TIMEOUT, allow_redirects=False)


def samples(base_url: str) -> dict:
    text = get(f"{base_url}/ocpp/metrics", Authorization=f"Bearer {METRICS_TOKEN}").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def timed(url: str) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = get(url)
    return response, time.monotonic() - started


def answers_until(url: str, status: int, timeout: float = 60, **headers: str) -> requests.Response:
    """The first answer with `status`: the pool reconnects in the background."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = get(url, **headers)
        except requests.RequestException:
            response = None
        if response is not None and response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_while_the_database_is_down_requests_are_answered_503_and_then_200_again(private_postgres, tmp_path: Path):
    manage(private_postgres.url, "migrate", "--noinput")
    manage(private_postgres.url, "shell", "-c", SETUP)
    server = start_server(private_postgres.url, tmp_path, OCPP_METRICS_TOKEN=METRICS_TOKEN)
    api = f"{server.http_url}/ocpp/chargers/"
    page = f"{server.http_url}/ocpp/c/{CHARGER}/"
    ready = f"{server.http_url}/ocpp/health/ready"
    token = {"Authorization": f"Token {API_TOKEN}"}
    node = f"test-{server.port}"  # start_server's OCPP_NODE_ID
    try:
        assert get(api, **token).status_code == 200
        assert get(page, Accept="text/html").status_code == 200
        assert get(ready).json() == {"ready": True, "database": "ok", "channel_layer": "ok", "node": node}
        with connect(f"{server.ws_url}/ocpp/{CHARGER}", subprotocols=["ocpp1.6"]) as ws:
            ws.send(json.dumps([2, "hb1", "Heartbeat", {}]))
            assert json.loads(ws.recv(timeout=TIMEOUT))[0] == 3
            before = samples(server.http_url)

            private_postgres.stop()

            # The charger's next message cannot be stored; its answer comes
            # once the writer gave up, meanwhile the requests, side by side
            # (each may wait the pool's time-out).
            ws.send(json.dumps([2, "hb2", "Heartbeat", {}]))
            with ThreadPoolExecutor(8) as pool:
                api_answers = list(pool.map(lambda _: get(api, **token), range(3)))
                page_answers = list(pool.map(lambda _: get(page, Accept="text/html"), range(3)))
                probe = pool.submit(timed, ready)
            for answer in api_answers:
                assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")
                assert answer.json() == {"detail": "database unavailable", "retry_after": 5}
            for shown in page_answers:
                assert (shown.status_code, shown.headers["Retry-After"]) == (503, "5")
                assert shown.headers["Content-Type"].startswith("text/html")
                assert "Temporarily unavailable" in shown.text
            not_ready, seconds = probe.result()
            assert seconds < 5  # the probe's own limit (2 s), not the pool's 10 s
            assert not_ready.status_code == 503
            assert not_ready.json() == {"ready": False, "database": "unavailable", "channel_layer": "ok", "node": node}
            refused = json.loads(ws.recv(timeout=2 * TIMEOUT))
            assert (refused[0], refused[2]) == (4, "InternalError")
            after = samples(server.http_url)  # the metrics need no database
        assert after[("ocpp_database_errors_total", ())] > before.get(("ocpp_database_errors_total", ()), 0)
        internal = ("ocpp_callerrors_sent_total", (("error_code", "InternalError"),))
        assert after[internal] == before[internal] + 1
        outage_log = server.log_text()

        private_postgres.start()

        assert answers_until(api, 200, **token).status_code == 200
        assert answers_until(page, 200, Accept="text/html").status_code == 200
        assert answers_until(ready, 200).json()["ready"] is True
    finally:
        server.stop()
    # Six 503s, one warning; no line per request from Django's request logger.
    assert outage_log.count("database unavailable:") == 1, outage_log
    assert "Service Unavailable" not in server.log_text()
