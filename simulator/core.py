"""A simulated OCPP 1.6J charge point: its connection, boot and public API.

One `ChargePointSimulator` owns one WebSocket connection at a time (the
`ocpp` library's charge point over `websockets`) and any number of
connectors. It reconnects with exponential back-off. Transaction messages
go through the ordered outbox (simulator/outbox.py), which keeps them while
the connection is down and replays them in order; everything else is sent
only while online, like a real charger would. Charging sessions are in
simulator/sessions.py, what commands do to the charger's state in
simulator/state.py, the command handlers in simulator/handlers.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random
from collections import deque
from dataclasses import dataclass, field

import websockets
from ocpp.exceptions import OCPPError
from ocpp.v16 import call
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from simulator.certificates import CertificatesMixin
from simulator.configuration import default_keys
from simulator.ev import EV
from simulator.handlers import SimChargePoint
from simulator.model import Connector, Reservation, Session, utc_iso
from simulator.outbox import OutboxMixin, Queued
from simulator.profiles import ProfileStore
from simulator.sessions import SessionsMixin
from simulator.state import StateMixin

logger = logging.getLogger("simulator")


@dataclass
class Stats:
    sent: int = 0
    errors: int = 0
    sessions: int = 0
    reconnects: int = 0
    replayed: int = 0
    dropped: list = field(default_factory=list)


class ChargePointSimulator(SessionsMixin, StateMixin, OutboxMixin, CertificatesMixin):
    def __init__(self, config) -> None:
        self.config = config
        self.state = "idle"  # idle, connecting, booting, pending, rejected, online, offline, stopped
        self.last_error = ""
        self.heartbeat_interval = 60
        self.connectors: dict[int, Connector] = {
            i: Connector(
                i,
                ev=EV(
                    max_current=config.ev_max_current,
                    battery_kwh=config.battery_kwh,
                    soc=config.soc_start,
                    pause_after=config.ev_pause_after,
                ),
            )
            for i in range(1, max(1, config.connectors) + 1)
        }
        self.configuration = default_keys(
            connectors=len(self.connectors),
            heartbeat_interval=60,
            sample_interval=config.interval,
            smart_charging=config.smart_charging,
            rate_units=config.rate_units,
        )
        self.profiles = ProfileStore()
        self.auth_cache: dict[str, str] = {}
        self.local_list: dict[str, str] = {}
        self.local_list_version = 0
        self.reservations: dict[int, Reservation] = {}
        self.firmware_version = config.firmware_version
        self.diagnostics_status = "Idle"
        self.firmware_status = "Idle"
        self.stats = Stats()
        self.outbox: deque[Queued] = deque()
        self._outbox_changed = asyncio.Event()
        self._online = asyncio.Event()
        self._closing = False
        self._needs_boot = True
        self._reconnect_now = False
        self._cp: SimChargePoint | None = None
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._main_tasks: list[asyncio.Task] = []
        self._heartbeat_task: asyncio.Task | None = None
        self._status_dirty: set[int] = set()
        self.sample_interval = float(config.interval)

    # -- public API ----------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._online.is_set()

    async def start(self) -> None:
        """Connect (in the background, reconnecting as needed) and wait until
        the central system accepted the BootNotification."""
        if not self._main_tasks:
            self._closing = False
            self._main_tasks = [
                asyncio.create_task(self._connection_loop(), name="sim-connection"),
                asyncio.create_task(self._drain_outbox(), name="sim-outbox"),
            ]
        await self._online.wait()

    async def run_session(self, connector_id: int = 1) -> Session:
        """One charging session on one connector, then disconnect and return."""
        try:
            await self.start()
            session = await self.charge(connector_id, self.config.rfid)
            await self.wait_drained()
            return session
        finally:
            await self.stop()

    async def run(self) -> None:
        """Sessions on connector 1 (looping with a pause in repeat mode) until
        stop(); the charger also answers remote commands meanwhile."""
        try:
            await self.start()
            while not self._closing:
                await self.charge(1, self.config.rfid)
                if not self.config.repeat:
                    break
                await self._sleep(self.config.pause)
            await self.wait_drained()
        finally:
            await self.stop()

    async def charge(self, connector_id: int, id_tag: str | None, *, remote: bool = False) -> Session:
        connector = self.connectors[connector_id]
        while connector.session is not None and not self._closing:
            await connector.session.done.wait()
        return await self._session(connector, id_tag, remote=remote)

    async def stop(self, *, drain_timeout: float | None = None) -> None:
        """Stop running sessions (reason Local), try to deliver the outbox for
        a bounded time, close the connection."""
        if self._closing and not self._main_tasks:
            return
        self._closing = True
        for connector in self.connectors.values():
            if connector.session is not None:
                connector.session.request_stop("Local")
        sessions = [c.session.done.wait() for c in self.connectors.values() if c.session is not None]
        if sessions:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*sessions), 5)
        timeout = self.config.drain_timeout if drain_timeout is None else drain_timeout
        if self.online:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wait_drained(), timeout)
        for task in [*self._main_tasks, *self._tasks]:
            task.cancel()
        for task in [*self._main_tasks, *self._tasks]:
            with contextlib.suppress(BaseException):
                await task
        self._main_tasks = []
        await self._close_socket()
        self.state = "stopped"

    async def drop_connection(self) -> None:
        """Close the socket abruptly (as a network failure would); the
        simulator keeps charging and reconnects."""
        if self._ws is not None:
            transport = getattr(self._ws, "transport", None)
            if transport is not None:
                transport.abort()
            else:  # pragma: no cover
                await self._ws.close()

    def now_iso(self) -> str:
        return utc_iso()

    # -- the connection --------------------------------------------------------------

    def _headers(self) -> dict:
        if not self.config.password:
            return {}
        token = base64.b64encode(f"{self.config.cp_id}:{self.config.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _connection_loop(self) -> None:
        delay = self.config.reconnect_min
        first = True
        while not self._closing:
            if not first:
                self.stats.reconnects += 1
            first = False
            self.state = "connecting"
            try:
                tls = self.connection_ssl()
                ws = await websockets.connect(
                    self.config.ws_url,
                    **({"ssl": tls} if tls is not None else {}),
                    subprotocols=["ocpp1.6"],
                    additional_headers=self._headers(),
                    open_timeout=10,
                    ping_interval=20,
                    ping_timeout=20,
                    compression=None,
                    max_size=2**20,
                )
            except (OSError, InvalidHandshake, TimeoutError) as error:  # ssl.SSLError is an OSError
                if isinstance(error, InvalidStatus):
                    self.last_error = f"handshake refused: HTTP {error.response.status_code}"
                else:
                    self.last_error = f"cannot connect: {error or type(error).__name__}"
                self.state = "offline"
                logger.warning("%s: %s; retrying in %.1f s", self.config.cp_id, self.last_error, delay)
                await self._sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.config.reconnect_max)
                continue
            delay = self.config.reconnect_min
            self._ws = ws
            self._cp = SimChargePoint(self.config.cp_id, ws, self, response_timeout=self.config.call_timeout)
            self._reader = asyncio.create_task(self._read(self._cp), name="sim-reader")
            try:
                if self._needs_boot:
                    await self._boot()
                self._online.set()
                self.state = "online"
                self._outbox_changed.set()
                if self._heartbeat_task is None or self._heartbeat_task.done():
                    self._heartbeat_task = self._spawn(self._heartbeat_loop())
                await self._reader
            except (ConnectionError, ConnectionClosed):
                pass
            except TimeoutError:
                self.last_error = "BootNotification: no answer"
            except OCPPError as error:
                self.last_error = f"boot failed: {error}"
            finally:
                self._online.clear()
                if self._heartbeat_task is not None:
                    self._heartbeat_task.cancel()
                self._reader.cancel()
                await self._close_socket()
            if not self._closing:
                self.state = "offline"
                if self._reconnect_now:
                    self._reconnect_now = False
                    continue
                logger.info("%s: connection lost; reconnecting in %.1f s", self.config.cp_id, delay)
                await self._sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.config.reconnect_max)

    async def _read(self, cp: SimChargePoint) -> None:
        try:
            await cp.start()
        except ConnectionClosed as closed:
            if not self._closing:
                self.last_error = f"connection closed ({closed.rcvd.code if closed.rcvd else 'no close frame'})"

    async def _close_socket(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 2)

    async def _boot(self) -> None:
        """BootNotification until Accepted; Pending and Rejected wait the
        interval the central system gave (OCPP 1.6 §4.2)."""
        while True:
            self.state = "booting"
            result = await self._call(self.boot_notification())
            if result.status == "Accepted":
                self._needs_boot = False
                self.set_heartbeat_interval(result.interval or self.heartbeat_interval)
                for connector_id in [0, *self.connectors]:
                    await self._call(self.status_notification(connector_id))
                return
            self.state = result.status.lower()
            self.last_error = f"BootNotification {result.status}"
            retry = result.interval if result.interval and result.interval > 0 else 10
            await self._sleep_or_drop(retry)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            await self.send(call.Heartbeat())

    async def _call(self, payload):
        """One CALL on the current connection. Raises ConnectionError when the
        connection drops before the answer, OCPPError for a CALLERROR and
        TimeoutError when no answer comes."""
        cp, reader = self._cp, self._reader
        if cp is None or reader is None or reader.done():
            raise ConnectionError("not connected")
        request = asyncio.create_task(cp.call(payload, suppress=False))
        try:
            await asyncio.wait({request, reader}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            request.cancel()
            raise
        if not request.done():
            request.cancel()
            raise ConnectionError("connection lost while waiting for an answer")
        try:
            result = request.result()
        except ConnectionClosed as closed:
            raise ConnectionError("connection lost") from closed
        self.stats.sent += 1
        return result

    async def send(self, payload):
        """A non-transaction message: sent when online, else dropped. Returns
        the answer or None."""
        if not self.online:
            return None
        try:
            return await self._call(payload)
        except (ConnectionError, TimeoutError) as error:
            self.last_error = f"{type(payload).__name__}: {error or 'timeout'}"
        except OCPPError as error:
            self.stats.errors += 1
            self.last_error = f"{type(payload).__name__} answered {type(error).__name__}: {error.description}"
            logger.warning("%s: %s", self.config.cp_id, self.last_error)
        except Exception as error:  # e.g. an answer that fails the schema
            self.stats.errors += 1
            self.last_error = f"{type(payload).__name__}: {type(error).__name__}: {error}"
            logger.warning("%s: %s", self.config.cp_id, self.last_error)
        return None

    async def reboot(self, *, reason: str) -> None:
        """Reset: end sessions, deliver their StopTransaction, reconnect and boot."""
        for connector in self.connectors.values():
            if connector.session is not None:
                connector.session.request_stop(reason)
        for connector in self.connectors.values():
            if connector.session is not None:
                await connector.session.done.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wait_drained(), self.config.drain_timeout)
        self._needs_boot = True
        self._reconnect_now = True
        await self._close_socket()

    # -- helpers -------------------------------------------------------------------------

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def _sleep_or_drop(self, seconds: float) -> None:
        """Sleep, but give up at once when the connection drops."""
        reader = self._reader
        if reader is None:
            return await self._sleep(seconds)
        await asyncio.wait({reader}, timeout=seconds)
        if reader.done():
            raise ConnectionError("connection lost")

    def _int_key(self, name: str, default: int) -> int:
        try:
            return int(self.configuration[name].value)
        except (KeyError, ValueError):
            return default

    def set_heartbeat_interval(self, seconds: int) -> None:
        self.heartbeat_interval = max(1, int(seconds))
        self.configuration["HeartbeatInterval"].value = str(self.heartbeat_interval)

    def configuration_changed(self, key: str) -> None:
        if key == "HeartbeatInterval":
            self.set_heartbeat_interval(self._int_key(key, 60))
            if self._heartbeat_task is not None and self.online:
                self._heartbeat_task.cancel()
                self._heartbeat_task = self._spawn(self._heartbeat_loop())
        elif key == "MeterValueSampleInterval":
            self.sample_interval = float(max(1, self._int_key(key, 60)))

    def status_line(self) -> str:
        parts = [f"{self.config.cp_id} {self.state}"]
        for connector in self.connectors.values():
            text = f"#{connector.id} {connector.status}"
            session = connector.session
            if session is not None:
                tx = session.transaction_id if session.transaction_id is not None else "?"
                text += (
                    f" tx {tx} {session.delivered_wh / 1000:.2f}/{self.config.kwh_max:.2f} kWh"
                    f" {session.power_w / 1000:.1f} kW"
                )
            text += f" limit {self.limit_in_force(connector):.1f} A"
            if session is not None:
                text += f" draw {session.current_a:.1f} A"
            parts.append(text)
        parts.append(f"sessions {self.stats.sessions}")
        if self.outbox:
            parts.append(f"queued {len(self.outbox)}")
        if self.last_error and self.state != "online":
            parts.append(f"last error: {self.last_error}")
        return " | ".join(parts)
