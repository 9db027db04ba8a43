"""A fleet of simulated chargers driven by one asyncio loop, behaving as real
chargers do:

- each connects through the proxy, sends BootNotification (again after
  `interval` until Accepted) and a StatusNotification, then Heartbeats at the
  interval the central system gave;
- it runs sessions: Authorize, StartTransaction, MeterValues with an
  increasing Energy.Active.Import.Register and increasing timestamps,
  StopTransaction. The meter keeps sampling while the charger is offline;
- every transaction message (Start, MeterValues, Stop) waits in a queue until
  its CALLRESULT arrives: on a CALLERROR, a time-out or a dropped socket the
  charger reconnects (backing off) and sends the same payload again. One
  CALL at a time, each waiting for its answer;
- it answers the central system's CALLs (GetConfiguration,
  ChangeConfiguration, TriggerMessage) with a CALLRESULT;
- every acknowledged message is kept (`Charger.acks`) to be compared with what
  the database stored.

A charger may be cut off (`power_cut`): once its socket drops it stays away
for the given time, as one whose power failed with its node's."""

import asyncio
import itertools
import json
import random
import ssl
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import websockets

from ocpp_app.tests.cluster.hosts import CHARGER_ADDRESSES

ENERGY = "Energy.Active.Import.Register"
TRANSACTION_ACTIONS = ("StartTransaction", "MeterValues", "StopTransaction")


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class CallFailed(Exception):
    """No CALLRESULT for a CALL: a CALLERROR, a time-out or the socket went."""


@dataclass
class Session:
    id_tag: str
    meter_start: int
    start_time: str
    samples: int
    transaction_id: int | None = None


@dataclass
class Queued:
    action: str
    payload: dict
    session: Session
    attempts: int = 0


@dataclass(frozen=True)
class Ack:
    action: str
    payload: dict
    response: dict
    attempts: int


@dataclass
class FleetSettings:
    plain_url: str  # ws://proxy:port/ocpp
    tls_url: str  # wss://proxy:port/ocpp
    tls_context: ssl.SSLContext
    call_timeout: float = 15.0
    sample_interval: float = 2.5
    samples: tuple[int, int] = (3, 5)  # MeterValues per session
    idle_gap: tuple[float, float] = (1.0, 4.0)  # seconds between sessions
    first_session: tuple[float, float] = (3.0, 10.0)


class Charger:
    def __init__(self, fleet: "Fleet", index: int) -> None:
        self.fleet = fleet
        self.id = f"CL{index:04d}"
        self.source = CHARGER_ADDRESSES[index % len(CHARGER_ADDRESSES)]
        self.tls = index % 10 == 9  # a tenth over wss:// (still profile 0)
        self.energy = 100_000 + index * 1_000
        self.queue: deque[Queued] = deque()
        self.acks: list[Ack] = []
        self.session: Session | None = None
        self.meter_task: asyncio.Task | None = None
        self.sessions_done = 0
        self.online = False
        self.connects = 0
        self.failures: list[tuple[float, str]] = []
        self.failures_in_row = 0
        self.server_calls: list[tuple[str, dict]] = []
        self.config = {"HeartbeatInterval": "20", "MeterValueSampleInterval": "3", "FleetChargerId": self.id}
        self.heartbeat_interval = 20.0
        self.next_session_at = time.monotonic() + random.uniform(*fleet.settings.first_session)
        self.power_back_at = 0.0
        self._ws = None
        self._pending: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._link_lost = False
        self._triggered: deque[str] = deque()
        self._last_sent = 0.0

    # -- state seen by the test -------------------------------------------------------------

    @property
    def powered(self) -> bool:
        return time.monotonic() >= self.power_back_at

    @property
    def idle(self) -> bool:
        """No session running and nothing waiting for an answer."""
        return self.session is None and not self.queue and (self.meter_task is None or self.meter_task.done())

    # -- the connection -----------------------------------------------------------------------

    async def run(self) -> None:
        await asyncio.sleep(random.uniform(0, 5))  # a fleet never boots in one instant
        while not self.fleet.closed:
            if not self.powered:
                await asyncio.sleep(0.2)
                continue
            try:
                await self._connect_and_serve()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # every way a link fails: the charger tries again
                self.failures.append((time.monotonic(), f"{type(error).__name__}: {error}"[:300]))
            self.online = False
            if self.fleet.closed:
                break
            self.failures_in_row += 1
            delay = min(10.0, 0.5 * 2 ** min(self.failures_in_row, 5)) * random.uniform(0.5, 1.5)
            await asyncio.sleep(delay)

    async def _connect_and_serve(self) -> None:
        settings = self.fleet.settings
        url = f"{settings.tls_url if self.tls else settings.plain_url}/{self.id}"
        async with websockets.connect(
            url,
            subprotocols=["ocpp1.6"],
            ssl=settings.tls_context if self.tls else None,
            local_addr=(self.source, 0),
            open_timeout=15,
            close_timeout=2,
            ping_interval=20,
            ping_timeout=20,
            compression=None,
        ) as ws:
            self._ws, self._link_lost = ws, False
            self.connects += 1
            reader = asyncio.create_task(self._read(ws))
            try:
                await self._boot()
                await self.call(
                    "StatusNotification",
                    {
                        "connectorId": 1,
                        "errorCode": "NoError",
                        "status": "Charging" if self.session else "Available",
                        "timestamp": now_text(),
                    },
                )
                self.failures_in_row = 0
                self.online = True
                await self._serve()
            finally:
                self.online = False
                reader.cancel()
                self._fail_pending("the socket was closed")

    async def _boot(self) -> None:
        while True:
            answer = await self.call(
                "BootNotification",
                {"chargePointVendor": "Fleet", "chargePointModel": "Cluster", "chargePointSerialNumber": self.id},
            )
            if answer.get("status") == "Accepted":
                self.heartbeat_interval = float(answer.get("interval") or 20) or 20.0
                return
            await asyncio.sleep(min(10.0, max(1.0, float(answer.get("interval") or 5))))

    async def _serve(self) -> None:
        while not self.fleet.closed:
            self._wake.clear()
            if self._link_lost:
                raise CallFailed("the socket was closed")
            if self._triggered:
                action = self._triggered.popleft()
                payload = (
                    {}
                    if action == "Heartbeat"
                    else {
                        "connectorId": 1,
                        "errorCode": "NoError",
                        "status": "Charging" if self.session else "Available",
                    }
                )
                await self.call(action, payload)
                continue
            if self.queue:
                await self._send_queued()
                continue
            now = time.monotonic()
            if now - self._last_sent >= self.heartbeat_interval:
                await self.call("Heartbeat", {})
                continue
            if self.fleet.sessions_open and self.idle and now >= self.next_session_at:
                tag = f"TAG-{self.id}"
                answer = await self.call("Authorize", {"idTag": tag})
                if answer.get("idTagInfo", {}).get("status") == "Accepted":
                    self._begin_session(tag)
                else:
                    self.next_session_at = now + 5
                continue
            wait = self.heartbeat_interval - (now - self._last_sent)
            if self.fleet.sessions_open and self.idle:
                wait = min(wait, self.next_session_at - now)
            try:
                await asyncio.wait_for(self._wake.wait(), max(0.05, min(wait, 1.0)))
            except TimeoutError:
                pass

    async def _send_queued(self) -> None:
        item = self.queue[0]
        if item.action != "StartTransaction" and "transactionId" not in item.payload:
            # Fixed at the first attempt: a retry sends exactly the same payload.
            item.payload["transactionId"] = item.session.transaction_id
        item.attempts += 1
        answer = await self.call(item.action, item.payload)
        if item.action == "StartTransaction":
            item.session.transaction_id = answer["transactionId"]
        self.acks.append(Ack(item.action, item.payload, answer, item.attempts))
        self.queue.popleft()

    def _begin_session(self, tag: str) -> None:
        settings = self.fleet.settings
        session = Session(
            id_tag=tag, meter_start=self.energy, start_time=now_text(), samples=random.randint(*settings.samples)
        )
        self.session = session
        self.queue.append(
            Queued(
                "StartTransaction",
                {"connectorId": 1, "idTag": tag, "meterStart": session.meter_start, "timestamp": session.start_time},
                session,
            )
        )
        self.meter_task = asyncio.create_task(self._meter(session))

    async def _meter(self, session: Session) -> None:
        """The session's meter: samples on its own clock, online or not."""
        interval = self.fleet.settings.sample_interval
        for _ in range(session.samples):
            await self._sleep_powered(interval)
            self.energy += random.randint(50, 400)
            reading = {"value": str(self.energy), "measurand": ENERGY, "unit": "Wh", "context": "Sample.Periodic"}
            self.queue.append(
                Queued(
                    "MeterValues",
                    {"connectorId": 1, "meterValue": [{"timestamp": now_text(), "sampledValue": [reading]}]},
                    session,
                )
            )
            self._wake.set()
        await self._sleep_powered(interval)
        self.energy += random.randint(10, 100)
        self.queue.append(
            Queued(
                "StopTransaction",
                {"meterStop": self.energy, "timestamp": now_text(), "idTag": session.id_tag, "reason": "Local"},
                session,
            )
        )
        self.session = None
        self.sessions_done += 1
        self.next_session_at = time.monotonic() + random.uniform(*self.fleet.settings.idle_gap)
        self._wake.set()

    async def _sleep_powered(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        while not self.powered:  # no power, no charging
            await asyncio.sleep(0.2)

    # -- frames -------------------------------------------------------------------------------

    async def call(self, action: str, payload: dict) -> dict:
        message_id = f"{self.id}-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        try:
            await self._ws.send(json.dumps([2, message_id, action, payload]))
            sent = self._last_sent = time.monotonic()
            try:
                frame = await asyncio.wait_for(future, self.fleet.settings.call_timeout)
            except TimeoutError:
                raise CallFailed(f"{action}: no answer in {self.fleet.settings.call_timeout:.0f} s") from None
        finally:
            self._pending.pop(message_id, None)
        if frame[0] == 4:
            raise CallFailed(f"{action}: CALLERROR {frame[2]} {frame[3]!r}"[:300])
        self.fleet.answered[action] += 1
        self.fleet.latencies.append((sent, action, time.monotonic() - sent))
        return frame[2]

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CallFailed(reason))
        self._pending.clear()

    async def _read(self, ws) -> None:
        try:
            async for text in ws:
                frame = json.loads(text)
                if frame[0] in (3, 4):
                    future = self._pending.get(frame[1])
                    if future is not None and not future.done():
                        future.set_result(frame)
                elif frame[0] == 2:
                    await ws.send(json.dumps(self._answer(frame)))
        except websockets.ConnectionClosed:
            pass
        finally:
            self._link_lost = True
            self._fail_pending("the socket was closed")
            self._wake.set()

    def _answer(self, frame: list) -> list:
        _, message_id, action, payload = frame[:4]
        self.server_calls.append((action, payload))
        if action == "GetConfiguration":
            keys = payload.get("key") or list(self.config)
            known = [
                {"key": key, "readonly": key == "FleetChargerId", "value": self.config[key]}
                for key in keys
                if key in self.config
            ]
            result = {"configurationKey": known}
            unknown = [key for key in keys if key not in self.config]
            if unknown:
                result["unknownKey"] = unknown
            return [3, message_id, result]
        if action == "ChangeConfiguration":
            key = payload.get("key")
            if key in self.config and key != "FleetChargerId":
                self.config[key] = payload.get("value", "")
                return [3, message_id, {"status": "Accepted"}]
            return [3, message_id, {"status": "NotSupported"}]
        if action == "TriggerMessage":
            requested = payload.get("requestedMessage")
            if requested in ("Heartbeat", "StatusNotification"):
                self._triggered.append(requested)
                self._wake.set()
                return [3, message_id, {"status": "Accepted"}]
            return [3, message_id, {"status": "NotImplemented"}]
        return [4, message_id, "NotImplemented", f"{action} is not implemented by this charger", {}]


@dataclass
class Fleet:
    settings: FleetSettings
    size: int
    chargers: list[Charger] = field(default_factory=list)
    answered: Counter = field(default_factory=Counter)
    latencies: list[tuple[float, str, float]] = field(default_factory=list)  # (sent, action, seconds)
    closed: bool = False
    sessions_open: bool = True
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chargers = [Charger(self, index) for index in range(self.size)]

    def by_id(self) -> dict[str, Charger]:
        return {charger.id: charger for charger in self.chargers}

    def start(self) -> None:
        self._tasks = [asyncio.create_task(charger.run()) for charger in self.chargers]

    def online(self, excluded: set[str] = frozenset()) -> int:
        return sum(1 for charger in self.chargers if charger.online and charger.id not in excluded)

    def power_cut(self, charger_ids: list[str], seconds: float) -> None:
        """These chargers, once their socket drops, stay away `seconds` (and
        their meters stop: no power)."""
        back = time.monotonic() + seconds
        for charger in self.chargers:
            if charger.id in charger_ids:
                charger.power_back_at = back

    def power_back(self, charger_ids: list[str]) -> None:
        for charger in self.chargers:
            if charger.id in charger_ids:
                charger.power_back_at = 0.0

    def reboot(self, charger_ids: list[str]) -> None:
        """These chargers close their socket (a reboot) and connect again."""
        for charger in self.chargers:
            if charger.id in charger_ids and charger._ws is not None:
                asyncio.create_task(charger._ws.close())

    def drained(self) -> bool:
        return all(charger.idle for charger in self.chargers)

    async def close(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for charger in self.chargers:
            if charger.meter_task:
                charger.meter_task.cancel()
        await asyncio.gather(
            *self._tasks, *(c.meter_task for c in self.chargers if c.meter_task), return_exceptions=True
        )
