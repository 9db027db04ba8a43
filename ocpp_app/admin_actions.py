"""Admin actions that send commands to chargers (filled by the operator-commands work)."""

CHARGER_ADMIN_ACTIONS: list = []
