"""OCPP-J framing and schema validation with the right 1.6 CALLERROR codes.

The `ocpp` library (2.1.0) drops frames it cannot unpack, lets RecursionError
escape, spells FormationViolation as FormatViolation, and maps a bad enum to a
format error. This module parses frames defensively and maps every schema
failure to its OCPP-J 1.6 code (OCPP-J §4.2.3). The verdict comes from the
compiled validators (schemas.py); the library's jsonschema validator names the
error of a payload they reject.
"""

import dataclasses
import decimal
import functools
import json
import math
import re
from typing import Any

import orjson
from jsonschema.exceptions import best_match
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.exceptions import (
    FormationViolationError,
    GenericError,
    OccurenceConstraintViolationError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.exceptions import (
    NotImplementedError as OCPPNotImplemented,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.v16.enums import Action

from ocpp_app.lib import jsontext, jsonwalk
from ocpp_app.ocpp import schemas

MAX_MESSAGE_ID = 36
# Longer (invalid) ids are echoed in their CALLERROR up to this length.
MAX_ECHOED_ID = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
V16_ACTIONS = frozenset(action.value for action in Action)

# Actions whose schema uses multipleOf 0.1 on numbers: validated with Decimal
# so that 21.4 is not rejected for being 21.399999999999995.
_DECIMAL_CALLS = {"SetChargingProfile", "RemoteStartTransaction"}
_DECIMAL_RESULTS = {"GetCompositeSchedule"}
# Best-effort extraction of a message id from a frame that does not parse.
# No control characters: a raw one is invalid JSON, and a NUL would then reach
# the message log (PostgreSQL text cannot hold it; SQLite would keep it).
_ID_PROBE = re.compile(r'^\s*\[\s*2\s*,\s*"([^"\\\x00-\x1f\x7f]{1,36})"')


class UnreadableFrame(Exception):
    """A frame with no readable message id: it is logged and ignored."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# orjson parses integers beyond 64 bits as floats, where the standard library
# keeps them exact (and the schema or range check names them): a frame with
# such a digit run goes through the standard library, as does any frame
# orjson refuses (lone surrogates, deep nesting), so every verdict and error
# message stays the standard library's; orjson only speeds up the rest.
_LONG_DIGITS = re.compile(r"\d{19}")


def decode(raw: str) -> Any:
    """JSON text to Python values: orjson, with the standard library deciding
    every frame orjson would read differently or refuse."""
    if not _LONG_DIGITS.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw, parse_constant=_reject_constant)


def encode(frame: list) -> str:
    """A frame as compact JSON text."""
    return jsontext.dumps(frame)


# -- payloads between the wire (camelCase) and the handlers (snake_case) ------
#
# The handlers take snake_case keyword arguments and answer with the library's
# call_result dataclasses. The library converts every key with regular
# expressions and every answer through dataclasses.asdict on each message; the
# same conversions here are computed once per key and per answer class. The
# library's own functions still name each key, so the spelling rules (SoC,
# URL, CSMS ...) are exactly theirs.


@functools.lru_cache(maxsize=2048)
def _snake_key(key: str) -> str:
    return next(iter(camel_to_snake_case({key: None})))


@functools.lru_cache(maxsize=2048)
def _camel_key(key: str) -> str:
    return next(iter(snake_to_camel_case({key: None})))


def snake_payload(data: Any) -> Any:
    """A wire payload with every key in snake_case (the handlers' kwargs)."""
    if isinstance(data, dict):
        return {_snake_key(key): snake_payload(value) for key, value in data.items()}
    if isinstance(data, list):
        return [snake_payload(value) for value in data]
    return data


def camel_payload(data: Any) -> Any:
    """The inverse of snake_payload: every key back in camelCase."""
    if isinstance(data, dict):
        return {_camel_key(key): camel_payload(value) for key, value in data.items()}
    if isinstance(data, list):
        return [camel_payload(value) for value in data]
    return data


@functools.cache
def _wire_fields(cls: type) -> tuple[tuple[str, str], ...]:
    return tuple((field.name, _camel_key(field.name)) for field in dataclasses.fields(cls))


def wire_payload(data: Any) -> Any:
    """A handler's answer (a call_result dataclass) as its camelCase wire
    payload, without None values: what the library's serialize_as_dict,
    remove_nones and snake_to_camel_case make of it, in one pass."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        return {
            camel: wire_payload(value)
            for name, camel in _wire_fields(type(data))
            if (value := getattr(data, name)) is not None
        }
    if isinstance(data, dict):
        return {_camel_key(key): wire_payload(value) for key, value in data.items() if value is not None}
    if isinstance(data, list):
        return [wire_payload(value) for value in data if value is not None]
    return data


def call_frame(message_id: str, action: str, payload: dict) -> str:
    return encode([MessageType.Call, message_id, action, payload])


def result_frame(message_id: str, payload: dict) -> str:
    return encode([MessageType.CallResult, message_id, payload])


def _check_value(value: Any) -> None:
    """Reject what JSON allows but OCPP data (and PostgreSQL) must not hold,
    with the CALLERROR code each problem has always had."""
    try:
        jsonwalk.check_storable(value)
    except jsonwalk.TooDeep:
        raise FormationViolationError(description="Payload nested too deeply") from None
    except jsonwalk.NulCharacter:
        raise PropertyConstraintViolationError(description="NUL character in a string value") from None
    except jsonwalk.LoneSurrogate:
        raise FormationViolationError(description="Lone surrogate in a string value") from None
    except jsonwalk.NotFinite:
        raise FormationViolationError(description="Number out of range") from None


def parse_frame(raw: str, *, max_sampled_values: int | None = None) -> Call | CallResult | CallError:
    """Parse one OCPP-J frame.

    Raises OCPPError carrying `message_id` when the id can be read (the caller
    answers a CALLERROR), or UnreadableFrame when it cannot (the frame is
    ignored; the connection stays open). With `max_sampled_values`, a CALL
    carrying more sampled values is refused (check_sampled_values).
    """
    try:
        frame = decode(raw)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError, too-long integers and NaN/Infinity all land here.
        _raise_with_probed_id(raw, FormationViolationError(description=f"Frame is not valid JSON: {exc}"[:200]))
    if not isinstance(frame, list) or len(frame) < 3:
        _raise_with_probed_id(raw, FormationViolationError(description="Frame is not an OCPP-J array"))
    type_id, message_id = frame[0], frame[1]
    if not _good_message_id(message_id):
        if type_id == MessageType.Call and not isinstance(type_id, bool) and isinstance(message_id, str):
            # Answered like any other malformed CALL, so the charger does not
            # wait for its time-out; the id is echoed where that is safe.
            raise _with_id(
                FormationViolationError(description="Message id must be 1 to 36 characters, without NUL"),
                message_id if _echoable(message_id) else "",
            )
        raise UnreadableFrame("message id missing, not a string, or longer than 36 characters")
    if type_id == MessageType.Call and not isinstance(type_id, bool):
        if len(frame) != 4:
            raise _with_id(FormationViolationError(description="A CALL has exactly 4 elements"), message_id)
        action, payload = frame[2], frame[3]
        if not isinstance(action, str) or not action:
            raise _with_id(FormationViolationError(description="Action is not a string"), message_id)
        if not isinstance(payload, dict):
            raise _with_id(FormationViolationError(description="Payload is not a JSON object"), message_id)
        try:
            if max_sampled_values is not None:
                check_sampled_values(action, payload, max_sampled_values)
            _check_value(action)
            _check_value(payload)
        except OCPPError as error:
            raise _with_id(error, message_id) from None
        return Call(message_id, action, payload)
    # Answers cannot be refused with a CALLERROR, and they flow on to the
    # operator and the database: scrub NUL, lone surrogates and infinities.
    if type_id == MessageType.CallResult and not isinstance(type_id, bool):
        payload = frame[2]
        if len(frame) != 3 or not isinstance(payload, dict):
            raise UnreadableFrame("malformed CALLRESULT")
        return CallResult(message_id, loggable(raw, payload))
    if type_id == MessageType.CallError and not isinstance(type_id, bool):
        if len(frame) != 5 or not isinstance(frame[2], str):
            raise UnreadableFrame("malformed CALLERROR")
        details = frame[4] if isinstance(frame[4], dict) else {}
        return CallError(
            message_id, loggable(raw, frame[2]), loggable(raw, str(frame[3])[:512]), loggable(raw, details)
        )
    _raise_with_probed_id(raw, PropertyConstraintViolationError(description=f"Unknown MessageTypeId {type_id!r}"))


# The list of each action whose entries hold sampled values.
_SAMPLED_VALUE_LISTS = {"MeterValues": "meterValue", "StopTransaction": "transactionData"}


def check_sampled_values(action: str, payload: dict, limit: int) -> None:
    """Refuse a MeterValues or StopTransaction carrying more than `limit`
    sampled values (all its entries together; an entry without a list of
    them counts as one). Every later step (the walk, the schema, the case
    conversion, the handler, the rows) costs per value, so this runs first,
    on the parsed payload only."""
    field = _SAMPLED_VALUE_LISTS.get(action)
    entries = payload.get(field) if field is not None else None
    if not isinstance(entries, list):
        return
    count = 0
    for entry in entries:
        values = entry.get("sampledValue") if isinstance(entry, dict) else None
        count += len(values) if isinstance(values, list) and values else 1
    if count > limit:
        raise OccurenceConstraintViolationError(
            description=f"{field}: {count} sampled values, at most {limit} in one message"
        )


def _good_message_id(message_id: Any) -> bool:
    return (
        isinstance(message_id, str)
        and 0 < len(message_id) <= MAX_MESSAGE_ID
        and "\x00" not in message_id
        and _encodable(message_id)
    )


def _echoable(message_id: str) -> bool:
    """An id that may go back on the wire and into the log as it came."""
    return len(message_id) <= MAX_ECHOED_ID and not _CONTROL.search(message_id) and _encodable(message_id)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _with_id(error: OCPPError, message_id: str) -> OCPPError:
    error.message_id = message_id  # type: ignore[attr-defined]
    return error


def _raise_with_probed_id(raw: str, error: OCPPError) -> None:
    match = _ID_PROBE.match(raw[:200])
    if match is None:
        raise UnreadableFrame(error.description)
    raise _with_id(error, match.group(1))


# Map a jsonschema failure keyword to its OCPP-J 1.6 error (OCPP-J §4.2.3).
_KEYWORD_ERRORS: dict[str, type[OCPPError]] = {
    "required": ProtocolError,
    "type": TypeConstraintViolationError,
    "maxLength": TypeConstraintViolationError,
    "minLength": TypeConstraintViolationError,
    "format": TypeConstraintViolationError,
    "additionalProperties": FormationViolationError,
    "enum": PropertyConstraintViolationError,
    "minimum": PropertyConstraintViolationError,
    "maximum": PropertyConstraintViolationError,
    "exclusiveMinimum": PropertyConstraintViolationError,
    "exclusiveMaximum": PropertyConstraintViolationError,
    "multipleOf": PropertyConstraintViolationError,
    "pattern": PropertyConstraintViolationError,
    "minItems": OccurenceConstraintViolationError,
    "maxItems": OccurenceConstraintViolationError,
    "uniqueItems": OccurenceConstraintViolationError,
}


def validate(message_type_id: int, action: str, payload: dict) -> None:
    """Validate a CALL or CALLRESULT payload against the 1.6 schema (inline,
    never through the thread pool). Raises the matching OCPPError."""
    if action not in V16_ACTIONS:
        raise OCPPNotImplemented(description=f"Unknown action {action}")
    # The native verdict first; jsonschema only for payloads it rejects (to
    # name the error) and for the multipleOf schemas, which need Decimal.
    if not _needs_decimal(message_type_id, action) and schemas.is_valid(message_type_id, action, payload):
        return
    error = schema_error(message_type_id, action, payload)
    if error is not None:
        raise error


def _needs_decimal(message_type_id: int, action: str) -> bool:
    return (message_type_id == MessageType.Call and action in _DECIMAL_CALLS) or (
        message_type_id == MessageType.CallResult and action in _DECIMAL_RESULTS
    )


def schema_error(message_type_id: int, action: str, payload: Any) -> OCPPError | None:
    """The reference verdict (the library's jsonschema validator): the OCPP-J
    error for the deepest, most specific failure, or None when valid."""
    use_decimal = _needs_decimal(message_type_id, action)
    validator = get_validator(message_type_id, action, "1.6", parse_float=decimal.Decimal if use_decimal else float)
    if use_decimal:
        payload = json.loads(json.dumps(payload), parse_float=decimal.Decimal)
    # One walk, whose errors best_match then ranks: walking the payload a
    # second time for it doubled the cost of a large invalid frame.
    errors = list(validator.iter_errors(payload))
    if not errors:
        return None
    error = best_match(errors) or errors[0]
    error_class = _KEYWORD_ERRORS.get(str(error.validator), FormationViolationError)
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        # Name the missing field itself, not the object that lacks it.
        missing = [name for name in error.validator_value if name not in error.instance]
        path += missing[:1]
    where = "/".join(path) or "payload"
    return error_class(description=f"{where}: {error.message}"[:255], details={"field": where})


def error_fields(error: BaseException) -> tuple[str, str, dict]:
    """The (errorCode, errorDescription, errorDetails) a CALLERROR carries
    for an exception, with the OCPP-J 1.6 spelling of every code."""
    if isinstance(error, OCPPError):
        code, description, details = error.code, error.description, error.details
    else:
        code, description, details = GenericError.code, "Error", {}
    if code == "FormatViolation":  # the library's spelling; 1.6 says FormationViolation
        code = "FormationViolation"
    return code, description or "", details or {}


def callerror_frame(message_id: str, error: BaseException) -> str:
    return encode([MessageType.CallError, message_id, *error_fields(error)])


# NUL, lone surrogates, and numbers like 1e999 (or 400 digits then ".0") that
# json.loads turns into infinity (neither JSON_VALID on SQLite nor jsonb on PostgreSQL accepts it).
# A digit run is tried from its first digit only: from every digit, a frame of
# runs just under 300 digits cost quadratic time (0.8 s for 256 KiB, on the loop).
_SUSPECT = re.compile(r"\x00|\\u0000|\\ud[89a-f]|\d[eE][+-]?\d{3,}|(?<!\d)\d{300,}", re.IGNORECASE)


def loggable(raw: str, payload: Any) -> Any:
    """A JSON-storable copy of a payload: PostgreSQL text cannot hold NUL or
    lone surrogates, and a log must never fail because a charger sent them."""
    if not _SUSPECT.search(raw):
        return payload
    return _scrub(payload)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > jsonwalk.MAX_JSON_DEPTH:
        return "<nested too deeply>"
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_scrub(k, depth + 1): _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def raw_for_log(raw: str, limit: int = 4096) -> dict:
    """How an unparsable frame is kept in the message log."""
    return {"raw": _scrub(raw[:limit]), "truncated": len(raw) > limit}
