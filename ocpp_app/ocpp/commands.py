"""Operator -> charger: the transport of an operator command, between the two
service calls that validate and record it (services/commands).

`send_command` is the one entry point for every caller (the REST API, the
admin actions, the charger page through the API): command_prepare, then the
CALL, then command_finish, and one CommandResult back.

The consumer holding the charger's socket may live in another process (Redis
layer), so a command never touches a socket directly: it sends an `ocpp.call`
event to the consumer's channel and waits on a private reply channel. The
consumer runs `CentralSystem.call_action`, which keeps the one-CALL-at-a-time
rule, the time-out and the operator's deadline, and answers with the CALL's
message id.
"""

import asyncio
import logging
import time
import uuid

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType

from ocpp_app.models import CommandStatus
from ocpp_app.ocpp import framing
from ocpp_app.runtime import metrics
from ocpp_app.runtime.side_thread import run_aside
from ocpp_app.services import commands as command_service
from ocpp_app.services import nodes
from ocpp_app.services.commands import CallOutcome, CommandRefused, CommandResult

logger = logging.getLogger("ocpp_app.commands")

# How long past the charger's time-out we wait for the consumer's reply: the
# consumer answers "timeout" itself, the margin covers the channel-layer hops.
REPLY_MARGIN = 5.0
# RemoteStartTransaction: how often we look for the StartTransaction that follows.
START_POLL_INTERVAL = 0.2
# While waiting for an answer: how often we check the charger is still
# connected, on a live node (seconds), and retry a channel layer that failed.
LIVENESS_POLL = 1.0
LAYER_RETRY = 0.5
# CallOutcome.error_code of a command the channel layer could not carry.
LAYER_UNAVAILABLE = "ChannelLayerUnavailable"
CHARGER_SIDE_FAILURES = frozenset({CommandStatus.CALL_ERROR, CommandStatus.TIMEOUT, "invalid_response"})


def check_schema(action: str, payload: dict) -> None:
    """The OCPP 1.6 schema of a CALL, as the command service's schema check."""
    try:
        framing.validate(MessageType.Call, action, payload)
    except OCPPError as error:
        raise command_service.PayloadInvalid(error.code, error.description, error.details or {}) from None


async def call_charger(
    channel_name: str, action: str, payload: dict, *, timeout: float, charger_id: str, command_id: int | None = None
) -> CallOutcome:
    """Send one CALL to the charger's socket, held by the process whose
    channel is `channel_name`, and wait for its reply.

    While waiting, every LIVENESS_POLL seconds the database is asked whether
    the charger is still connected there, on a node whose lease holds: a
    socket that closed or a node that died answers "not connected" then,
    not after the whole time-out. A channel layer that is away (a Redis
    restart) is retried until the time-out."""
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    request_id = uuid.uuid4().hex
    message = {
        "type": "ocpp.call",
        "charger_id": charger_id,
        "action": action,
        "payload": payload,
        "request_id": request_id,
        "reply_channel": reply_channel,
        "timeout": timeout,
        # The record an answer after the time-out is still applied to.
        "command_id": command_id,
        # When we stop waiting (epoch seconds): a consumer still busy with
        # another CALL by then should drop this one rather than send it late.
        "deadline": time.time() + timeout + REPLY_MARGIN,
    }
    deadline = time.monotonic() + timeout + REPLY_MARGIN
    if not await _send_retrying(layer, channel_name, message, until=time.monotonic() + timeout):
        return CallOutcome(
            status=CommandStatus.NOT_CONNECTED,
            error_code=LAYER_UNAVAILABLE,
            error_description="The channel layer (Redis) cannot be reached: the command was not delivered",
        )
    receiving: asyncio.Task | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Nobody answered: the consumer is gone (a dead process whose
                # lease has not run out yet) or stuck.
                if not await _reachable(charger_id, channel_name, missed_renewal=True):
                    return CallOutcome(status=CommandStatus.NOT_CONNECTED)
                return CallOutcome(status=CommandStatus.TIMEOUT)
            if receiving is None:
                receiving = asyncio.ensure_future(layer.receive(reply_channel))
            done, _ = await asyncio.wait({receiving}, timeout=min(remaining, LIVENESS_POLL))
            if not done:
                if not await _reachable(charger_id, channel_name):
                    return CallOutcome(status=CommandStatus.NOT_CONNECTED)
                continue
            task, receiving = receiving, None
            try:
                reply = task.result()
            except Exception:  # the layer went away while we waited: wait again
                metrics.layer_error("receive")
                logger.warning("command to %s: the channel layer failed while waiting for the answer", charger_id)
                await asyncio.sleep(min(LAYER_RETRY, max(0.0, deadline - time.monotonic())))
                continue
            if reply.get("request_id") != request_id:
                continue  # never ours; the reply channel is private, but be strict
            return CallOutcome(
                status=reply.get("status") or CommandStatus.INVALID,
                payload=reply.get("payload"),
                error_code=reply.get("error_code") or "",
                error_description=reply.get("error_description") or "",
                error_details=reply.get("error_details") or None,
                message_id=reply.get("message_id") or "",
            )
    finally:
        if receiving is not None:
            receiving.cancel()


async def _send_retrying(layer, channel: str, message: dict, *, until: float) -> bool:
    """Send, retrying while the channel layer is away, until `until`
    (time.monotonic()). False when it never came back in time."""
    while True:
        try:
            await layer.send(channel, message)
            return True
        except Exception:
            metrics.layer_error("send")
            if time.monotonic() + LAYER_RETRY >= until:
                logger.warning("could not send a %s command: the channel layer is unreachable", message["action"])
                return False
            await asyncio.sleep(LAYER_RETRY)


async def _reachable(charger_id: str, channel_name: str, *, missed_renewal: bool = False) -> bool:
    try:
        return await run_aside(
            nodes.charger_reachable, charger_id=charger_id, channel_name=channel_name, missed_renewal=missed_renewal
        )
    except Exception:  # the database is away: no news, keep waiting
        return True


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

    Raises Charger.DoesNotExist for an unknown charger. Every other outcome is
    a CommandResult and a Command row: refused before sending (`refused`,
    status invalid), answered, CALLERROR, time-out, not connected.
    """
    timeout = _timeout(timeout)
    try:
        prepared = command_service.command_prepare(
            charger_id=charger_id, action=action, payload=payload, schema=check_schema, user_id=user_id, source=source
        )
    except CommandRefused as refused:
        return refused.result
    started = time.monotonic()
    outcome = async_to_sync(_call)(prepared, timeout)
    result = command_service.command_finish(prepared=prepared, outcome=_timed(prepared, outcome, started))
    if result.awaits_transaction:
        # See RemoteStartTransaction (services/commands/core.py).
        result.transaction_id = wait_for_started_transaction(command_id=prepared.command_id, deadline=started + timeout)
    return result


async def send_command_async(
    *, charger_id: str, action: str, payload: dict | None = None, source: str = "", timeout: float | None = None
) -> CommandResult:
    """`send_command` for code on the event loop: what the central system
    sends of its own accord (CertificateSigned after a SignCertificate), on
    record like an operator's command. The database steps run off the loop.
    A command that awaits a transaction is answered without waiting for it."""
    timeout = _timeout(timeout)
    try:
        prepared = await database_sync_to_async(command_service.command_prepare)(
            charger_id=charger_id, action=action, payload=payload, schema=check_schema, source=source
        )
    except CommandRefused as refused:
        return refused.result
    started = time.monotonic()
    outcome = _timed(prepared, await _call(prepared, timeout), started)
    return await database_sync_to_async(command_service.command_finish)(prepared=prepared, outcome=outcome)


def _timeout(timeout: float | None) -> float:
    # OCPP_CALL_TIMEOUT is the longest any command waits; a caller may ask for less.
    return min(float(timeout or settings.OCPP_CALL_TIMEOUT), float(settings.OCPP_CALL_TIMEOUT))


async def _call(prepared: command_service.PreparedCommand, timeout: float) -> CallOutcome:
    if not prepared.channel_name:
        return CallOutcome(status=CommandStatus.NOT_CONNECTED)
    return await call_charger(
        prepared.channel_name,
        prepared.action,
        prepared.payload,
        timeout=timeout,
        charger_id=prepared.charger_id,
        command_id=prepared.command_id,
    )


def _timed(prepared: command_service.PreparedCommand, outcome: CallOutcome, started: float) -> CallOutcome:
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    # What the charger did (a CALLERROR, no answer) is a warning about the
    # charger, never a server error.
    metrics.command_observed(prepared.action, outcome.status, outcome.duration_ms / 1000)
    level = logging.WARNING if outcome.status in CHARGER_SIDE_FAILURES else logging.INFO
    logger.log(
        level,
        "command %s %s to %s: %s %s (%d ms)",
        prepared.command_id,
        prepared.action,
        prepared.charger_id,
        outcome.status,
        outcome.error_code,
        outcome.duration_ms,
    )
    return outcome


def wait_for_started_transaction(*, command_id: int, deadline: float) -> int | None:
    """Poll for the transaction a command's answer led to until `deadline`
    (time.monotonic()): it arrives on the charger's socket, maybe in another
    process, so only the database knows."""
    while True:
        transaction_id = command_service.command_started_transaction(command_id=command_id)
        if transaction_id is not None or time.monotonic() >= deadline:
            return transaction_id
        time.sleep(min(START_POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
