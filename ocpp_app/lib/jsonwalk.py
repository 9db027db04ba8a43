"""What JSON allows but the database must not hold, found by one walk.

PostgreSQL text and jsonb refuse NUL characters and lone surrogates, no JSON
column holds an infinity (json.loads turns 1e400 into one), and nesting
deeper than MAX_JSON_DEPTH is refused before it costs recursion. The OCPP
framing and the REST API parser both use `check_storable`; each turns the
problem into its own error (a CALLERROR code, a 400).
"""

import math
from typing import Any

# The top-level value is depth 0; every object key, object value and array
# item is one level deeper than its container.
MAX_JSON_DEPTH = 32


class UnstorableJSON(ValueError):
    """A value that a JSON column of the database cannot hold."""


class TooDeep(UnstorableJSON):
    pass


class NulCharacter(UnstorableJSON):
    pass


class LoneSurrogate(UnstorableJSON):
    pass


class NotFinite(UnstorableJSON):
    pass


def check_storable(value: Any, depth: int = 0) -> None:
    """Raise the first UnstorableJSON subclass met, depth first, in document
    order (object keys before their values)."""
    if depth > MAX_JSON_DEPTH:
        raise TooDeep(f"nested deeper than {MAX_JSON_DEPTH}")
    if isinstance(value, str):
        if "\x00" in value:
            raise NulCharacter("NUL character in a string")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LoneSurrogate("lone surrogate in a string") from None
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise NotFinite("number out of range")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, depth + 1)
            check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth + 1)
