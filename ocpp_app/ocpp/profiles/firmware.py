"""Firmware Management profile: the charger's status notifications."""

from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from ocpp_app.models import ChargerEventKind
from ocpp_app.runtime import events
from ocpp_app.runtime.group_commit import run as commit
from ocpp_app.services import notifications


class FirmwareHandlers:
    id: str

    async def _status_notification(self, kind: str, status: str) -> None:
        """Diagnostics and firmware progress: stored as a charger event, shown live."""
        await commit(
            notifications.charger_event_record,
            charger_id=self.id,
            kind=kind,
            status=status,
            payload={"status": status},
        )
        await events.publish(self.id, str(kind), status=status)

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(self, status: str, **_):
        await self._status_notification(ChargerEventKind.DIAGNOSTICS, status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, status: str, **_):
        await self._status_notification(ChargerEventKind.FIRMWARE, status)
        return call_result.FirmwareStatusNotification()
