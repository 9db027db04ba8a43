"""Charger identity from a WebSocket handshake: a pure function, heavily tested.

Rules: a query parameter among QUERY_KEYS (names case-insensitive,
whitespace-only values ignored) wins over the path; else the last non-empty
path segment. Each raw path segment is percent-decoded on its own, so
`/ocpp/CP%2F1` yields the id `CP/1`, which is refused, never `1`. What makes
an id acceptable is the rule shared with the admin and the API
(`lib.ids.charger_id_problem`).
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from ocpp_app.lib.ids import QUERY_KEYS, charger_id_problem

# In priority order: the first one present wins.


class BadChargerId(ValueError):
    """The handshake names no usable charger id."""


@dataclass(frozen=True)
class Identity:
    charger_id: str
    path: str  # the full path as the charger used it, stored as last_path
    source: str  # "query" or "path"


def validate_charger_id(charger_id: str) -> str:
    """Return the id if it is acceptable, else raise BadChargerId saying why."""
    if (problem := charger_id_problem(charger_id)) is not None:
        raise BadChargerId(problem)
    return charger_id


def _decode(raw: str) -> str:
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadChargerId("charger id is not valid UTF-8") from exc


def charger_id_from_query(query_string: bytes | str) -> str | None:
    if isinstance(query_string, bytes):
        # UTF-8 with U+FFFD for bad bytes: _reparse then refuses such an id
        # (latin-1 would silently turn UTF-8 bytes into a different id).
        query_string = query_string.decode("utf-8", errors="replace")
    if not query_string:
        return None
    found: dict[str, str] = {}
    for raw_name, raw_value in parse_qsl(query_string, keep_blank_values=True):
        name = raw_name.strip().lower()
        if name in QUERY_KEYS and name not in found:
            value = _reparse(raw_value).strip()
            if value:
                found[name] = value
    for key in QUERY_KEYS:
        if key in found:
            return found[key]
    return None


def _reparse(value: str) -> str:
    # parse_qsl decodes with errors="replace"; a U+FFFD means the charger sent
    # bytes that are not UTF-8. Refuse instead of inventing a different id.
    if "\ufffd" in value:
        raise BadChargerId("charger id is not valid UTF-8")
    return value


def _decode_raw(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadChargerId("charger id is not valid UTF-8") from exc


def charger_id_from_path(raw_path: bytes | str) -> str | None:
    if isinstance(raw_path, bytes):
        # Work on the bytes: both percent escapes and literal non-ASCII bytes
        # must be decoded as UTF-8 (strict), segment by segment.
        raw_segments = [segment for segment in raw_path.split(b"?", 1)[0].split(b"/") if segment]
        return _decode_raw(raw_segments[-1]) if raw_segments else None
    raw_path = raw_path.split("?", 1)[0]
    segments = [segment for segment in raw_path.split("/") if segment]
    if not segments:
        return None
    return _decode(segments[-1])


def parse_identity(*, path: str, raw_path: bytes | None, query_string: bytes | str) -> Identity:
    """The charger named by a handshake, or BadChargerId."""
    charger_id = charger_id_from_query(query_string)
    source = "query"
    if charger_id is None:
        charger_id = charger_id_from_path(raw_path if raw_path else path)
        source = "path"
    if charger_id is None:
        raise BadChargerId("no charger id in the path or query string")
    return Identity(charger_id=validate_charger_id(charger_id), path=path, source=source)
