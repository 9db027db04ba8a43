"""The OCPP 1.6 JSON schemas, compiled once into native validators.

The `ocpp` library validates with `jsonschema`, pure Python: most of the CPU a
MeterValues frame costs. jsonschema-rs compiles the same schema files into
native validators that decide the same verdict about a hundred times faster.
They only give the verdict. A payload they reject (rare: chargers mostly send
valid frames) is validated again by the library's `jsonschema` validator,
which names the failing keyword and so the OCPP-J error code and message
(`framing.validate`): error answers stay exactly what they were, and a valid
payload never pays for `jsonschema`.
"""

import functools
import json
from collections.abc import Callable
from importlib import resources
from typing import Any

import jsonschema_rs
from ocpp.messages import MessageType

_SCHEMA_DIR = resources.files("ocpp") / "v16" / "schemas"
# The library validates every 1.6 schema as draft 4, also the security
# extension's files that declare draft 6 (Draft4Validator in
# ocpp.messages.get_validator): the compiled validators do the same, so that
# both agree on every payload (1.0 is not an integer in draft 4).
_DRAFT4 = "http://json-schema.org/draft-04/schema#"


def schema_name(message_type_id: int, action: str) -> str:
    return action + "Response" if message_type_id == MessageType.CallResult else action


def load_schema(message_type_id: int, action: str) -> dict:
    """The library's 1.6 schema file for a CALL or CALLRESULT payload."""
    text = (_SCHEMA_DIR / f"{schema_name(message_type_id, action)}.json").read_text(encoding="utf-8-sig")
    return json.loads(text)


@functools.cache
def compiled(message_type_id: int, action: str) -> Callable[[Any], bool]:
    """The native validator of one schema (compiled on first use, ~ms)."""
    schema = {**load_schema(message_type_id, action), "$schema": _DRAFT4}
    # Formats are not checked, as the library's validator has no format
    # checker either (timestamps are parsed by the handlers).
    return jsonschema_rs.Draft4Validator(schema, validate_formats=False).is_valid


def is_valid(message_type_id: int, action: str, payload: Any) -> bool | None:
    """True or False from the native validator; None when it cannot judge the
    payload (a value it cannot take, e.g. a lone surrogate), so the caller
    falls back to the reference validator."""
    try:
        return compiled(message_type_id, action)(payload)
    except (ValueError, TypeError, OverflowError):
        return None
