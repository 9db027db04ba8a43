"""Firmware Management commands. Nothing is kept from their answers: the
charger's later status notifications are linked to the command instead
(services/notifications.py)."""

from ocpp_app.services.commands.base import plain_commands

plain_commands("GetDiagnostics", "UpdateFirmware")
