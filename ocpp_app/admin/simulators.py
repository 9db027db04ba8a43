"""Admin for simulated charge points: start and stop them without code.

Each started simulator is a detached `python -m simulator` process (see
ocpp_app/services/simulators.py); it connects like any charger and so shows
up on the dashboard like one.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from ocpp_app.models import Simulator
from ocpp_app.services.simulators import (
    simulator_pid,
    simulator_start,
    simulator_status,
    simulator_stop,
    simulators_refresh,
)


class SimulatorForm(forms.ModelForm):
    class Meta:
        model = Simulator
        fields = [
            "name",
            "scheme",
            "host",
            "ws_port",
            "cp_path",
            "password",
            "connectors",
            "rfid",
            "interval",
            "kwh_max",
            "power_kw",
            "repeat",
            "pause",
        ]
        widgets = {"password": forms.PasswordInput(render_value=True)}


@admin.register(Simulator)
class SimulatorAdmin(admin.ModelAdmin):
    form = SimulatorForm
    list_display = ["name", "websocket_url", "interval", "kwh_max", "repeat", "running", "last_error_short"]
    list_filter = ["running", "repeat"]
    search_fields = ["name", "cp_path", "host"]
    readonly_fields = ["running", "live_status", "last_error", "started_at", "created_at"]
    actions = ["start_simulators", "stop_simulators"]
    fieldsets = [
        (None, {"fields": ["name", "scheme", "host", "ws_port", "cp_path", "password"]}),
        ("Charging", {"fields": ["connectors", "rfid", "interval", "kwh_max", "power_kw", "repeat", "pause"]}),
        ("State", {"fields": ["running", "live_status", "last_error", "started_at", "created_at"]}),
    ]

    @admin.display(description="WebSocket URL", ordering="host")
    def websocket_url(self, obj: Simulator) -> str:
        return format_html("<code>{}</code>", obj.ws_url)

    @admin.display(description="Last error")
    def last_error_short(self, obj: Simulator) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description="Live status")
    def live_status(self, obj: Simulator) -> str:
        if obj.pk is None or simulator_pid(obj) is None:
            return "not running"
        return simulator_status(obj).get("line", "starting")

    def changelist_view(self, request, extra_context=None):
        # Reconcile with the processes: one that ended is shown as stopped.
        simulators_refresh()
        return super().changelist_view(request, extra_context)

    @admin.action(description="Start selected simulators")
    def start_simulators(self, request, queryset):
        started = [s.name for s in queryset if simulator_start(simulator=s)]
        failed = [f"{s.name}: {s.last_error}" for s in queryset if not s.running]
        if started:
            self.message_user(request, f"Started: {', '.join(started)}", messages.SUCCESS)
        if failed:
            self.message_user(request, f"Not started: {'; '.join(failed)}", messages.ERROR)
        if not started and not failed:
            self.message_user(request, "Already running.", messages.INFO)

    @admin.action(description="Stop selected simulators")
    def stop_simulators(self, request, queryset):
        stopped = [s.name for s in queryset if simulator_stop(simulator=s)]
        self.message_user(request, f"Stopped: {', '.join(stopped)}" if stopped else "None was running.", messages.INFO)
