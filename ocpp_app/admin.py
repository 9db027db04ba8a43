from django.contrib import admin

from . import admin_simulator  # noqa: F401  (registers the Simulator admin)
from .admin_actions import CHARGER_ADMIN_ACTIONS
from .models import Charger


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    list_display = ["charger_id", "registration_status", "connected", "last_heartbeat"]
    actions = [*CHARGER_ADMIN_ACTIONS]
