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

    @on(Action.diagnostics_status_notification)
    async def on_diagnostics_status_notification(self, status: str, **_):
        await commit(
            notifications.charger_event_record,
            charger_id=self.id,
            kind=ChargerEventKind.DIAGNOSTICS,
            status=status,
            payload={"status": status},
        )
        await events.publish(self.id, "diagnostics", status=status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.firmware_status_notification)
    async def on_firmware_status_notification(self, status: str, **_):
        await commit(
            notifications.charger_event_record,
            charger_id=self.id,
            kind=ChargerEventKind.FIRMWARE,
            status=status,
            payload={"status": status},
        )
        await events.publish(self.id, "firmware", status=status)
        return call_result.FirmwareStatusNotification()
