"""How the simulated charger answers the central system's commands.

`SimChargePoint` is the `ocpp` library's v16 ChargePoint; each `@on` handler
answers at once and each `@after` handler does the follow-up work (sending a
StatusNotification, starting a session, rebooting) in a task the library
spawns, because a CALL sent from inside an `@on` handler could never read
its own answer: the library's receive loop is busy running that handler.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ocpp.exceptions import NotSupportedError
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call_result
from ocpp.v16.enums import (
    Action,
    AvailabilityStatus,
    CancelReservationStatus,
    ChargingProfileStatus,
    ClearCacheStatus,
    ClearChargingProfileStatus,
    ConfigurationStatus,
    DataTransferStatus,
    GetCompositeScheduleStatus,
    RemoteStartStopStatus,
    ReservationStatus,
    ResetStatus,
    TriggerMessageStatus,
    UnlockStatus,
    UpdateStatus,
)

from simulator.config import SimulatorConfig
from simulator.configuration import Key, valid_value
from simulator.model import Connector


class SimulatedCharger(Protocol):
    """What the handlers need of the simulated charger (ChargePointSimulator
    provides it). Declared here so that the handlers depend on this contract,
    not on the simulator that uses them."""

    config: SimulatorConfig
    configuration: dict[str, Key]
    connectors: dict[int, Connector]
    auth_cache: dict[str, str]
    local_list_version: int
    certificate_installed: bool
    smart_charging: bool

    def now_iso(self) -> str: ...
    def connector_for_remote_start(self, connector_id: int | None, id_tag: str | None = None) -> Connector | None: ...
    def claimed_connector(self, connector_id: int | None) -> Connector | None: ...
    def start_session(self, connector_id: int, id_tag: str, *, remote: bool = False) -> asyncio.Task: ...
    def request_stop(
        self, *, transaction_id: int | None = None, connector_id: int | None = None, reason: str
    ) -> bool: ...
    async def reboot(self, *, reason: str) -> None: ...
    def change_availability(self, connector_id: int, *, operative: bool) -> str: ...
    async def send_pending_statuses(self) -> None: ...
    def configuration_changed(self, key: str) -> None: ...
    async def send_triggered(self, message: str, connector_id: int | None) -> None: ...
    def set_charging_profile(self, connector_id: int, data: dict, *, remote_start: bool = False) -> str: ...
    def clear_charging_profile(
        self,
        *,
        profile_id: int | None = None,
        connector_id: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> bool: ...
    def composite_schedule(self, connector_id: int, duration: int, unit: str | None) -> dict | None: ...
    def ev_command(self, data: str | None) -> tuple[str, str | None]: ...
    def reserve(self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int) -> str: ...
    def cancel_reservation(self, reservation_id: int) -> bool: ...
    def update_local_list(self, version: int, update_type: str, entries: list) -> str: ...
    def diagnostics_file_name(self) -> str: ...
    async def upload_diagnostics(self, location: str) -> None: ...
    async def update_firmware(self, location: str, retrieve_date: str) -> None: ...
    async def request_certificate(self) -> None: ...
    def install_certificate(self, chain: str) -> str: ...
    async def reconnect_with_certificate(self) -> None: ...


TRIGGERABLE = {
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
}


SIGN_CERTIFICATE = "SignChargePointCertificate"

# DataTransfer messageIds the simulator answers (vendorId: its --vendor).
ECHO = "echo"
EV_MESSAGE = "ev"


class SimChargePoint(ChargePoint):
    def __init__(self, charge_point_id: str, connection, sim: SimulatedCharger, **kwargs) -> None:
        super().__init__(charge_point_id, connection, **kwargs)
        self.sim = sim

    # -- Core ----------------------------------------------------------------

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, charging_profile=None, **_):
        connector = self.sim.connector_for_remote_start(connector_id, id_tag)
        if connector is None:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        # A charger without SmartCharging knows nothing of the profile.
        if charging_profile and self.sim.smart_charging:
            if self.sim.set_charging_profile(connector.id, charging_profile, remote_start=True) != "Accepted":
                return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        # Claim the connector now so that a second RemoteStart is refused.
        connector.claimed = True
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @after(Action.remote_start_transaction)
    def after_remote_start(self, id_tag: str, connector_id: int | None = None, **_):
        connector = self.sim.claimed_connector(connector_id)
        if connector is not None:
            self.sim.start_session(connector.id, id_tag, remote=True)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int, **_):
        ok = self.sim.request_stop(transaction_id=transaction_id, reason="Remote")
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if ok else RemoteStartStopStatus.rejected
        )

    @on(Action.reset)
    def on_reset(self, type: str, **_):
        return call_result.Reset(status=ResetStatus.accepted)

    @after(Action.reset)
    async def after_reset(self, type: str, **_):
        await self.sim.reboot(reason="HardReset" if type == "Hard" else "SoftReset")

    @on(Action.change_availability)
    def on_change_availability(self, connector_id: int, type: str, **_):
        status = self.sim.change_availability(connector_id, operative=(type == "Operative"))
        return call_result.ChangeAvailability(status=status)

    @after(Action.change_availability)
    async def after_change_availability(self, connector_id: int, **_):
        await self.sim.send_pending_statuses()

    @on(Action.unlock_connector)
    def on_unlock_connector(self, connector_id: int, **_):
        if connector_id not in self.sim.connectors:
            return call_result.UnlockConnector(status=UnlockStatus.not_supported)
        # Unlocking a connector with a running session ends that session.
        self.sim.request_stop(connector_id=connector_id, reason="UnlockCommand")
        return call_result.UnlockConnector(status=UnlockStatus.unlocked)

    @on(Action.get_configuration)
    def on_get_configuration(self, key: list | None = None, **_):
        keys = self.sim.configuration
        wanted = key if key else list(keys)
        known = [
            {"key": name, "readonly": keys[name].readonly, "value": keys[name].value} for name in wanted if name in keys
        ]
        unknown = [name for name in wanted if name not in keys]
        return call_result.GetConfiguration(configuration_key=known or None, unknown_key=unknown or None)

    @on(Action.change_configuration)
    def on_change_configuration(self, key: str, value: str, **_):
        entry = self.sim.configuration.get(key)
        if entry is None:
            return call_result.ChangeConfiguration(status=ConfigurationStatus.not_supported)
        if entry.readonly or not valid_value(entry.kind, value):
            return call_result.ChangeConfiguration(status=ConfigurationStatus.rejected)
        entry.value = value.strip() if entry.kind in ("int", "bool") else value
        self.sim.configuration_changed(key)
        return call_result.ChangeConfiguration(status=ConfigurationStatus.accepted)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_):
        self.sim.auth_cache.clear()
        return call_result.ClearCache(status=ClearCacheStatus.accepted)

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_):
        if vendor_id != self.sim.config.vendor:
            return call_result.DataTransfer(status=DataTransferStatus.unknown_vendor_id)
        if message_id == EV_MESSAGE:
            status, answer = self.sim.ev_command(data)
            return call_result.DataTransfer(status=DataTransferStatus(status), data=answer)
        if message_id not in (None, ECHO):
            return call_result.DataTransfer(status=DataTransferStatus.unknown_message_id)
        return call_result.DataTransfer(status=DataTransferStatus.accepted, data=data)

    # -- Remote trigger ------------------------------------------------------

    @on(Action.trigger_message)
    def on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_):
        if requested_message not in TRIGGERABLE:
            return call_result.TriggerMessage(status=TriggerMessageStatus.not_implemented)
        if connector_id is not None and connector_id != 0 and connector_id not in self.sim.connectors:
            return call_result.TriggerMessage(status=TriggerMessageStatus.rejected)
        return call_result.TriggerMessage(status=TriggerMessageStatus.accepted)

    @after(Action.trigger_message)
    async def after_trigger_message(self, requested_message: str, connector_id: int | None = None, **_):
        if requested_message in TRIGGERABLE:
            await self.sim.send_triggered(requested_message, connector_id)

    # -- Security extension: certificates --------------------------------------

    @on(Action.extended_trigger_message)
    def on_extended_trigger_message(self, requested_message: str, connector_id: int | None = None, **_):
        if requested_message == SIGN_CERTIFICATE:
            return call_result.ExtendedTriggerMessage(status=TriggerMessageStatus.accepted)
        return self.on_trigger_message(requested_message, connector_id)

    @after(Action.extended_trigger_message)
    async def after_extended_trigger_message(self, requested_message: str, connector_id: int | None = None, **_):
        if requested_message == SIGN_CERTIFICATE:
            await self.sim.request_certificate()
        elif requested_message in TRIGGERABLE:
            await self.sim.send_triggered(requested_message, connector_id)

    @on(Action.certificate_signed)
    def on_certificate_signed(self, certificate_chain: str, **_):
        return call_result.CertificateSigned(status=self.sim.install_certificate(certificate_chain))

    @after(Action.certificate_signed)
    async def after_certificate_signed(self, **_):
        if self.sim.certificate_installed:
            self.sim.certificate_installed = False
            await self.sim.reconnect_with_certificate()

    # -- Smart charging ------------------------------------------------------

    def _smart_charging(self, action: str) -> None:
        """Without the SmartCharging feature profile these actions are known
        but not supported: a CALLERROR NotSupported, as from a real charger."""
        if not self.sim.smart_charging:
            raise NotSupportedError(
                description=f"{action}: this charger has no SmartCharging feature profile",
                details={"cause": "SupportedFeatureProfiles has no SmartCharging"},
            )

    @on(Action.set_charging_profile)
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_):
        self._smart_charging("SetChargingProfile")
        status = self.sim.set_charging_profile(connector_id, cs_charging_profiles)
        return call_result.SetChargingProfile(status=ChargingProfileStatus(status))

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose=None,
        stack_level=None,
        **_,
    ):
        self._smart_charging("ClearChargingProfile")
        cleared = self.sim.clear_charging_profile(
            profile_id=id, connector_id=connector_id, purpose=charging_profile_purpose, stack_level=stack_level
        )
        return call_result.ClearChargingProfile(
            status=ClearChargingProfileStatus.accepted if cleared else ClearChargingProfileStatus.unknown
        )

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_):
        self._smart_charging("GetCompositeSchedule")
        schedule = self.sim.composite_schedule(connector_id, duration, charging_rate_unit)
        if schedule is None:
            return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.rejected)
        return call_result.GetCompositeSchedule(status=GetCompositeScheduleStatus.accepted, **schedule)

    # -- Reservation ---------------------------------------------------------

    @on(Action.reserve_now)
    def on_reserve_now(
        self, connector_id: int, expiry_date: str, id_tag: str, reservation_id: int, parent_id_tag=None, **_
    ):
        status = self.sim.reserve(connector_id, expiry_date, id_tag, reservation_id)
        return call_result.ReserveNow(status=status)

    @after(Action.reserve_now)
    async def after_reserve_now(self, **_):
        await self.sim.send_pending_statuses()

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int, **_):
        ok = self.sim.cancel_reservation(reservation_id)
        return call_result.CancelReservation(
            status=CancelReservationStatus.accepted if ok else CancelReservationStatus.rejected
        )

    @after(Action.cancel_reservation)
    async def after_cancel_reservation(self, **_):
        await self.sim.send_pending_statuses()

    # -- Local authorization list --------------------------------------------

    @on(Action.send_local_list)
    def on_send_local_list(self, list_version: int, update_type: str, local_authorization_list=None, **_):
        status = self.sim.update_local_list(list_version, update_type, local_authorization_list or [])
        return call_result.SendLocalList(status=status)

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_):
        return call_result.GetLocalListVersion(list_version=self.sim.local_list_version)

    # -- Firmware management -------------------------------------------------

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **_):
        return call_result.GetDiagnostics(file_name=self.sim.diagnostics_file_name())

    @after(Action.get_diagnostics)
    async def after_get_diagnostics(self, location: str, **_):
        await self.sim.upload_diagnostics(location)

    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, retrieve_date: str, **_):
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    async def after_update_firmware(self, location: str, retrieve_date: str, **_):
        await self.sim.update_firmware(location, retrieve_date)


__all__ = ["SimChargePoint", "AvailabilityStatus", "ReservationStatus", "UpdateStatus"]
