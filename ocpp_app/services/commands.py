"""Operator commands: which actions exist, how their short names resolve,
what is refused before sending, and the Command record with the effect of its
answer (command_effects.py). No network I/O here (the sending is
ocpp/commands.py)."""

import re

from django.db import transaction
from django.utils import timezone

from ocpp_app.models import Charger, Command, CommandStatus, Reservation, ReservationStatus, Transaction
from ocpp_app.services.chargers import PASSWORD_MAX, PASSWORD_MIN
from ocpp_app.services.command_effects import AUTHORIZATION_KEY, EFFECTS, REDACTED, is_authorization_key
from ocpp_app.services.common import clip

# Every CALL a 1.6J central system can send (Core, Firmware Management, Local
# Auth List Management, Reservation, Smart Charging, Remote Trigger, and the
# Security extension).
CSMS_ACTIONS: tuple[str, ...] = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "DataTransfer",
    "GetDiagnostics",
    "UpdateFirmware",
    "SendLocalList",
    "GetLocalListVersion",
    "ReserveNow",
    "CancelReservation",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "TriggerMessage",
    "ExtendedTriggerMessage",
    "GetLog",
    "SignedUpdateFirmware",
    "InstallCertificate",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "CertificateSigned",
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# The short names the seed documents use, plus snake_case (and kebab-case)
# forms of every action.
SHORT_ALIASES = {
    "remote_stop": "RemoteStopTransaction",
    "remote_start": "RemoteStartTransaction",
    "unlock": "UnlockConnector",
    "trigger": "TriggerMessage",
}
_ALIASES: dict[str, str] = {}
for _action in CSMS_ACTIONS:
    _ALIASES[_action] = _action
    _ALIASES[_action.lower()] = _action
    _ALIASES[_snake(_action)] = _action
    _ALIASES[_snake(_action).replace("_", "-")] = _action
_ALIASES.update(SHORT_ALIASES)


class UnknownAction(ValueError):
    pass


class BadCommand(ValueError):
    """The command makes no sense for this charger (e.g. nothing to stop)."""


def action_name(action: str) -> str:
    """The OCPP action name for an action or one of its aliases."""
    name = _ALIASES.get((action or "").strip()) or _ALIASES.get((action or "").strip().lower())
    if name is None:
        raise UnknownAction(f"Unknown action {action!r}; use an OCPP 1.6J central-system action name")
    return name


def command_resolve(*, charger: Charger, action: str, payload: dict) -> tuple[str, dict]:
    """The OCPP action and wire payload for an operator's request. Short forms
    fill in what the operator left out: `remote_stop` stops the active
    transaction, `reset` is Soft unless a type is given."""
    if not isinstance(payload, dict):
        raise BadCommand("payload must be a JSON object")
    name = action_name(action)
    payload = dict(payload)
    # Only the short forms fill in defaults; a full OCPP name (or its snake_case
    # form) is sent as given, so a missing field is a schema violation.
    short = (action or "").strip()
    if short == "reset":
        payload.setdefault("type", "Soft")
        if isinstance(payload["type"], str):
            payload["type"] = payload["type"].capitalize()
    if short == "remote_stop" and "transactionId" not in payload:
        # remote_stop: the active transaction (of `connectorId` when given).
        connector_id = payload.pop("connectorId", None)
        active = Transaction.objects.filter(charger=charger, stop_time__isnull=True)
        if connector_id is not None:
            if isinstance(connector_id, bool) or not isinstance(connector_id, int) or connector_id not in INT32:
                raise BadCommand("connectorId must be an integer")
            active = active.filter(connector_id=connector_id)
        tx = active.order_by("-start_time", "-id").first()
        if tx is None:
            raise BadCommand(f"Charger {charger.charger_id} has no active transaction to stop")
        payload["transactionId"] = tx.pk
    if short == "unlock" and "connectorId" not in payload:
        payload["connectorId"] = 1
    return name, payload


INT32 = range(-(2**31), 2**31)


def _out_of_int32(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value not in INT32
    if isinstance(value, dict):
        return any(_out_of_int32(item) for item in value.values())
    if isinstance(value, list):
        return any(_out_of_int32(item) for item in value)
    return False


def command_precheck(*, charger: Charger, action: str, payload: dict) -> None:
    """Refuse, before sending, what the charger would accept but we could not
    keep: integers beyond OCPP's 32 bits (ids we store in int columns), and a
    new AuthorizationKey we cannot store (it would lock the charger out)."""
    if _out_of_int32(payload):
        raise BadCommand("integers in an OCPP 1.6 payload must fit 32 bits")
    connector_id = payload.get("connectorId")
    if isinstance(connector_id, int) and connector_id < 0:
        raise BadCommand("connectorId must be 0 (the charger) or a connector number")
    if action == "ReserveNow" and isinstance(payload.get("reservationId"), int):
        # Reservation ids are unique across the network: a second charger may
        # not take over a reservation another charger still holds.
        if (
            Reservation.objects.filter(
                reservation_id=payload["reservationId"],
                status__in=[ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED],
                expiry_date__gt=timezone.now(),
            )
            .exclude(charger=charger)
            .exists()
        ):
            raise BadCommand(f"reservationId {payload['reservationId']} is held by another charger")
    if action == "ChangeConfiguration" and is_authorization_key(payload.get("key")):
        value = payload.get("value") or ""
        if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX or any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in value):
            raise BadCommand(
                f"{AUTHORIZATION_KEY} must be {PASSWORD_MIN}-{PASSWORD_MAX} printable ASCII characters without spaces"
            )


def redact(action: str, payload: dict) -> dict:
    """The payload as we keep and show it: a new AuthorizationKey is a secret."""
    if action == "ChangeConfiguration" and is_authorization_key(payload.get("key")) and "value" in payload:
        return {**payload, "value": REDACTED}
    return payload


def command_create(
    *, charger_id: str, action: str, request: dict, user_id: int | None = None, source: str = ""
) -> Command:
    charger = Charger.objects.get(charger_id=charger_id)
    return Command.objects.create(
        charger=charger,
        action=action,
        request=redact(action, request),
        created_by_id=user_id,
        source=clip(source, 20),
        status=CommandStatus.PENDING,
    )


def command_record_invalid(
    *,
    charger_id: str,
    action: str,
    request: dict,
    error_code: str,
    error_description: str,
    user_id: int | None = None,
    source: str = "",
) -> Command:
    """Record a command refused before sending (unknown action, schema violation)."""
    charger = Charger.objects.get(charger_id=charger_id)
    return Command.objects.create(
        charger=charger,
        action=clip(action, 64),
        request=redact(action, request),
        created_by_id=user_id,
        source=clip(source, 20),
        status=CommandStatus.INVALID,
        error_code=clip(error_code, 40),
        error_description=error_description,
        duration_ms=0,
    )


def command_finish(
    *,
    command_id: int,
    status: str,
    response: dict | None,
    error_code: str = "",
    error_description: str = "",
    error_details: dict | None = None,
    duration_ms: int | None = None,
    wire_request: dict | None = None,
) -> Command:
    """Record the answer (or error) and apply its effect. `wire_request` is the
    payload as sent (the stored one may be redacted)."""
    with transaction.atomic():
        command = Command.objects.select_related("charger").get(pk=command_id)
        command.status = status if status in CommandStatus.values else CommandStatus.CALL_ERROR
        command.response = response
        command.error_code = clip(error_code, 40)
        description = error_description or ""
        if error_details:
            description = f"{description} {error_details}".strip()
        command.error_description = description
        command.duration_ms = duration_ms
        command.save()
        if status == CommandStatus.OK and isinstance(response, dict):
            effect = EFFECTS.get(command.action)
            if effect is not None:
                effect(command.charger, wire_request if wire_request is not None else command.request, response)
    return command


def command_started_transaction(*, command_id: int) -> int | None:
    """The transaction a RemoteStartTransaction led to: the first one started on
    that charger (and connector, when given) for that id tag, stored after
    the command was created."""
    command = Command.objects.get(pk=command_id)
    transactions = Transaction.objects.filter(
        charger_id=command.charger_id, id_tag=command.request.get("idTag"), created_at__gte=command.created_at
    )
    if command.request.get("connectorId") is not None:
        transactions = transactions.filter(connector_id=command.request["connectorId"])
    return transactions.order_by("id").values_list("id", flat=True).first()
