"""Admin for simulated charge points: start and stop them without code.

Each started simulator is a detached `python -m simulator` process (see
ocpp_app/services/simulators.py); it connects like any charger and so shows
up on the dashboard like one.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from ocpp_app.lib.validators import validate_id_tag
from ocpp_app.models import Simulator
from ocpp_app.services.secrets import PASSWORD_MAX, InvalidPassword, password_validate, secret_encrypt
from ocpp_app.services.simulators import (
    SECRET_FIELDS,
    simulator_pid,
    simulator_start,
    simulator_status,
    simulator_stop,
    simulators_refresh,
)


class SimulatorForm(forms.ModelForm):
    """The simulator's secrets (its Basic-auth key and client private key) are
    write-only: never rendered, stored encrypted (services/secrets.py). A
    blank field keeps the stored secret; its "clear" box removes it."""

    password = forms.CharField(
        required=False,
        strip=False,
        max_length=PASSWORD_MAX,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Basic-auth key, if the charger has one. Never shown; leave blank to keep the stored one.",
    )
    clear_password = forms.BooleanField(required=False, label="Remove the stored key")
    client_key = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text="PEM private key of the client certificate (security profile 3). "
        "Never shown; leave blank to keep the stored one.",
    )
    clear_client_key = forms.BooleanField(required=False, label="Remove the stored private key")

    class Meta:
        model = Simulator
        fields = [
            "name",
            "scheme",
            "host",
            "ws_port",
            "cp_path",
            "password",
            "ca_bundle",
            "client_cert",
            "client_key",
            "connectors",
            "rfid",
            "interval",
            "kwh_max",
            "power_kw",
            "repeat",
            "pause",
            "phases",
            "ev_max_current",
            "rate_units",
            "smart_charging",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # What is stored now, kept when a field is left blank; never rendered.
        self._stored = {field: getattr(self.instance, field) or "" for field in SECRET_FIELDS}
        for field in SECRET_FIELDS:
            self.initial[field] = ""
            if field in self.fields:
                self.fields[field].show_hidden_initial = False
        for field in SECRET_FIELDS:
            box = f"clear_{field}"
            if box in self.fields and not self._stored[field]:
                self.fields[box].disabled = True

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            try:
                password_validate(password)
            except InvalidPassword as exc:
                raise forms.ValidationError(str(exc)) from None
        return password

    def clean_rfid(self) -> str:
        # The card the simulator presents follows the id-tag rule of every card.
        rfid = self.cleaned_data.get("rfid") or ""
        if rfid:
            validate_id_tag(rfid)
        return rfid

    def save(self, commit: bool = True) -> Simulator:
        simulator = super().save(commit=False)
        for field in SECRET_FIELDS:
            given = self.cleaned_data.get(field) or ""
            if self.cleaned_data.get(f"clear_{field}"):
                value = ""
            elif given:
                value = secret_encrypt(given)
            else:
                value = self._stored[field]
            setattr(simulator, field, value)
        if commit:
            simulator.save()
            self._save_m2m()
        return simulator


@admin.register(Simulator)
class SimulatorAdmin(admin.ModelAdmin):
    form = SimulatorForm
    list_display = ["name", "websocket_url", "interval", "kwh_max", "repeat", "running", "last_error_short"]
    list_filter = ["running", "repeat"]
    search_fields = ["name", "cp_path", "host"]
    readonly_fields = ["running", "live_status", "last_error", "started_at", "created_at"]
    actions = ["start_simulators", "stop_simulators"]
    fieldsets = [
        (None, {"fields": ["name", "scheme", "host", "ws_port", "cp_path", "password", "clear_password"]}),
        ("TLS (wss://)", {"fields": ["ca_bundle", "client_cert", "client_key", "clear_client_key"]}),
        ("Charging", {"fields": ["connectors", "rfid", "interval", "kwh_max", "power_kw", "repeat", "pause"]}),
        ("Load management", {"fields": ["phases", "ev_max_current", "rate_units", "smart_charging"]}),
        ("State", {"fields": ["running", "live_status", "last_error", "started_at", "created_at"]}),
    ]

    def get_changeform_initial_data(self, request):
        # A new simulator points at the port the operator reached this
        # server on, not at 8000 whatever the server's port.
        initial = super().get_changeform_initial_data(request)
        port = request.get_port()
        if port and port.isdigit():
            initial.setdefault("ws_port", int(port))
        return initial

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
