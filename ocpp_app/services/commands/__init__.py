"""Operator commands: one class per OCPP action a central system sends
(core.py, firmware.py, local_list.py, reservation.py, smart_charging.py,
remote_trigger.py, security.py, certificates.py), driven by command_prepare and
command_finish (lifecycle.py). No network I/O here: the sending is
ocpp/commands.py."""

from ocpp_app.services.commands.base import BadCommand, OperatorCommand, UnknownAction
from ocpp_app.services.commands.catalogue import CSMS_ACTIONS, action_name, command_for
from ocpp_app.services.commands.lifecycle import (
    CallOutcome,
    CommandRefused,
    CommandResult,
    PayloadInvalid,
    PreparedCommand,
    SchemaCheck,
    command_finish,
    command_precheck,
    command_prepare,
    command_resolve,
    command_started_transaction,
)
from ocpp_app.services.commands.reservation import reservations_expire

__all__ = [
    "CSMS_ACTIONS",
    "BadCommand",
    "CallOutcome",
    "CommandRefused",
    "CommandResult",
    "OperatorCommand",
    "PayloadInvalid",
    "PreparedCommand",
    "SchemaCheck",
    "UnknownAction",
    "action_name",
    "command_finish",
    "command_for",
    "command_precheck",
    "command_prepare",
    "command_resolve",
    "command_started_transaction",
    "reservations_expire",
]
