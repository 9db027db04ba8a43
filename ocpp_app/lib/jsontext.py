"""JSON text for what we send and store: orjson, the standard library where
orjson cannot (integers beyond 64 bits, lone surrogates)."""

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text of `value` (enums by value)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:
        return json.dumps(value, separators=(",", ":"))
