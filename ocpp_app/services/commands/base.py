"""What every operator command is: one class per OCPP action the central
system sends, registered by defining it (or, for an action that needs none
of the steps, by naming it in `plain_commands`). The profile modules beside
this one hold the classes; lifecycle.py drives them."""

from datetime import datetime
from typing import Any, ClassVar

from ocpp_app.lib.timeparse import BadDateTime, parse_datetime_utc
from ocpp_app.lib.validators import id_tag_problem
from ocpp_app.models import Charger, Command


class UnknownAction(ValueError):
    """Not an action a central system sends (nor an alias of one)."""


class BadCommand(ValueError):
    """The command makes no sense for this charger (e.g. nothing to stop)."""


class OperatorCommand:
    """One CALL an operator can send: the steps between the operator's request
    and what its answer changes in the database. A subclass names its
    `action` and overrides only the steps it needs; the defaults send the
    payload as given and keep nothing from the answer.

    - `short`: the operator's short name for it (remote_stop, reset, ...); only
      a request made by that name gets `fill`, so a full OCPP name is always
      sent exactly as given (a missing field is a schema violation).
    - `fill`: the wire payload for a request by the short name.
    - `check`: refuse (BadCommand) what the schema allows and the charger
      would accept, but we could not keep.
    - `apply`: store what an answered CALL changes (`request` is the payload
      as sent, secrets included; `response` is the CALLRESULT payload with
      secrets redacted). It runs in the transaction that records the answer.
    - `reports_transaction`: an answered command tells its operator the
      transaction it led to (null when none); `awaits_transaction` says
      whether an answer leads to one, `started_transaction` finds it.
    """

    action: ClassVar[str]
    short: ClassVar[str] = ""
    reports_transaction: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.action in COMMANDS:
            raise RuntimeError(f"two operator commands for {cls.action}")
        COMMANDS[cls.action] = cls()

    def fill(self, charger: Charger, payload: dict) -> dict:
        return payload

    def check(self, charger: Charger, payload: dict) -> None:
        return None

    def apply(self, charger: Charger, request: dict, response: dict) -> None:
        return None

    def awaits_transaction(self, response: dict) -> bool:
        return False

    def started_transaction(self, command: Command) -> int | None:
        return None


# Action name -> its command, filled as the profile modules define them.
COMMANDS: dict[str, OperatorCommand] = {}


def plain_commands(*actions: str) -> None:
    """Define the commands that need none of the steps: sent exactly as the
    operator gives them, nothing kept from their answers."""
    for action in actions:
        type(action, (OperatorCommand,), {"action": action, "__module__": __name__})


def check_id_tags(**tags: object) -> None:
    """Refuse (BadCommand) an id tag the RFID card rule refuses (control
    characters, '/', too long): it could be stored and shown later. Each
    keyword names the field as the operator wrote it; None is no tag."""
    for field, tag in tags.items():
        if tag is None:
            continue
        problem = id_tag_problem(tag) if isinstance(tag, str) else "id tag is not text"
        if problem is not None:
            raise BadCommand(f"{field}: {problem}")


def check_time_order(payload: dict, earlier: str, later: str, *, prefix: str = "") -> None:
    """Refuse (BadCommand) a `later` time of the payload that is not after
    its `earlier` one (both optional; unreadable ones are the schema's)."""
    start, end = optional_datetime(payload.get(earlier)), optional_datetime(payload.get(later))
    if start is not None and end is not None and end <= start:
        raise BadCommand(f"{prefix}{later}: must be after {prefix}{earlier}")


def check_not_negative(payload: dict, *fields: str, prefix: str = "") -> None:
    """Refuse (BadCommand) a negative number in one of the payload's fields
    (the 1.6 schemas allow them; no charger can use one)."""
    for field in fields:
        value = payload.get(field)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise BadCommand(f"{prefix}{field}: must not be negative")


def config_keys(charger: Charger) -> dict:
    """The configuration keys stored on the charger: key -> {value, readonly}."""
    config = charger.config if isinstance(charger.config, dict) else {}
    keys = config.get("configurationKey")
    return dict(keys) if isinstance(keys, dict) else {}


def optional_datetime(value: object) -> datetime | None:
    """A date-time from a command's payload, or None when it is missing or
    cannot be read (the record is still kept). Naive times are UTC."""
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime_utc(value)
    except BadDateTime:  # e.g. month 13
        return None
