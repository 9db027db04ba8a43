"""Remote Trigger commands: the charger sends the requested message itself,
and that message is handled like any other."""

from ocpp_app.services.commands.base import OperatorCommand


class TriggerMessage(OperatorCommand):
    action = "TriggerMessage"
    short = "trigger"
