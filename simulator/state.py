"""What the central system's commands do to a simulated charger's state:
statuses and availability, charging profiles (kept and evaluated by
simulator/profiles.py) and the cars (simulator/ev.py), reservations, the
local authorization list, firmware and diagnostics, triggered messages."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from datetime import UTC, datetime

from ocpp.v16 import call

from simulator.ev import share
from simulator.model import Reservation, parse_time, utc_iso
from simulator.profiles import CHARGE_POINT_MAX, TX_PROFILE, Allowance, Capabilities, ChargingProfile, Electrical, Tx

logger = logging.getLogger("simulator")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class StateMixin:
    """Behaviour of ChargePointSimulator that is about the charger's state
    (its sessions are in SessionsMixin)."""

    charger_operative = True
    step_delay = 0.5  # seconds between the steps of diagnostics/firmware sequences

    # -- statuses ------------------------------------------------------------------

    def boot_notification(self) -> call.BootNotification:
        """The charger's identity, the same at boot and when triggered."""
        return call.BootNotification(
            charge_point_model=self.config.model,
            charge_point_vendor=self.config.vendor,
            charge_point_serial_number=self.config.serial_number,
            firmware_version=self.firmware_version,
            meter_type="SimMeter",
        )

    def status_notification(self, connector_id: int) -> call.StatusNotification:
        if connector_id == 0:
            status = "Available" if self.charger_operative else "Unavailable"
        else:
            status = self.connectors[connector_id].status
        return call.StatusNotification(
            connector_id=connector_id, error_code="NoError", status=status, timestamp=utc_iso()
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

    @property
    def smart_charging(self) -> bool:
        return self.config.smart_charging

    @property
    def electrical(self) -> Electrical:
        """The charger's supply; --power over its phases is its rated current."""
        voltage, phases = self.config.voltage, self.config.phases
        return Electrical(voltage, phases, self.config.power_kw * 1000 / (voltage * phases))

    def capabilities(self) -> Capabilities:
        return Capabilities.from_keys(
            self.configuration["ChargingScheduleAllowedChargingRateUnit"].value,
            max_stack_level=self._int_key("ChargeProfileMaxStackLevel", 10),
            max_periods=self._int_key("ChargingScheduleMaxPeriods", 24),
            max_installed=self._int_key("MaxChargingProfilesInstalled", 10),
        )

    def _tx(self, connector) -> Tx | None:
        session = connector.session
        return Tx(session.transaction_id, session.start_time) if session is not None else None

    def set_charging_profile(self, connector_id: int, data: dict, *, remote_start: bool = False) -> str:
        """SetChargingProfile (§5.16), or the profile of a RemoteStartTransaction
        (`remote_start`: the transaction it is for is about to start).
        Accepted or Rejected, as a real charger answers."""
        if connector_id != 0 and connector_id not in self.connectors:
            return "Rejected"
        try:
            profile = ChargingProfile.parse(data)
        except ValueError as error:
            return self._refuse_profile(str(error))
        if profile.purpose == CHARGE_POINT_MAX and connector_id != 0:
            return self._refuse_profile("a ChargePointMaxProfile goes on connector 0")
        if profile.purpose == TX_PROFILE:
            session = self.connectors[connector_id].session if connector_id else None
            if remote_start:
                if profile.transaction_id is not None:
                    return self._refuse_profile("a RemoteStartTransaction profile has no transactionId")
            elif session is None:
                return self._refuse_profile("a TxProfile needs a transaction on its connector")
            elif profile.transaction_id is not None and profile.transaction_id != session.transaction_id:
                return self._refuse_profile(f"transaction {profile.transaction_id} is not running here")
        elif remote_start:
            return self._refuse_profile("a RemoteStartTransaction profile must be a TxProfile")
        capabilities = self.capabilities()
        if (problem := capabilities.problem(profile)) is not None:
            return self._refuse_profile(problem)
        if not self.profiles.install(connector_id, profile, max_installed=capabilities.max_installed):
            return self._refuse_profile(f"MaxChargingProfilesInstalled is {capabilities.max_installed}")
        return "Accepted"

    def _refuse_profile(self, why: str) -> str:
        """Logged (seen with -v), not a last error: the charger is fine."""
        logger.info("%s: charging profile rejected: %s", self.config.cp_id, why)
        return "Rejected"

    def clear_charging_profile(
        self,
        *,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool:
        return self.profiles.clear(
            profile_id=profile_id, connector_id=connector_id, purpose=purpose, stack_level=stack_level
        )

    def composite_schedule(self, connector_id: int, duration: int, unit: str | None) -> dict | None:
        """GetCompositeSchedule's answer over [now, now + duration], or None
        for an unknown connector. Without a unit, the first allowed one."""
        if connector_id != 0 and connector_id not in self.connectors:
            return None
        if unit is None:
            unit = (self.capabilities().units or ("A",))[0]
        now = datetime.now(UTC)
        start = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as utc_iso writes it
        txs = {c.id: self._tx(c) for c in self.connectors.values()}
        periods, covered = self.profiles.composite(connector_id, txs, start, duration, unit, self.electrical)
        return {
            "connector_id": connector_id,
            "schedule_start": utc_iso(start),
            "charging_schedule": {
                "duration": covered,
                "start_schedule": utc_iso(start),
                "charging_rate_unit": unit,
                "charging_schedule_period": periods,
            },
        }

    def allocate(self) -> dict[int, Allowance]:
        """What each connector with a session is offered now: its own limit in
        force, within what the others leave of the ChargePointMaxProfile."""
        now = datetime.now(UTC)
        elec = self.electrical
        busy = [c for c in self.connectors.values() if c.session is not None]
        txs = {c.id: self._tx(c) for c in busy}
        own = {c.id: self.profiles.connector_allowance(c.id, now, elec, txs[c.id], now, capped=False) for c in busy}
        cap_rate = self.profiles.cap_rate(now, min((tx.start for tx in txs.values()), default=now))
        phases = {cid: a.phases for cid, a in own.items()}
        cap = None
        if cap_rate is not None:
            capped = elec.allowance([cap_rate], rated=False)
            cap = capped.amps
            phases = {cid: min(p, capped.phases) for cid, p in phases.items()}
        amps = {cid: a.amps for cid, a in own.items()}
        offered = share(cap, amps, {c.id: c.ev.draw(amps[c.id]) for c in busy})
        return {cid: Allowance(offered[cid], phases[cid]) for cid in offered}

    def limit_in_force(self, connector) -> float:
        """The current offered on a connector (A per phase): its session's,
        or what a session starting now would get."""
        session = connector.session
        if session is not None and session.offered_a is not None:
            return session.offered_a
        now = datetime.now(UTC)
        return self.profiles.connector_allowance(connector.id, now, self.electrical, self._tx(connector), now).amps

    # -- the car (DataTransfer vendor <vendor>, message "ev") ------------------------------

    def ev_command(self, data: str | None) -> tuple[str, str | None]:
        """Change the car on a connector at runtime: data is a JSON object
        with `connectorId` (default 1) and any of `maxCurrent` (A per phase,
        0 or more), `pause` (true/false) and `soc` (0 to 100). Answers
        Accepted with the car's state, or Rejected for anything else."""
        try:
            request = json.loads(data) if data else {}
        except ValueError:
            return "Rejected", None
        if not isinstance(request, dict) or set(request) - {"connectorId", "maxCurrent", "pause", "soc"}:
            return "Rejected", None
        connector_id = request.get("connectorId", 1)
        connector = self.connectors.get(connector_id) if _is_int(connector_id) else None
        if connector is None:
            return "Rejected", None
        max_current, pause, soc = request.get("maxCurrent"), request.get("pause"), request.get("soc")
        if max_current is not None and not (_is_number(max_current) and max_current >= 0):
            return "Rejected", None
        if pause is not None and not isinstance(pause, bool):
            return "Rejected", None
        if soc is not None and not (_is_number(soc) and 0 <= soc <= 100):
            return "Rejected", None
        ev = connector.ev
        if max_current is not None:
            ev.max_current = float(max_current)
        if pause is not None:
            ev.paused = pause
        if soc is not None:
            ev.soc = float(soc)
        state = {
            "connectorId": connector.id,
            "maxCurrent": ev.max_current,
            "paused": ev.paused,
            "soc": round(ev.soc, 1),
        }
        return "Accepted", json.dumps(state)

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
        reservation = Reservation(reservation_id, connector_id, id_tag, parse_time(expiry_date))
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
        when = parse_time(retrieve_date)
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
            result = await self.send(self.boot_notification())
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
