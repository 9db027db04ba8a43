"""What the central system's commands do to a simulated charger's state:
statuses and availability, smart charging limits, reservations, the local
authorization list, firmware and diagnostics, triggered messages."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from ocpp.v16 import call

from simulator.model import Reservation, parse_time, utc_iso


class StateMixin:
    """Behaviour of ChargePointSimulator that is about the charger's state
    (its sessions are in SessionsMixin)."""

    charger_operative = True
    charger_limit_w: float | None = None
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
