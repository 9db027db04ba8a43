"""Connectors, sessions, reservations and the local list of a simulated
charger, and what the central system's commands do to them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ocpp.v16 import call

from ocpp_app.lib.timeparse import BadDateTime, parse_datetime_utc

logger = logging.getLogger("simulator")


def _utc_iso(when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str | None) -> datetime | None:
    """A date-time from the central system (no offset means UTC), or None for
    one the simulator cannot use: it then acts at once / never expires."""
    try:
        return parse_datetime_utc(value)
    except BadDateTime:
        return None


@dataclass
class Session:
    connector_id: int
    id_tag: str
    meter_start: int
    start_time: datetime
    reservation_id: int | None = None
    transaction_id: int | None = None
    id_tag_status: str | None = None
    delivered_wh: float = 0.0
    power_w: float = 0.0
    meter_values_sent: int = 0
    stop_reason: str | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_event.set()

    def started(self, transaction_id: int, id_tag_status: str) -> None:
        """The central system answered StartTransaction."""
        self.transaction_id = transaction_id
        self.id_tag_status = id_tag_status
        self.answered.set()
        if id_tag_status != "Accepted":
            # §5.11: a charger stops a transaction whose tag is not accepted.
            self.request_stop("DeAuthorized")


@dataclass
class Reservation:
    reservation_id: int
    connector_id: int
    id_tag: str
    expiry: datetime | None


@dataclass
class Connector:
    id: int
    status: str = "Available"
    operative: bool = True
    # A ChangeAvailability that waits for the running session to end.
    scheduled_operative: bool | None = None
    meter_wh: float = 0.0
    limit_w: float | None = None
    session: Session | None = None
    claimed: bool = False
    reservation: Reservation | None = None

    @property
    def idle_status(self) -> str:
        if not self.operative:
            return "Unavailable"
        return "Reserved" if self.reservation is not None else "Available"


class StateMixin:
    """Behaviour of ChargePointSimulator that is about the charger's state."""

    charger_operative = True
    charger_limit_w: float | None = None
    step_delay = 0.5  # seconds between the steps of diagnostics/firmware sequences

    # -- sessions ----------------------------------------------------------------

    def start_session(self, connector_id: int, id_tag: str, *, remote: bool = False) -> asyncio.Task:
        return self._spawn(self.charge(connector_id, id_tag, remote=remote))

    async def _authorize(self, id_tag: str) -> str:
        """Authorize online; offline use the local list and the cache."""
        if self.online:
            result = await self.send(call.Authorize(id_tag=id_tag))
            if result is not None:
                status = (result.id_tag_info or {}).get("status", "Invalid")
                self.auth_cache[id_tag] = status
                return status
        if self.configuration["LocalAuthorizeOffline"].value == "true":
            known = self.local_list.get(id_tag) or self.auth_cache.get(id_tag)
            if known:
                return known
        return "Accepted" if self.configuration["AllowOfflineTxForUnknownId"].value == "true" else "Invalid"

    async def _session(self, connector, id_tag: str | None, *, remote: bool) -> Session:
        connector.claimed = False
        tag = id_tag or "SIMULATOR"
        session = Session(connector.id, tag, meter_start=round(connector.meter_wh), start_time=datetime.now(UTC))
        if not (connector.operative and self.charger_operative):
            session.request_stop("Other")
            session.done.set()
            return session
        authorize = bool(id_tag) and (not remote or self.configuration["AuthorizeRemoteTxRequests"].value == "true")
        if authorize:
            status = await self._authorize(tag)
            if status != "Accepted":
                self.last_error = f"id tag {tag} not accepted: {status}"
                session.id_tag_status = status
                session.request_stop("DeAuthorized")
                session.done.set()
                return session
        reservation = connector.reservation
        if reservation is not None:
            if reservation.id_tag != tag:
                session.request_stop("Other")
                session.done.set()
                return session
            session.reservation_id = reservation.reservation_id
            connector.reservation = None
            self.reservations.pop(reservation.reservation_id, None)

        connector.session = session
        self.stats.sessions += 1
        try:
            await self.set_status(connector, "Preparing")
            begin = self.sample(connector, session, "Transaction.Begin")
            self.enqueue(
                call.StartTransaction(
                    connector_id=connector.id,
                    id_tag=tag,
                    meter_start=session.meter_start,
                    timestamp=_utc_iso(session.start_time),
                    reservation_id=session.reservation_id,
                ),
                session,
            )
            if self.online:
                # Online, a charger starts delivering once the CSMS answered.
                await asyncio.wait({asyncio.ensure_future(session.answered.wait())}, timeout=self.config.call_timeout)
            await self.set_status(connector, "Charging")
            await self._deliver(connector, session)
            end = self.sample(connector, session, "Transaction.End")
            await self.set_status(connector, "Finishing")
            self.enqueue(
                call.StopTransaction(
                    meter_stop=round(connector.meter_wh),
                    timestamp=end["timestamp"],
                    transaction_id=0,  # filled in when sent
                    reason=session.stop_reason,
                    id_tag=tag,
                    transaction_data=[begin, end],
                ),
                session,
            )
        finally:
            connector.session = None
            session.done.set()
        if connector.scheduled_operative is not None:
            connector.operative, connector.scheduled_operative = connector.scheduled_operative, None
        await self.set_status(connector, connector.idle_status)
        return session

    async def _deliver(self, connector, session: Session) -> None:
        """Charge until the kWh target or a stop request, one MeterValues per
        sample interval."""
        target_wh = self.config.kwh_max * 1000
        last = time.monotonic()
        while session.stop_reason is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.stop_event.wait(), self.sample_interval)
            now = time.monotonic()
            power = self.power_limit_w(connector.id)
            delta = min(power * (now - last) * self.config.speed / 3600, target_wh - session.delivered_wh)
            last = now
            session.power_w = power
            connector.meter_wh += max(0.0, delta)
            session.delivered_wh += max(0.0, delta)
            if session.stop_reason is not None:
                break
            if power <= 0 and connector.status == "Charging":
                await self.set_status(connector, "SuspendedEVSE")
            elif power > 0 and connector.status == "SuspendedEVSE":
                await self.set_status(connector, "Charging")
            self.enqueue(
                call.MeterValues(
                    connector_id=connector.id,
                    meter_value=[self.sample(connector, session, "Sample.Periodic")],
                    transaction_id=0,  # filled in when sent
                ),
                session,
            )
            session.meter_values_sent += 1
            if session.delivered_wh >= target_wh - 0.5:
                # The car is full and the driver unplugs.
                session.request_stop("EVDisconnected")

    def sample(self, connector, session: Session | None, context: str) -> dict:
        """One meter value: energy register, power, current, voltage, SoC."""
        power = session.power_w if session is not None else 0.0
        voltage = self.config.voltage + random.uniform(-2, 2)
        current = power / (voltage * max(1, self.config.phases))
        values = [
            {
                "value": str(round(connector.meter_wh)),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "location": "Outlet",
                "unit": "Wh",
            },
            {"value": f"{power:.0f}", "context": context, "measurand": "Power.Active.Import", "unit": "W"},
            {"value": f"{current:.1f}", "context": context, "measurand": "Current.Import", "unit": "A"},
            {"value": f"{voltage:.1f}", "context": context, "measurand": "Voltage", "unit": "V"},
        ]
        if session is not None:
            soc = min(100.0, self.config.soc_start + session.delivered_wh / (self.config.battery_kwh * 10))
            values.append(
                {"value": f"{soc:.0f}", "context": context, "measurand": "SoC", "location": "EV", "unit": "Percent"}
            )
        return {"timestamp": _utc_iso(), "sampled_value": values}

    def request_stop(self, *, transaction_id: int | None = None, connector_id: int | None = None, reason: str) -> bool:
        for connector in self.connectors.values():
            session = connector.session
            if session is None:
                continue
            if (transaction_id is not None and session.transaction_id == transaction_id) or (
                connector_id is not None and connector.id == connector_id
            ):
                session.request_stop(reason)
                return True
        return False

    def connector_for_remote_start(self, connector_id: int | None):
        if not self.charger_operative:
            return None
        if connector_id is not None:
            connector = self.connectors.get(connector_id)
            candidates = [connector] if connector is not None else []
        else:
            candidates = list(self.connectors.values())
        for connector in candidates:
            if connector.operative and connector.session is None and not connector.claimed:
                return connector
        return None

    def claimed_connector(self, connector_id: int | None):
        for connector in self.connectors.values():
            if connector.claimed and connector_id in (None, connector.id):
                return connector
        return None

    # -- statuses ------------------------------------------------------------------

    def status_notification(self, connector_id: int) -> call.StatusNotification:
        if connector_id == 0:
            status = "Available" if self.charger_operative else "Unavailable"
        else:
            status = self.connectors[connector_id].status
        return call.StatusNotification(
            connector_id=connector_id, error_code="NoError", status=status, timestamp=_utc_iso()
        )

    async def set_status(self, connector, status: str) -> None:
        connector.status = status
        await self.send(self.status_notification(connector.id))

    async def send_pending_statuses(self) -> None:
        dirty, self._status_dirty = sorted(self._status_dirty), set()
        for connector_id in dirty:
            await self.send(self.status_notification(connector_id))

    def _mark(self, connector, status: str | None = None) -> None:
        if connector is None:
            self._status_dirty.add(0)
            return
        connector.status = status or connector.idle_status
        self._status_dirty.add(connector.id)

    def change_availability(self, connector_id: int, *, operative: bool) -> str:
        if connector_id != 0 and connector_id not in self.connectors:
            return "Rejected"
        targets = list(self.connectors.values()) if connector_id == 0 else [self.connectors[connector_id]]
        scheduled = False
        if connector_id == 0 and self.charger_operative != operative:
            self.charger_operative = operative
            self._mark(None)
        for connector in targets:
            if connector.session is not None and not operative:
                connector.scheduled_operative = operative
                scheduled = True
            elif connector.operative != operative:
                connector.operative = operative
                self._mark(connector)
        return "Scheduled" if scheduled else "Accepted"

    # -- smart charging ------------------------------------------------------------------

    def apply_charging_profile(self, connector_id: int, profile: dict) -> bool:
        schedule = profile.get("charging_schedule") or {}
        unit = schedule.get("charging_rate_unit")
        periods = schedule.get("charging_schedule_period") or []
        if unit not in ("A", "W") or not periods:
            return False
        period = min(periods, key=lambda p: p.get("start_period", 0))
        try:
            limit = float(period["limit"])
        except (KeyError, TypeError, ValueError):
            return False
        phases = period.get("number_phases") or self.config.phases
        watts = limit if unit == "W" else limit * self.config.voltage * phases
        if connector_id == 0:
            self.charger_limit_w = watts
        else:
            self.connectors[connector_id].limit_w = watts
        return True

    def clear_charging_profiles(self, connector_id: int | None) -> bool:
        cleared = False
        if connector_id in (None, 0) and self.charger_limit_w is not None:
            self.charger_limit_w, cleared = None, True
        for connector in self.connectors.values():
            if connector_id in (None, 0, connector.id) and connector.limit_w is not None:
                connector.limit_w, cleared = None, True
        return cleared

    def power_limit_w(self, connector_id: int) -> float:
        limits = [self.config.power_kw * 1000]
        if self.charger_limit_w is not None:
            limits.append(self.charger_limit_w)
        connector = self.connectors.get(connector_id)
        if connector is not None and connector.limit_w is not None:
            limits.append(connector.limit_w)
        return max(0.0, min(limits))

    # -- reservations --------------------------------------------------------------------

    def reserve(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int) -> str:
        connector = self.connectors.get(connector_id)
        if connector is None:
            return "Rejected"  # connector 0: ReserveConnectorZeroSupported is false
        if not connector.operative or not self.charger_operative:
            return "Unavailable"
        if connector.status == "Faulted":
            return "Faulted"
        if connector.session is not None or connector.claimed:
            return "Occupied"
        if connector.reservation is not None and connector.reservation.reservation_id != reservation_id:
            return "Occupied"
        # A known reservation id replaces that reservation (§5.13).
        previous = self.reservations.pop(reservation_id, None)
        if previous is not None and previous.connector_id != connector_id:
            self.connectors[previous.connector_id].reservation = None
            self._mark(self.connectors[previous.connector_id])
        reservation = Reservation(reservation_id, connector_id, id_tag, _parse_time(expiry_date))
        self.reservations[reservation_id] = reservation
        connector.reservation = reservation
        self._mark(connector)
        if reservation.expiry is not None:
            self._spawn(self._expire_reservation(reservation))
        return "Accepted"

    async def _expire_reservation(self, reservation: Reservation) -> None:
        await asyncio.sleep(max(0.0, (reservation.expiry - datetime.now(UTC)).total_seconds()))
        if self.reservations.get(reservation.reservation_id) is reservation:
            self.cancel_reservation(reservation.reservation_id)
            await self.send_pending_statuses()

    def cancel_reservation(self, reservation_id: int) -> bool:
        reservation = self.reservations.pop(reservation_id, None)
        if reservation is None:
            return False
        connector = self.connectors[reservation.connector_id]
        if connector.reservation is reservation:
            connector.reservation = None
            if connector.session is None:
                self._mark(connector)
        return True

    # -- local authorization list ----------------------------------------------------------

    def update_local_list(self, version: int, update_type: str, entries: list) -> str:
        if self.configuration["LocalAuthListEnabled"].value != "true":
            return "NotSupported"
        if len(entries) > int(self.configuration["SendLocalListMaxLength"].value):
            return "Failed"
        if update_type == "Full":
            self.local_list = {
                e["id_tag"]: e["id_tag_info"].get("status", "Accepted") for e in entries if e.get("id_tag_info")
            }
        else:
            if version <= self.local_list_version:
                return "VersionMismatch"
            for entry in entries:
                if entry.get("id_tag_info"):
                    self.local_list[entry["id_tag"]] = entry["id_tag_info"].get("status", "Accepted")
                else:
                    self.local_list.pop(entry["id_tag"], None)
        self.local_list_version = version
        return "Accepted"

    # -- firmware management and triggers -------------------------------------------------------

    def diagnostics_file_name(self) -> str:
        return f"diagnostics-{self.config.cp_id}-{datetime.now(UTC):%Y%m%d%H%M%S}.log"

    async def upload_diagnostics(self, location: str) -> None:
        self.diagnostics_status = "Uploading"
        await self.send(call.DiagnosticsStatusNotification(status="Uploading"))
        await asyncio.sleep(self.step_delay)
        ok = location.split(":", 1)[0].lower() in ("ftp", "ftps", "sftp", "http", "https")
        self.diagnostics_status = "Uploaded" if ok else "UploadFailed"
        await self.send(call.DiagnosticsStatusNotification(status=self.diagnostics_status))

    async def update_firmware(self, location: str, retrieve_date: str) -> None:
        when = _parse_time(retrieve_date)
        if when is not None:
            await asyncio.sleep(min(3600.0, max(0.0, (when - datetime.now(UTC)).total_seconds())))
        for status in ("Downloading", "Downloaded", "Installing"):
            self.firmware_status = status
            await self.send(call.FirmwareStatusNotification(status=status))
            await asyncio.sleep(self.step_delay)
        name = location.rstrip("/").rsplit("/", 1)[-1] or "new"
        self.firmware_version = name[:50]
        self.firmware_status = "Installed"
        await self.send(call.FirmwareStatusNotification(status="Installed"))

    async def send_triggered(self, message: str, connector_id: int | None) -> None:
        if message == "BootNotification":
            result = await self.send(
                call.BootNotification(
                    charge_point_model=self.config.model,
                    charge_point_vendor=self.config.vendor,
                    charge_point_serial_number=self.config.serial,
                    firmware_version=self.firmware_version,
                )
            )
            if result is not None and result.status == "Accepted" and result.interval:
                self.set_heartbeat_interval(result.interval)
        elif message == "Heartbeat":
            await self.send(call.Heartbeat())
        elif message == "DiagnosticsStatusNotification":
            await self.send(call.DiagnosticsStatusNotification(status=self.diagnostics_status))
        elif message == "FirmwareStatusNotification":
            await self.send(call.FirmwareStatusNotification(status=self.firmware_status))
        elif message == "StatusNotification":
            ids = [connector_id] if connector_id is not None else [0, *self.connectors]
            for cid in ids:
                await self.send(self.status_notification(cid))
        elif message == "MeterValues":
            ids = [connector_id] if connector_id else list(self.connectors)
            for cid in ids:
                connector = self.connectors[cid]
                session = connector.session
                await self.send(
                    call.MeterValues(
                        connector_id=cid,
                        meter_value=[self.sample(connector, session, "Trigger")],
                        transaction_id=session.transaction_id if session is not None else None,
                    )
                )
