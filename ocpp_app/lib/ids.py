"""The rules for charger ids and RFID id tags, as pure functions: why a value
is refused, or None. No Django here: the simulator, which runs without
Django, checks an id with the same rule the server applies. The Django
validators built on them are in lib/validators.py."""

import re

CHARGER_ID_MAX_LENGTH = 48
ID_TAG_MAX_LENGTH = 20  # OCPP 1.6 IdToken: CiString20Type

# C0 controls, DEL and C1 controls, as a regular-expression character range.
# Never part of a valid id, and PostgreSQL refuses a NUL in a query.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")

# One URL path segment that can name a charger or an RFID card: no '/' and no
# control characters. Both id rules refuse those, so such a URL can name
# nothing (a 404); anything else reaches the view, which looks the id up.
URL_ID_SEGMENT = f"[^/{CONTROL_CHARACTERS}]+"


def charger_id_problem(charger_id: str) -> str | None:
    """Why `charger_id` cannot name a charger, or None when it can.

    A charger id is the last segment of the charger's WebSocket URL and part
    of every page's URL: 1 to 48 characters, no '/' or '\\', no '..' (nor a
    lone '.'), no control characters, valid Unicode."""
    if not charger_id:
        return "empty charger id"
    if len(charger_id) > CHARGER_ID_MAX_LENGTH:
        return f"charger id longer than {CHARGER_ID_MAX_LENGTH} characters"
    if "/" in charger_id or "\\" in charger_id:
        return "charger id contains a slash"
    if ".." in charger_id or charger_id == ".":
        return "charger id contains '..'"
    if _CONTROL.search(charger_id):
        return "charger id contains control characters"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in charger_id):
        return "charger id is not valid Unicode"
    return None


def id_tag_problem(id_tag: str) -> str | None:
    """Why `id_tag` cannot be an RFID card's id tag, or None when it can.

    1 to 20 printable characters (spaces included, no control or format
    characters, no lone surrogates), and no '/': the tag is the last segment
    of the card's API URL."""
    if not id_tag:
        return "empty id tag"
    if len(id_tag) > ID_TAG_MAX_LENGTH:
        return f"id tag longer than {ID_TAG_MAX_LENGTH} characters"
    if not id_tag.isprintable():
        return "id tag contains characters that are not printable"
    if "/" in id_tag:
        return "id tag contains a slash"
    return None


# Query parameters a charger may name itself by instead of the URL's last
# path segment (some firmware appends ?cid=...); the first one found wins.
QUERY_KEYS = ("cid", "chargepointid", "charge_point_id", "chargeboxid", "charge_box_id", "chargerid")
