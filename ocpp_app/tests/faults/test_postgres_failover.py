"""A PostgreSQL failover under a real server (`manage.py serve` on a
multi-host DATABASE_URL naming a primary and its synchronous standby, both of
the test's own): chargers run sessions, retrying every transaction message
that got a CALLERROR or no answer as OCPP chargers do; the primary is killed
as a machine dies (SIGKILL, no shutdown), the standby promoted. The server
follows it with no restart: every acknowledged message is stored exactly
once and in order on the new primary, the message log keeps every frame, the
API answers 503 JSON in the gap and 200 after, and commands reach the
chargers again. The recovery time (kill -> first message stored on the new
primary) is printed; docs/scaling.md quotes it.

The standby is synchronous: a commit is acknowledged only once the standby
has it, so what a charger was told is stored survives the primary. (With an
asynchronous standby the last acknowledged transactions can be lost.)"""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from conftest import start_server
from ocpp_app.tests.commands.samples import ANSWERS, SAMPLES
from ocpp_app.tests.helpers import Api, connected_charge_point
from ocpp_app.tests.private_postgres import manage
from ocpp_app.tests.private_postgres_pair import running_pair

pytestmark = [pytest.mark.e2e, pytest.mark.own_services]
API_TOKEN = "f" * 40  # DRF's token: forty characters
CHARGERS = 4
READINGS = 4  # MeterValues per session
ANSWER_WAIT = 4.0  # the charger's own time-out for an answer, then it sends again
GAP = 10.0  # seconds from the primary's death to the promotion: a failover manager's detection
ENERGY = "Energy.Active.Import.Register"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
user = get_user_model().objects.create_user("operator", password="pw-operator-12345", is_staff=True)
user.groups.add(Group.objects.get(name="Operators"))
Token.objects.create(user=user, key="{API_TOKEN}")
"""
# What the new primary holds of the chargers' sessions: one more row (a
# start, a stop or a reading) is one more charger message stored.
STORED = """
SELECT (SELECT count(*) FROM ocpp_app_transaction)
     + (SELECT count(*) FROM ocpp_app_transaction WHERE meter_stop IS NOT NULL)
     + (SELECT count(*) FROM ocpp_app_meterreading)
"""


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Session:
    """One session as its charger saw it: what was acknowledged, and the CALL
    being sent (the same payload again until acknowledged)."""

    transaction_id: int | None = None
    readings: list[int] = field(default_factory=list)
    meter_stop: int | None = None
    started_at: float | None = None  # monotonic times of the acknowledged start and stop
    stopped_at: float | None = None
    sending: Any = None


class SessionCharger:
    """An OCPP 1.6 charge point (the `ocpp` library's, answering the
    commands' CALLs) running sessions back to back: StartTransaction, READINGS
    MeterValues, StopTransaction. Each CALL is sent again, under a new message
    id, after a CALLERROR or ANSWER_WAIT seconds without an answer, until it
    is acknowledged; a dropped socket is connected again and booted. Keeps
    what was acknowledged, and the id of every CALL the server answered."""

    def __init__(self, base_url: str, index: int) -> None:
        self.id = f"FAILOVER{index}"
        self.url = f"{base_url}/ocpp/{self.id}"
        self.clock = T0 + timedelta(days=index)  # the meter's own timestamps, one minute a step
        self.energy = 10_000 * (index + 1)
        self.sessions: list[Session] = []
        self.answered: list[str] = []  # message ids the server answered (a CALLRESULT or a CALLERROR)
        self.retries = 0
        self.connects = 0
        self.sessions_open = True
        self.cp = None
        self._sequence = 0

    def _tick(self) -> str:
        self.clock += timedelta(minutes=1)
        return stamp(self.clock)

    async def call(self, payload):
        """`payload` until acknowledged on this socket; ConnectionClosed when it dropped."""
        while True:
            self._sequence += 1
            message_id = f"{self.id}-{self._sequence}"
            try:
                result = await asyncio.wait_for(
                    self.cp.call(payload, suppress=False, unique_id=message_id), ANSWER_WAIT
                )
            except OCPPError:
                self.answered.append(message_id)  # a CALLERROR: send it again
            except TimeoutError:
                pass
            else:
                self.answered.append(message_id)
                return result
            self.retries += 1
            await asyncio.sleep(0.5)

    async def run(self) -> None:
        while True:
            try:
                async with connected_charge_point(self.url, self.id, answers=ANSWERS) as cp:
                    self.cp = cp
                    self.connects += 1
                    await self.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
                    await self._serve()
                    return
            except (websockets.ConnectionClosed, OSError):
                await asyncio.sleep(0.5)

    async def _serve(self) -> None:
        """Sessions until `sessions_open` is cleared, then a last Heartbeat.
        Picks up where a dropped socket left off."""
        while True:
            session = self.sessions[-1] if self.sessions else None
            if session is None or session.stopped_at is not None:
                if not self.sessions_open:
                    await self.call(call.Heartbeat())  # still there, on this socket or a new one
                    return
                session = Session()
                self.sessions.append(session)
            if session.transaction_id is None:
                session.sending = session.sending or call.StartTransaction(
                    connector_id=1, id_tag=f"TAG-{self.id}", meter_start=self.energy, timestamp=self._tick()
                )
                session.transaction_id = (await self.call(session.sending)).transaction_id
                session.sending, session.started_at = None, time.monotonic()
            while len(session.readings) < READINGS:
                if session.sending is None:
                    self.energy += 100 + len(session.readings)
                    session.sending = call.MeterValues(
                        connector_id=1,
                        transaction_id=session.transaction_id,
                        meter_value=[
                            {
                                "timestamp": self._tick(),
                                "sampled_value": [{"value": str(self.energy), "measurand": ENERGY, "unit": "Wh"}],
                            }
                        ],
                    )
                await self.call(session.sending)
                session.readings.append(self.energy)
                session.sending = None
                await asyncio.sleep(0.05)
            if session.sending is None:
                self.energy += 10
                session.sending = call.StopTransaction(
                    meter_stop=self.energy, timestamp=self._tick(), transaction_id=session.transaction_id
                )
            await self.call(session.sending)
            session.meter_stop, session.sending = self.energy, None
            session.stopped_at = time.monotonic()


@pytest.fixture
def pair():
    with running_pair() as started:
        yield started


def api_get(url: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Token {API_TOKEN}"}, timeout=30)


async def api_until(url: str, status: int, *, within: float) -> tuple[requests.Response, float]:
    """The first answer with `status`, and the seconds it took."""
    started = time.monotonic()
    while True:
        try:
            response = await asyncio.to_thread(api_get, url)
        except requests.RequestException:
            response = None
        if response is not None and response.status_code == status or time.monotonic() - started > within:
            return response, time.monotonic() - started
        await asyncio.sleep(0.2)


async def stored(db: psycopg.AsyncConnection) -> int:
    return (await (await db.execute(STORED)).fetchone())[0]


async def test_a_failover_to_the_standby_loses_and_doubles_no_acknowledged_message(pair, tmp_path: Path):
    pair.create_database("ocpp")
    # The standby comes first: before the failover the server must pass over
    # it (target_session_attrs=read-write) to write on the primary.
    url = pair.url("ocpp", order=("standby", "primary"))
    await asyncio.to_thread(manage, url, "migrate", "--noinput")
    await asyncio.to_thread(manage, url, "shell", "-c", SETUP)
    server = await asyncio.to_thread(start_server, url, tmp_path, OCPP_LOG_FLUSH_INTERVAL="0.05")
    chargers_api = f"{server.http_url}/ocpp/chargers/"
    api = Api(server.http_url, API_TOKEN)
    chargers = [SessionCharger(server.ws_url, index) for index in range(CHARGERS)]
    tasks = [asyncio.create_task(charger.run()) for charger in chargers]
    try:
        async with await psycopg.AsyncConnection.connect(pair.dsn("standby", "ocpp"), autocommit=True) as standby:

            async def running(count: int, since: float = 0.0) -> bool:
                """Every charger ran `count` whole sessions started after `since`."""
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if all(
                        sum(1 for s in c.sessions if s.stopped_at and s.started_at > since) >= count for c in chargers
                    ):
                        return True
                    assert not any(task.done() for task in tasks), [task.exception() for task in tasks if task.done()]
                    await asyncio.sleep(0.1)
                return False

            assert await running(1)  # every charger finished a session on the primary
            assert (await asyncio.to_thread(api_get, chargers_api)).status_code == 200

            pair.kill_primary()
            killed = time.monotonic()
            # The gap: no primary. The API says so, as JSON.
            gap_answer, _ = await api_until(chargers_api, 503, within=15)
            assert gap_answer is not None and gap_answer.status_code == 503, gap_answer
            assert gap_answer.headers["Content-Type"].startswith("application/json")
            assert gap_answer.json() == {"detail": "database unavailable", "retry_after": 5}
            await asyncio.sleep(max(0.0, GAP - (time.monotonic() - killed)))
            before = await stored(standby)  # what the synchronous standby holds: all that was acknowledged
            await asyncio.to_thread(pair.promote)
            promoted = time.monotonic()

            while await stored(standby) == before:  # the same session: the standby is the primary now
                assert time.monotonic() - promoted < 60, "nothing was stored on the new primary in 60 s"
                await asyncio.sleep(0.05)
            first_stored = time.monotonic()
            ok, api_back = await api_until(chargers_api, 200, within=60)
            assert ok is not None and ok.status_code == 200, ok
            print(
                f"failover: killed -> promoted {promoted - killed:.1f} s (the gap), "
                f"-> first charger message stored on the new primary {first_stored - killed:.1f} s "
                f"({first_stored - promoted:.1f} s after the promotion); the API answered 200 again "
                f"{api_back:.1f} s after that"
            )

            # Commands reach every charger again.
            for charger in chargers:
                started = time.monotonic()
                while True:
                    status, body = await api.action(charger.id, "GetConfiguration", SAMPLES["GetConfiguration"][0])
                    if status == 200:
                        break
                    assert time.monotonic() - started < 30, (status, body)
                    await asyncio.sleep(0.5)
            assert await running(1, since=first_stored)  # sessions go on on the new primary
            for charger in chargers:
                charger.sessions_open = False
            # Each ends its session and has a last Heartbeat answered.
            await asyncio.wait_for(asyncio.gather(*tasks), 60)
            await asyncio.sleep(1.0)  # the last answers' log rows
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(server.stop)
    output = server.log_text()
    assert "dropping unstorable log row" not in output, output
    # The load manager says once that the database is away, not once a pass.
    assert "load manager: a pass failed" not in output, output
    assert output.count("load manager: reaching the database failed") <= 1, output
    assert sum(charger.retries for charger in chargers) > 0  # the failover was felt

    with psycopg.connect(pair.dsn("standby", "ocpp")) as db:
        for charger in chargers:
            acknowledged = charger.sessions
            rows = db.execute(
                "SELECT t.id, t.meter_stop FROM ocpp_app_transaction t JOIN ocpp_app_charger c ON c.id = t.charger_id"
                " WHERE c.charger_id = %s ORDER BY t.start_time",
                [charger.id],
            ).fetchall()
            # Each session once, in the order it ran, with the stop that was acknowledged.
            assert rows == [(s.transaction_id, s.meter_stop) for s in acknowledged], (charger.id, rows)
            assert [row[0] for row in rows] == sorted(row[0] for row in rows)
            for session in acknowledged:
                readings = db.execute(
                    "SELECT id, value_numeric FROM ocpp_app_meterreading WHERE transaction_id = %s"
                    " ORDER BY timestamp, id",
                    [session.transaction_id],
                ).fetchall()
                assert [value for _, value in readings] == [float(v) for v in session.readings], charger.id
                assert [row_id for row_id, _ in readings] == sorted(row_id for row_id, _ in readings)
            # Every CALL the server answered is in the message log, in and out,
            # the gap's included (held back until the new primary took them).
            logged = {
                (direction, message_id)
                for direction, message_id in db.execute(
                    "SELECT direction, message_id FROM ocpp_app_messagelog WHERE charger_id = %s", [charger.id]
                )
            }
            missing = [m for m in charger.answered if ("in", m) not in logged or ("out", m) not in logged]
            assert not missing, (charger.id, missing[:10], len(charger.answered))
        sessions = sum(len(charger.sessions) for charger in chargers)
        assert db.execute("SELECT count(*) FROM ocpp_app_transaction").fetchone() == (sessions,)
    print(
        f"{CHARGERS} chargers, {sessions} sessions, {sum(c.retries for c in chargers)} CALLs sent again, "
        f"connections per charger: {[c.connects for c in chargers]}"
    )
