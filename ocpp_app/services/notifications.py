"""DataTransfer, firmware/diagnostics/log/security notifications (CSRs: certificates.py)."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ocpp_app.models import (
    Charger,
    ChargerEvent,
    ChargerEventKind,
    Command,
    DataTransferRecord,
    Direction,
)
from ocpp_app.services.chargers import charger_get_or_create
from ocpp_app.services.common import clip

# Request-bearing commands whose later notifications we link back to them.
_REQUEST_ACTIONS = {
    ChargerEventKind.DIAGNOSTICS: "GetDiagnostics",
    ChargerEventKind.FIRMWARE: "UpdateFirmware",
    ChargerEventKind.SIGNED_FIRMWARE: "SignedUpdateFirmware",
    ChargerEventKind.LOG: "GetLog",
}
# Latest-status columns on Charger per kind.
_STATUS_FIELDS = {
    ChargerEventKind.DIAGNOSTICS: "diagnostics_status",
    ChargerEventKind.FIRMWARE: "firmware_status",
    ChargerEventKind.SIGNED_FIRMWARE: "firmware_status",
    ChargerEventKind.LOG: "log_status",
}


@dataclass(frozen=True)
class DataTransferResult:
    status: str
    data: str | None = None


def data_transfer_receive(
    *, charger_id: str, vendor_id: str, message_id: str | None = None, data: str | None = None
) -> DataTransferResult:
    """Store a charger's DataTransfer and answer by OCPP_DATA_TRANSFER_VENDORS:
    an entry `vendor` accepts every messageId of that vendor, entries
    `vendor:messageId` accept only those; an unlisted vendor answers
    UnknownVendorId, an unlisted messageId of a listed vendor UnknownMessageId."""
    charger = charger_get_or_create(charger_id=charger_id)
    status = _data_transfer_status(vendor_id, message_id)
    DataTransferRecord.objects.create(
        charger=charger,
        direction=Direction.IN,
        vendor_id=clip(vendor_id, 255),
        message_id=clip(message_id, 50),
        data=data if isinstance(data, str) else ("" if data is None else str(data)),
        status=status,
    )
    return DataTransferResult(status=status)


def _data_transfer_status(vendor_id: str, message_id: str | None) -> str:
    accepted_messages: set[str] = set()
    vendor_known = False
    for entry in settings.OCPP_DATA_TRANSFER_VENDORS:
        vendor, _, message = entry.partition(":")
        if vendor != vendor_id:
            continue
        vendor_known = True
        if not message:
            return "Accepted"
        accepted_messages.add(message)
    if not vendor_known:
        return "UnknownVendorId"
    return "Accepted" if message_id in accepted_messages else "UnknownMessageId"


def charger_event_record(
    *,
    charger_id: str,
    kind: str,
    status: str,
    payload: dict,
    request_id: int | None = None,
    timestamp: datetime | None = None,
) -> ChargerEvent:
    """Store a status notification and make it the charger's latest status."""
    charger = charger_get_or_create(charger_id=charger_id)
    now = timezone.now()
    command = _originating_command(charger, kind, request_id)
    with transaction.atomic():
        event = ChargerEvent.objects.create(
            charger=charger,
            kind=kind,
            status=clip(status, 60),
            request_id=request_id,
            payload=payload,
            command=command,
            timestamp=timestamp or now,
        )
        field = _STATUS_FIELDS.get(kind)
        if field:
            Charger.objects.filter(pk=charger.pk).update(**{field: clip(status, 40), f"{field}_at": now})
    return event


def _originating_command(charger: Charger, kind: str, request_id: int | None) -> Command | None:
    action = _REQUEST_ACTIONS.get(kind)
    if action is None:
        return None
    commands = Command.objects.filter(charger=charger, action=action).order_by("-id")
    if request_id is not None:
        # Security-extension requests carry a requestId: match it exactly.
        for command in commands[:50]:
            if command.request.get("requestId") == request_id:
                return command
        return None
    return commands.first()
