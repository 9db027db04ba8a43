"""Commands of the OCPP 1.6 Security extension: logs (the certificate
commands are in certificates.py, SignedUpdateFirmware in firmware.py).
Nothing is kept from their answers; the status notifications that follow
GetLog are linked to the command (services/notifications.py)."""

from ocpp_app.services.commands.base import plain_commands

plain_commands(
    "ExtendedTriggerMessage",
    "GetLog",
)
