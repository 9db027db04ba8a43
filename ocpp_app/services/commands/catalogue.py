"""Every CALL a 1.6J central system can send, and the names an operator may
use for them."""

import re

from ocpp_app.services.commands import (  # noqa: F401  (defining the commands registers them)
    certificates,
    core,
    firmware,
    local_list,
    remote_trigger,
    reservation,
    security,
    smart_charging,
)
from ocpp_app.services.commands.base import COMMANDS, OperatorCommand, UnknownAction

# Core, Firmware Management, Local Auth List Management, Reservation, Smart
# Charging, Remote Trigger, and the Security extension.
CSMS_ACTIONS: tuple[str, ...] = (
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "DataTransfer",
    "GetDiagnostics",
    "UpdateFirmware",
    "SendLocalList",
    "GetLocalListVersion",
    "ReserveNow",
    "CancelReservation",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "TriggerMessage",
    "ExtendedTriggerMessage",
    "GetLog",
    "SignedUpdateFirmware",
    "InstallCertificate",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "CertificateSigned",
)
if set(CSMS_ACTIONS) != set(COMMANDS):
    raise RuntimeError(f"operator commands and CSMS_ACTIONS differ: {set(CSMS_ACTIONS) ^ set(COMMANDS)}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# Every action by its OCPP name, lowercase, snake_case and kebab-case, and the
# short names (remote_stop, reset, ...).
_ALIASES: dict[str, str] = {}
for _action in CSMS_ACTIONS:
    for _name in (_action, _action.lower(), _snake(_action), _snake(_action).replace("_", "-")):
        _ALIASES[_name] = _action
_ALIASES.update({command.short: action for action, command in COMMANDS.items() if command.short})


def action_name(action: str) -> str:
    """The OCPP action name for an action or one of its aliases."""
    given = (action or "").strip()
    name = _ALIASES.get(given) or _ALIASES.get(given.lower())
    if name is None:
        raise UnknownAction(f"Unknown action {action!r}; use an OCPP 1.6J central-system action name")
    return name


def command_for(action: str) -> OperatorCommand:
    """The command class instance of an OCPP action name."""
    return COMMANDS[action]
