"""Security extension (OCPP 1.6 Security Whitepaper): notifications and CSRs."""

from collections.abc import Awaitable, Callable
from functools import partial

from channels.db import database_sync_to_async
from ocpp.routing import on
from ocpp.v16 import call_result
from ocpp.v16.enums import Action

from ocpp_app.lib.limits import INT32_MIN
from ocpp_app.models import ChargerEventKind
from ocpp_app.ocpp.commands import send_command_async
from ocpp_app.ocpp.values import checked_int, parse_timestamp
from ocpp_app.runtime import events
from ocpp_app.runtime.group_commit import run as commit
from ocpp_app.services import certificates, notifications


class SecurityHandlers:
    id: str
    after_answer: Callable[[Callable[[], Awaitable[None]]], None]

    @on(Action.security_event_notification)
    async def on_security_event_notification(self, type: str, timestamp: str, tech_info: str | None = None, **_):
        payload = {"type": type, "timestamp": timestamp, "techInfo": tech_info}
        await commit(
            notifications.charger_event_record,
            charger_id=self.id,
            kind=ChargerEventKind.SECURITY,
            status=type,
            payload={k: v for k, v in payload.items() if v is not None},
            timestamp=parse_timestamp(timestamp, "timestamp"),
        )
        await events.publish(self.id, "security", event_type=type)
        return call_result.SecurityEventNotification()

    async def _request_status(self, kind: str, status: str, request_id: int | None) -> None:
        """Progress of a log upload or a signed firmware update, by its requestId."""
        await commit(
            notifications.charger_event_record,
            charger_id=self.id,
            kind=kind,
            status=status,
            request_id=checked_int(request_id, "requestId", low=INT32_MIN),
            payload={"status": status, "requestId": request_id},
        )

    @on(Action.log_status_notification)
    async def on_log_status_notification(self, status: str, request_id: int | None = None, **_):
        await self._request_status(ChargerEventKind.LOG, status, request_id)
        return call_result.LogStatusNotification()

    @on(Action.signed_firmware_status_notification)
    async def on_signed_firmware_status_notification(self, status: str, request_id: int | None = None, **_):
        await self._request_status(ChargerEventKind.SIGNED_FIRMWARE, status, request_id)
        await events.publish(self.id, "firmware", status=status)
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.sign_certificate)
    async def on_sign_certificate(self, csr: str, **_):
        request = await commit(certificates.csr_receive, charger_id=self.id, csr=csr)
        if request.status == certificates.CSR_ACCEPTED:
            # The charger must see Accepted before the CertificateSigned CALL.
            self.after_answer(partial(self._certificate_send, request.pk))
        else:
            await events.publish(self.id, "security", event_type=certificates.CSR_EVENT)
        return call_result.SignCertificate(status=request.status)

    async def _certificate_send(self, csr_id: int) -> None:
        """Sign an accepted request (on a worker thread: the CA is read from
        its files) and send the chain back, recorded like an operator's command."""
        issued = await database_sync_to_async(certificates.csr_sign)(csr_id=csr_id)
        await send_command_async(
            charger_id=self.id,
            action="CertificateSigned",
            payload={"certificateChain": issued.chain},
            source="ca",
        )
