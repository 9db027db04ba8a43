"""Operator -> charger: send one CALL through the channel layer and wait for
the charger's answer.

The consumer holding the charger's socket may live in another process (Redis
layer), so a command never touches a socket directly: it sends an `ocpp.call`
event to the consumer's channel and waits on a private reply channel. The
consumer runs `CentralSystem.call_action`, which validates, keeps the
one-CALL-at-a-time rule and applies the time-out.

`send_command` is the one path used by the REST API and the admin actions:
resolve the action name, validate the payload, record a `Command` row, send,
record the answer and its effects (services/commands.py).
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType

from ocpp_app.models import Charger, CommandStatus
from ocpp_app.ocpp import framing
from ocpp_app.ocpp.charge_point import redact_secrets
from ocpp_app.services import commands as command_service

logger = logging.getLogger("ocpp_app.commands")

# How long past the charger's time-out we wait for the consumer's reply: the
# consumer answers "timeout" itself, the margin covers the channel-layer hops.
REPLY_MARGIN = 5.0
# RemoteStartTransaction: how often we look for the StartTransaction that follows.
START_POLL_INTERVAL = 0.2


@dataclass
class CallOutcome:
    """What came back from the consumer (statuses as in Command.status, plus
    invalid_response for an answer that fails the schema)."""

    status: str
    payload: dict | None = None
    error_code: str = ""
    error_description: str = ""
    error_details: dict | None = None


async def call_charger(channel_name: str, action: str, payload: dict, *, timeout: float) -> CallOutcome:
    """Send one CALL to the consumer on `channel_name` and wait for its reply."""
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    request_id = uuid.uuid4().hex
    await layer.send(
        channel_name,
        {
            "type": "ocpp.call",
            "action": action,
            "payload": payload,
            "request_id": request_id,
            "reply_channel": reply_channel,
            "timeout": timeout,
            # When we stop waiting (epoch seconds): a consumer still busy with
            # another CALL by then should drop this one rather than send it late.
            "deadline": time.time() + timeout + REPLY_MARGIN,
        },
    )
    deadline = time.monotonic() + timeout + REPLY_MARGIN
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            # Nobody answered: the consumer is gone (a dead process) or stuck.
            return CallOutcome(status=CommandStatus.TIMEOUT)
        try:
            reply = await asyncio.wait_for(layer.receive(reply_channel), remaining)
        except TimeoutError:
            return CallOutcome(status=CommandStatus.TIMEOUT)
        if reply.get("request_id") != request_id:
            continue  # never ours; the reply channel is private, but be strict
        return CallOutcome(
            status=reply.get("status") or CommandStatus.INVALID,
            payload=reply.get("payload"),
            error_code=reply.get("error_code") or "",
            error_description=reply.get("error_description") or "",
            error_details=reply.get("error_details") or None,
        )


class CommandRejected(Exception):
    """The command was refused before anything was sent (HTTP 400)."""

    def __init__(self, message: str, *, code: str = "Invalid", details: dict | None = None, action: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}
        self.action = action
        self.command_id: int | None = None


@dataclass
class CommandResult:
    """The outcome of one operator command, ready for an HTTP answer."""

    command_id: int | None
    charger_id: str
    action: str
    request: dict  # the wire payload, secrets redacted
    status: str
    response: dict | None = None
    error_code: str = ""
    error_description: str = ""
    error_details: dict | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == CommandStatus.OK


def send_command(
    *,
    charger_id: str,
    action: str,
    payload: dict | None = None,
    user_id: int | None = None,
    source: str = "api",
    timeout: float | None = None,
) -> CommandResult:
    """Send an operator command and wait for the answer (sync: for views and
    admin actions).

    Raises Charger.DoesNotExist for an unknown charger and CommandRejected for
    an unknown action or a payload that fails the schema (recorded as an
    invalid Command, never sent); every other outcome (answered, CALLERROR,
    time-out, not connected) is a CommandResult and a Command row.
    """
    # OCPP_CALL_TIMEOUT is the longest any command waits; a caller may ask for less.
    timeout = min(float(timeout or settings.OCPP_CALL_TIMEOUT), float(settings.OCPP_CALL_TIMEOUT))
    charger = Charger.objects.get(charger_id=charger_id)
    try:
        wire_action, wire_payload = _checked(charger, action, payload)
    except CommandRejected as rejected:
        # Refused before sending, but on record like every other command.
        rejected.command_id = command_service.command_record_invalid(
            charger_id=charger.charger_id,
            action=rejected.action or str(action)[:64],
            request=payload if isinstance(payload, dict) else {},
            error_code=rejected.code,
            error_description=rejected.message,
            user_id=user_id,
            source=source,
        ).pk
        raise

    command = command_service.command_create(
        charger_id=charger.charger_id, action=wire_action, request=wire_payload, user_id=user_id, source=source
    )
    started = time.monotonic()
    if not charger.connected or not charger.channel_name:
        outcome = CallOutcome(status=CommandStatus.NOT_CONNECTED)
    else:
        outcome = async_to_sync(call_charger)(charger.channel_name, wire_action, wire_payload, timeout=timeout)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    # A charger that (wrongly) reports its AuthorizationKey in an answer must
    # not have it stored in the command record or shown to the operator.
    outcome.payload = redact_secrets(wire_action, MessageType.CallResult, outcome.payload)
    if isinstance(outcome.error_details, dict) and "response" in outcome.error_details:
        outcome.error_details = {
            **outcome.error_details,
            "response": redact_secrets(wire_action, MessageType.CallResult, outcome.error_details["response"]),
        }
    logger.info(
        "command %s %s to %s: %s %s (%d ms)",
        command.pk,
        wire_action,
        charger.charger_id,
        outcome.status,
        outcome.error_code,
        elapsed_ms,
    )
    command = command_service.command_finish(
        command_id=command.pk,
        status=outcome.status,
        response=outcome.payload,
        error_code=outcome.error_code,
        error_description=outcome.error_description,
        error_details=outcome.error_details,
        duration_ms=elapsed_ms,
        wire_request=wire_payload,
    )
    result = CommandResult(
        command_id=command.pk,
        charger_id=charger.charger_id,
        action=wire_action,
        request=command.request,
        status=outcome.status,
        response=outcome.payload,
        error_code=outcome.error_code,
        error_description=outcome.error_description,
        error_details=outcome.error_details,
    )
    if wire_action == "RemoteStartTransaction" and result.ok:
        result.extra["transaction_id"] = None
        if (outcome.payload or {}).get("status") == "Accepted":
            # The StartTransaction that follows arrives on the charger's socket,
            # maybe in another process: look for it in the database until the
            # time-out (counted from when the command was sent) runs out.
            result.extra["transaction_id"] = wait_for_started_transaction(
                command_id=command.pk, deadline=started + timeout
            )
    return result


def _checked(charger: Charger, action: str, payload) -> tuple[str, dict]:
    """The OCPP action and wire payload, or CommandRejected saying why not."""
    try:
        wire_action, wire_payload = command_service.command_resolve(
            charger=charger, action=action, payload=payload if payload is not None else {}
        )
    except command_service.UnknownAction as exc:
        raise CommandRejected(str(exc), code="UnknownAction") from None
    except command_service.BadCommand as exc:
        raise CommandRejected(str(exc), code="BadCommand", action=_known(action)) from None
    try:
        framing.validate(MessageType.Call, wire_action, wire_payload)
    except OCPPError as error:
        raise CommandRejected(
            error.description, code=error.code, details=error.details or {}, action=wire_action
        ) from None
    try:
        command_service.command_precheck(charger=charger, action=wire_action, payload=wire_payload)
    except command_service.BadCommand as exc:
        raise CommandRejected(str(exc), code="BadCommand", action=wire_action) from None
    return wire_action, wire_payload


def _known(action: str) -> str:
    try:
        return command_service.action_name(action)
    except command_service.UnknownAction:
        return ""


def wait_for_started_transaction(*, command_id: int, deadline: float) -> int | None:
    while True:
        transaction_id = command_service.command_started_transaction(command_id=command_id)
        if transaction_id is not None or time.monotonic() >= deadline:
            return transaction_id
        time.sleep(min(START_POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
