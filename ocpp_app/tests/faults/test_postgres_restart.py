"""A PostgreSQL restart under a real server (`manage.py serve` on a
PostgreSQL of the test's own, stopped and started again): a charger that
retries what was not acknowledged, as OCPP chargers do, ends with every
meter value and its stop stored exactly once and in order, and the message
log keeps every frame of the outage too (held back until the database
returned), with nothing dropped."""

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from websockets.sync.client import connect

from conftest import start_server
from ocpp_app.tests.private_postgres import manage

pytestmark = [pytest.mark.e2e, pytest.mark.own_services]
CHARGER = "PGRESTART1"
READINGS = 40
ANSWER_WAIT = 4.0  # the charger's own time-out for an answer, then it retries
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class RetryingCharger:
    """Sends one CALL at a time; a CALL answered with a CALLERROR, or not
    answered within ANSWER_WAIT, is sent again (with a new message id) until
    it is acknowledged. Counts every frame it sent and received."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.sent = 0
        self.received = 0
        self.retries = 0

    def call(self, action: str, payload: dict) -> dict:
        while True:
            message_id = uuid.uuid4().hex
            self.ws.send(json.dumps([2, message_id, action, payload]))
            self.sent += 1
            deadline = time.monotonic() + ANSWER_WAIT
            while time.monotonic() < deadline:
                try:
                    frame = json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic())))
                except TimeoutError:
                    break
                self.received += 1
                if frame[1] != message_id:
                    continue  # the late answer to an attempt given up on
                if frame[0] == 3:
                    return frame[2]
                break  # a CALLERROR: try again
            self.retries += 1
            time.sleep(0.5)


def reading(transaction_id: int, n: int) -> dict:
    return {
        "connectorId": 1,
        "transactionId": transaction_id,
        "meterValue": [
            {
                "timestamp": (T0 + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
                "sampledValue": [{"value": str(1000 + 10 * n), "measurand": "Energy.Active.Import.Register"}],
            }
        ],
    }


def test_a_postgres_restart_loses_and_doubles_nothing(private_postgres, tmp_path: Path):
    manage(private_postgres.url, "migrate", "--noinput")
    server = start_server(private_postgres.url, tmp_path, OCPP_LOG_FLUSH_INTERVAL="0.05")
    outage_started = threading.Event()
    try:
        with connect(f"{server.ws_url}/ocpp/{CHARGER}", subprotocols=["ocpp1.6"]) as ws:
            cp = RetryingCharger(ws)
            cp.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
            started = cp.call(
                "StartTransaction",
                {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": "2026-03-01T07:59:00Z"},
            )
            transaction_id = started["transactionId"]

            def outage() -> None:
                outage_started.wait()
                private_postgres.stop()
                time.sleep(6)
                private_postgres.start()

            restarter = threading.Thread(target=outage)
            restarter.start()
            for n in range(READINGS):
                if n == READINGS // 4:
                    outage_started.set()
                cp.call("MeterValues", reading(transaction_id, n))
            cp.call(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 1000 + 10 * READINGS,
                    "timestamp": "2026-03-01T09:00:00Z",
                },
            )
            restarter.join()
            assert cp.retries > 0  # the outage was felt
            time.sleep(1.0)  # the last answers' log rows
        time.sleep(1.0)
    finally:
        server.stop()
    output = server.log_text()
    assert "dropping unstorable log row" not in output, output

    with psycopg.connect(private_postgres.url.replace("postgres://", "postgresql://")) as db:
        values = [
            row[0]
            for row in db.execute(
                "SELECT value_numeric FROM ocpp_app_meterreading"
                " WHERE transaction_id = %s AND timestamp < %s ORDER BY timestamp, id",
                [transaction_id, T0 + timedelta(minutes=READINGS)],
            )
        ]
        assert values == [float(1000 + 10 * n) for n in range(READINGS)]  # once each, in order
        ids = [
            row[0]
            for row in db.execute(
                "SELECT id FROM ocpp_app_meterreading WHERE timestamp < %s ORDER BY timestamp",
                [T0 + timedelta(minutes=READINGS)],
            )
        ]
        assert ids == sorted(ids)  # stored in the order they were sent
        stop = db.execute("SELECT meter_stop FROM ocpp_app_transaction WHERE id = %s", [transaction_id]).fetchone()
        assert stop == (1000 + 10 * READINGS,)
        assert db.execute("SELECT count(*) FROM ocpp_app_transaction").fetchone() == (1,)
        logged_in, logged_out = (
            db.execute(
                "SELECT count(*) FROM ocpp_app_messagelog WHERE charger_id = %s AND direction = %s", [CHARGER, d]
            ).fetchone()[0]
            for d in ("in", "out")
        )
    # Every frame the charger sent is in the log, outage included, and every
    # answer it received (answers the closing socket never delivered may add more).
    assert logged_in == cp.sent, (logged_in, cp.sent, cp.retries)
    assert logged_out >= cp.received, (logged_out, cp.received)
