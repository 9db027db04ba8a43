"""An operator command's life in two service calls, with the transport
(ocpp/commands.py) between them:

    command_prepare  resolve the action, fill in a short form, check the
                     payload (the protocol's schema, then our own rules), and
                     record the Command row -> PreparedCommand
    (transport)      send the CALL to the live socket, wait for the answer
    command_finish   record the outcome and apply the answer's effect in one
                     transaction -> CommandResult

A request refused before sending is on record too (status invalid), and
command_prepare raises CommandRefused carrying its CommandResult.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from ocpp_app.lib.limits import int_in_range
from ocpp_app.models import Charger, Command, CommandStatus
from ocpp_app.services.commands.base import BadCommand, UnknownAction
from ocpp_app.services.commands.catalogue import action_name, command_for
from ocpp_app.services.common import clip
from ocpp_app.services.secrets import redact, redact_details


class PayloadInvalid(Exception):
    """Raised by a schema check: the payload breaks the protocol's schema."""

    def __init__(self, code: str, description: str, details: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.details = details or {}


# The protocol's schema check of a CALL payload (action, payload); raises
# PayloadInvalid. The transport provides it: services know no OCPP schemas.
SchemaCheck = Callable[[str, dict], None]


@dataclass(frozen=True)
class PreparedCommand:
    """A recorded command, ready to send."""

    command_id: int
    charger_id: str
    action: str
    payload: dict  # the wire payload as it will be sent, secrets included: never stored
    request: dict  # the payload as recorded and shown
    channel_name: str  # the live socket's channel; "" when the charger is not connected


@dataclass
class CallOutcome:
    """What the transport brings back (statuses as in Command.status, plus
    invalid_response for an answer that fails the schema)."""

    status: str
    payload: dict | None = None
    error_code: str = ""
    error_description: str = ""
    error_details: dict | None = None
    message_id: str = ""  # the CALL's unique id, when it was sent
    duration_ms: int | None = None


@dataclass
class CommandResult:
    """The outcome of one operator command, for every caller: the REST API,
    the admin actions and the charger page (through the API)."""

    command_id: int | None
    charger_id: str
    action: str
    request: dict  # the wire payload, secrets redacted
    status: str
    response: dict | None = None
    error_code: str = ""
    error_description: str = ""
    error_details: dict | None = None
    # Refused before sending: nothing went to the charger.
    refused: bool = False
    # An answered RemoteStartTransaction reports the transaction it led to
    # (None when none followed in time); the transport waits for it when
    # `awaits_transaction`.
    reports_transaction: bool = False
    awaits_transaction: bool = False
    transaction_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == CommandStatus.OK


class CommandRefused(Exception):
    """The command was refused before anything was sent; it is on record."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.error_description)
        self.result = result


def command_resolve(*, charger: Charger, action: str, payload: Any) -> tuple[str, dict]:
    """The OCPP action and wire payload for an operator's request. Only a
    request by a command's short name gets its defaults (`remote_stop` stops
    the active transaction, `reset` is Soft unless a type is given)."""
    if not isinstance(payload, dict):
        raise BadCommand("payload must be a JSON object")
    name = action_name(action)
    command = command_for(name)
    payload = dict(payload)
    if command.short and (action or "").strip() == command.short:
        payload = command.fill(charger, payload)
    return name, payload


def _beyond_int32(value: object, path: str = "") -> str | None:
    """The path of the first integer beyond OCPP's 32 bits, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if int_in_range(value) else path or "payload"
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{n}]", item) for n, item in enumerate(value))
    else:
        return None
    for where, item in items:
        found = _beyond_int32(item, where)
        if found is not None:
            return found
    return None


def command_precheck(*, charger: Charger, action: str, payload: dict) -> None:
    """Refuse (BadCommand), before sending, what the charger would accept but
    we could not keep: integers beyond OCPP's 32 bits (ids we store in int
    columns), a negative connector, and each command's own rules."""
    beyond = _beyond_int32(payload)
    if beyond is not None:
        raise BadCommand(f"{beyond}: integers in an OCPP 1.6 payload must fit 32 bits")
    connector_id = payload.get("connectorId")
    if isinstance(connector_id, int) and connector_id < 0:
        raise BadCommand("connectorId must be 0 (the charger) or a connector number")
    command_for(action).check(charger, payload)


class _Refusal(Exception):
    """Why a request is refused before sending; `action` is the OCPP action
    when it is known ("" for an unknown one)."""

    def __init__(self, code: str, description: str, *, action: str = "", details: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.action, self.details = code, description, action, details or {}


def _known(action: str) -> str:
    try:
        return action_name(action)
    except UnknownAction:
        return ""


def _checked(charger: Charger, action: str, payload: Any, schema: SchemaCheck) -> tuple[str, dict]:
    """The OCPP action and wire payload, in the order of the checks: the name,
    the short form's defaults, the protocol's schema, then our own rules."""
    try:
        wire_action, wire_payload = command_resolve(charger=charger, action=action, payload=payload)
    except UnknownAction as exc:
        raise _Refusal("UnknownAction", str(exc)) from None
    except BadCommand as exc:
        raise _Refusal("BadCommand", str(exc), action=_known(action)) from None
    try:
        schema(wire_action, wire_payload)
    except PayloadInvalid as exc:
        raise _Refusal(exc.code, exc.description, action=wire_action, details=exc.details) from None
    try:
        command_precheck(charger=charger, action=wire_action, payload=wire_payload)
    except BadCommand as exc:
        raise _Refusal("BadCommand", str(exc), action=wire_action) from None
    return wire_action, wire_payload


def command_prepare(
    *,
    charger_id: str,
    action: str,
    payload: Any,
    schema: SchemaCheck,
    user_id: int | None = None,
    source: str = "",
) -> PreparedCommand:
    """Validate and record an operator's command. Raises Charger.DoesNotExist
    for an unknown charger, and CommandRefused (recorded as an invalid
    Command) for an unknown action, a payload that fails the schema or one of
    our rules."""
    charger = Charger.objects.get(charger_id=charger_id)
    payload = payload if payload is not None else {}
    try:
        wire_action, wire_payload = _checked(charger, action, payload, schema)
    except _Refusal as refusal:
        raise CommandRefused(_record_refusal(charger, refusal, action, payload, user_id, source)) from None
    request = redact(wire_action, wire_payload)
    command = _record(charger, wire_action, request, user_id, source, status=CommandStatus.PENDING)
    return PreparedCommand(
        command_id=command.pk,
        charger_id=charger.charger_id,
        action=wire_action,
        payload=wire_payload,
        request=request,
        channel_name=charger.channel_name if charger.connected else "",
    )


def _record(charger: Charger, action: str, request: dict, user_id: int | None, source: str, **outcome: Any) -> Command:
    """Every command, sent or refused, is on record the same way: the action,
    the request as it may be shown (redacted), who asked and through what."""
    return Command.objects.create(
        charger=charger,
        action=clip(action, 64),
        request=request,
        created_by_id=user_id,
        source=clip(source, 20),
        **outcome,
    )


def _record_refusal(
    charger: Charger, refusal: _Refusal, given: str, payload: Any, user_id: int | None, source: str
) -> CommandResult:
    """A refused command is on record like every other: by its OCPP action
    (else by the name given), with the operator's payload as given, redacted."""
    recorded_action = refusal.action or str(given)
    request = redact(recorded_action, payload if isinstance(payload, dict) else {})
    command = _record(
        charger,
        recorded_action,
        request,
        user_id,
        source,
        status=CommandStatus.INVALID,
        error_code=clip(refusal.code, 40),
        error_description=refusal.description,
        duration_ms=0,
    )
    return CommandResult(
        command_id=command.pk,
        charger_id=charger.charger_id,
        action=refusal.action,
        request=request,
        status=CommandStatus.INVALID,
        error_code=refusal.code,
        error_description=refusal.description,
        error_details=refusal.details,
        refused=True,
    )


def command_finish(*, prepared: PreparedCommand, outcome: CallOutcome) -> CommandResult:
    """Record the outcome of a sent (or unsendable) command and, for an
    answered one, apply its effect, in one transaction. A charger that
    (wrongly) reports its AuthorizationKey in an answer never has it stored
    or shown."""
    response = redact(prepared.action, outcome.payload)
    details = redact_details(prepared.action, outcome.error_details)
    command_type = command_for(prepared.action)
    with transaction.atomic():
        command = Command.objects.select_for_update().select_related("charger").get(pk=prepared.command_id)
        if outcome.status == CommandStatus.TIMEOUT and command.status == CommandStatus.OK:
            # The answer came in late, but before this time-out was
            # recorded, and is applied already (command_answered_late).
            return _recorded_result(command, prepared)
        command.status = outcome.status if outcome.status in CommandStatus.values else CommandStatus.CALL_ERROR
        command.response = response
        command.error_code = clip(outcome.error_code, 40)
        # The error details (e.g. an invalid answer) are kept in the description.
        command.error_description = (
            f"{outcome.error_description} {details}".strip() if details else outcome.error_description
        )
        command.message_id = clip(outcome.message_id, 64)
        command.duration_ms = outcome.duration_ms
        command.save(
            update_fields=["status", "response", "error_code", "error_description", "message_id", "duration_ms"]
        )
        answered = outcome.status == CommandStatus.OK and isinstance(response, dict)
        if answered:
            command_type.apply(command.charger, prepared.payload, response)
    return CommandResult(
        command_id=command.pk,
        charger_id=prepared.charger_id,
        action=prepared.action,
        request=prepared.request,
        status=outcome.status,
        response=response,
        error_code=outcome.error_code,
        error_description=outcome.error_description,
        error_details=details,
        reports_transaction=answered and command_type.reports_transaction,
        awaits_transaction=answered and command_type.awaits_transaction(response),
    )


def _recorded_result(command: Command, prepared: PreparedCommand) -> CommandResult:
    return CommandResult(
        command_id=command.pk,
        charger_id=prepared.charger_id,
        action=prepared.action,
        request=prepared.request,
        status=command.status,
        response=command.response,
    )


def command_answered_late(*, command_id: int, message_id: str, payload: dict, response: dict) -> bool:
    """A charger's CALLRESULT that came after its operator's time-out: the
    command is recorded as answered and its effect applied, as an answer in
    time would have been. A charger that takes a new AuthorizationKey a
    second late then holds the only key that opens its next connection; left
    unapplied, it was locked out. `payload` is the CALL as sent (secrets
    included: the transport keeps it in memory only), `response` the answer
    (schema-checked). Applied once, and only to a command still pending or
    timed out under this message id; False when there is none."""
    with transaction.atomic():
        command = Command.objects.select_for_update().select_related("charger").filter(pk=command_id).first()
        if command is None or command.status not in (CommandStatus.PENDING, CommandStatus.TIMEOUT):
            return False
        if command.message_id and command.message_id != message_id:
            return False
        shown = redact(command.action, response)
        command.status = CommandStatus.OK
        command.response = shown
        command.message_id = clip(message_id, 64)
        command.error_code = ""
        command.error_description = "answered after the time-out"
        command.save(update_fields=["status", "response", "message_id", "error_code", "error_description"])
        if isinstance(shown, dict):
            command_for(command.action).apply(command.charger, payload, shown)
    return True


def command_started_transaction(*, command_id: int) -> int | None:
    """The transaction a command's answer led to, once the charger has stored
    it (see RemoteStartTransaction in core.py); None until then."""
    command = Command.objects.get(pk=command_id)
    return command_for(command.action).started_transaction(command)
