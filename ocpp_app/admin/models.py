"""The admin: every model of the central system, with what the charger reports
read-only, and a map for the charger's position."""

from django.contrib import admin
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from ocpp_app.admin.actions import CHARGER_ADMIN_ACTIONS
from ocpp_app.admin.forms import ChargerAdminForm
from ocpp_app.models import (
    RFID,
    CertificateSigningRequest,
    Charger,
    ChargerEvent,
    ChargingProfileRecord,
    Command,
    Connector,
    DataTransferRecord,
    LocalListEntry,
    MessageLog,
    MeterReading,
    Node,
    Reservation,
    StatusNotificationRecord,
    Transaction,
)
from ocpp_app.selectors.landing import sticker_codes
from ocpp_app.services.chargers import BOOT_IDENTITY_FIELDS, charger_set_password
from ocpp_app.services.load import LOAD_FIELDS
from ocpp_app.templatetags.ocpp_tags import STATUS_CLASSES

# Everything a charger tells us (BootNotification, liveness, notifications):
# shown, never edited by hand.
CHARGER_REPORTED = [
    "last_path",
    *BOOT_IDENTITY_FIELDS,
    "last_boot_at",
    "heartbeat_interval",
    "connected",
    "connected_since",
    "disconnected_at",
    "connection_id",
    "channel_name",
    "node_id",
    "subprotocol",
    "last_heartbeat",
    "last_seen",
    "last_meter_values",
    "firmware_status",
    "firmware_status_at",
    "diagnostics_status",
    "diagnostics_status_at",
    "log_status",
    "log_status_at",
    "local_list_version",
]
STATE_COLOURS = {"online": "#16a34a", "stale": "#d97706", "offline": "#6b7280"}
STATUS_COLOURS = {
    "ok": "#16a34a",
    "charging": "#2563eb",
    "busy": "#7c3aed",
    "reserved": "#0891b2",
    "off": "#6b7280",
    "fault": "#dc2626",
}


def badge(text: str, colour: str):
    return format_html(
        '<span style="background:{};color:#fff;border-radius:9px;padding:1px 8px;font-weight:600">{}</span>',
        colour,
        text,
    )


class ReportedRecordAdmin(admin.ModelAdmin):
    """A record of what a charger reported, or of what was sent to it: shown,
    never added or edited by hand. `editable` names the fields an operator
    may still change."""

    editable: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.editable]

    def has_add_permission(self, request):
        return False


class ConnectorInline(admin.TabularInline):
    model = Connector
    extra = 0
    can_delete = False
    fields = ["connector_id", "status", "error_code", "info", "vendor_error_code", "timestamp"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Charger)
class ChargerAdmin(admin.ModelAdmin):
    form = ChargerAdminForm
    list_display = [
        "charger_id",
        "name",
        "state_badge",
        "registration_status",
        "vendor",
        "model",
        "firmware_version",
        "last_heartbeat",
        "located",
        "landing_page_link",
        "log_link",
    ]
    list_filter = ["registration_status", "connected", "require_rfid", "vendor"]
    search_fields = ["charger_id", "name", "vendor", "model", "serial_number", "charge_box_serial_number"]
    readonly_fields = [
        *CHARGER_REPORTED,
        "has_password",
        "qr_code",
        "load_control",
        "load_control_detail",
        "failsafe_limit",
        "created_at",
        "updated_at",
    ]
    actions = [*CHARGER_ADMIN_ACTIONS]
    inlines = [ConnectorInline]
    list_per_page = 100
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "charger_id",
                    "name",
                    "registration_status",
                    "security_profile",
                    "require_rfid",
                    "has_password",
                    "new_password",
                    "remove_password",
                ]
            },
        ),
        ("Position", {"fields": ["latitude", "longitude"]}),
        (
            "Load management",
            {
                "fields": [
                    *LOAD_FIELDS,
                    "load_control",
                    "load_control_detail",
                    "failsafe_limit",
                ]
            },
        ),
        ("Landing page", {"fields": ["qr_code"]}),
        (
            "Identity (BootNotification)",
            {"fields": [*BOOT_IDENTITY_FIELDS, "last_boot_at", "heartbeat_interval"]},
        ),
        (
            "Connection",
            {
                "fields": [
                    "connected",
                    "connected_since",
                    "disconnected_at",
                    "last_heartbeat",
                    "last_seen",
                    "last_path",
                    "subprotocol",
                    "node_id",
                    "connection_id",
                    "channel_name",
                ]
            },
        ),
        (
            "Reported status",
            {
                "classes": ["collapse"],
                "fields": [
                    "firmware_status",
                    "firmware_status_at",
                    "diagnostics_status",
                    "diagnostics_status_at",
                    "log_status",
                    "log_status_at",
                    "local_list_version",
                    "last_meter_values",
                ],
            },
        ),
        ("Configuration", {"classes": ["collapse"], "fields": ["config", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # The QR images and JSON blobs are not needed on the list page.
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name == "ocpp_app_charger_changelist":
            qs = qs.defer("qr_png", "qr_svg", "config", "last_meter_values")
        return qs

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("charger_id")  # the id is the charger's identity on the wire
        return fields

    @admin.display(description="Connection", ordering="connected")
    def state_badge(self, obj: Charger):
        return badge(obj.state, STATE_COLOURS[obj.state])

    @admin.display(description="Map", boolean=True)
    def located(self, obj: Charger) -> bool:
        return obj.latitude is not None and obj.longitude is not None

    @admin.display(description="Landing Page")
    def landing_page_link(self, obj: Charger):
        return format_html(
            '<a href="{}" target="_blank">Landing Page</a>', reverse("ocpp:landing", args=[obj.charger_id])
        )

    @admin.display(description="Log")
    def log_link(self, obj: Charger):
        return format_html('<a href="{}">Log</a>', reverse("ocpp:log", args=[obj.charger_id]))

    def get_object(self, request, object_id, from_field=None):
        charger = super().get_object(request, object_id, from_field)
        if charger is not None:  # where the QR codes shown from this request lead (qr_code)
            charger.request_base = request.build_absolute_uri("/")
        return charger

    @admin.display(description="QR codes")
    def qr_code(self, obj: Charger):
        if obj.pk is None:
            return "Created when the charger is saved."
        return render_to_string("ocpp/_landing_stickers.html", sticker_codes(obj, getattr(obj, "request_base", "")))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("new_password")
        if password or form.cleaned_data.get("remove_password"):
            charger_set_password(charger_id=obj.charger_id, password=password or None)

    @admin.display(description="Basic-auth password set", boolean=True)
    def has_password(self, obj: Charger) -> bool:
        return obj.has_password


@admin.register(Connector)
class ConnectorAdmin(ReportedRecordAdmin):
    list_display = ["charger", "connector_id", "status_badge", "error_code", "info", "timestamp", "updated_at"]
    list_filter = ["status", "error_code"]
    search_fields = ["charger__charger_id"]
    list_select_related = ["charger"]

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Connector):
        return badge(obj.status or "?", STATUS_COLOURS.get(STATUS_CLASSES.get(obj.status, ""), "#9ca3af"))


@admin.register(StatusNotificationRecord)
class StatusNotificationRecordAdmin(ReportedRecordAdmin):
    list_display = ["charger", "connector_id", "status", "error_code", "info", "timestamp", "received_at"]
    list_filter = ["status", "error_code"]
    search_fields = ["charger__charger_id"]
    list_select_related = ["charger"]
    show_full_result_count = False


@admin.register(Transaction)
class TransactionAdmin(ReportedRecordAdmin):
    list_display = [
        "id",
        "charger",
        "connector_id",
        "id_tag",
        "id_tag_status",
        "start_time",
        "stop_time",
        "energy_kwh",
        "stop_reason",
        "stopped_by_server",
    ]
    list_filter = ["stop_reason", "id_tag_status", "stopped_by_server", ("stop_time", admin.EmptyFieldListFilter)]
    search_fields = ["=id", "id_tag", "charger__charger_id"]
    list_select_related = ["charger"]
    date_hierarchy = "start_time"
    show_full_result_count = False
    editable = ("notes",)

    @admin.display(description="Energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, obj: Transaction):
        return None if obj.energy_wh is None else round(obj.energy_wh / 1000, 3)


@admin.register(MeterReading)
class MeterReadingAdmin(ReportedRecordAdmin):
    list_display = [
        "timestamp",
        "charger",
        "connector_id",
        "transaction_id",
        "measurand",
        "phase",
        "value",
        "unit",
        "context",
    ]
    list_filter = ["measurand", "context", "phase"]
    search_fields = ["charger__charger_id", "=transaction__id"]
    list_select_related = ["charger"]
    show_full_result_count = False


@admin.register(RFID)
class RFIDAdmin(admin.ModelAdmin):
    list_display = ["id_tag", "label", "status", "expiry_date", "parent_id_tag", "created_at"]
    list_filter = ["status"]
    search_fields = ["id_tag", "label", "parent_id_tag"]


@admin.register(MessageLog)
class MessageLogAdmin(ReportedRecordAdmin):
    list_display = ["id", "timestamp", "charger_link", "direction", "message_type", "action", "message_id"]
    list_filter = ["direction", "message_type"]
    # '=' prefixes: exact matches use the (charger_id, -id) index instead of
    # a LIKE scan over a table of millions of rows.
    search_fields = ["=charger_id", "=action", "=message_id"]
    show_full_result_count = False

    @admin.display(description="Charger", ordering="charger_id")
    def charger_link(self, obj: MessageLog):
        return format_html('<a href="{}">{}</a>', reverse("ocpp:log", args=[obj.charger_id]), obj.charger_id)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Command)
class CommandAdmin(ReportedRecordAdmin):
    list_display = [
        "id",
        "created_at",
        "charger",
        "action",
        "status",
        "error_code",
        "duration_ms",
        "source",
        "created_by",
    ]
    list_filter = ["status", "action", "source"]
    search_fields = ["charger__charger_id", "action", "=message_id"]
    list_select_related = ["charger", "created_by"]
    show_full_result_count = False


@admin.register(ChargerEvent)
class ChargerEventAdmin(ReportedRecordAdmin):
    list_display = ["id", "received_at", "charger", "kind", "status", "request_id", "timestamp"]
    list_filter = ["kind", "status"]
    search_fields = ["charger__charger_id", "status"]
    list_select_related = ["charger"]


@admin.register(DataTransferRecord)
class DataTransferRecordAdmin(ReportedRecordAdmin):
    list_display = ["id", "created_at", "charger", "direction", "vendor_id", "message_id", "status"]
    list_filter = ["direction", "status"]
    search_fields = ["charger__charger_id", "vendor_id", "message_id"]
    list_select_related = ["charger"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = ["reservation_id", "charger", "connector_id", "id_tag", "expiry_date", "status", "transaction"]
    list_filter = ["status"]
    search_fields = ["=reservation_id", "charger__charger_id", "id_tag"]
    list_select_related = ["charger"]
    readonly_fields = ["transaction", "created_at"]


@admin.register(LocalListEntry)
class LocalListEntryAdmin(admin.ModelAdmin):
    list_display = ["charger", "id_tag", "status", "expiry_date", "parent_id_tag"]
    list_filter = ["status"]
    search_fields = ["charger__charger_id", "id_tag"]
    list_select_related = ["charger"]


@admin.register(ChargingProfileRecord)
class ChargingProfileRecordAdmin(ReportedRecordAdmin):
    list_display = ["id", "charger", "connector_id", "charging_profile_id", "stack_level", "purpose", "status"]
    list_filter = ["purpose", "status"]
    search_fields = ["charger__charger_id"]
    list_select_related = ["charger"]


@admin.register(CertificateSigningRequest)
class CertificateSigningRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "charger", "status"]
    list_filter = ["status"]
    search_fields = ["charger__charger_id"]
    list_select_related = ["charger"]
    readonly_fields = ["charger", "csr", "created_at"]


@admin.register(Node)
class NodeAdmin(ReportedRecordAdmin):
    """The server nodes and their leases: written by the nodes themselves."""

    list_display = ["node_id", "host", "pid", "alive_now", "started_at", "renewed_at", "lease_expires_at", "stopped_at"]
    search_fields = ["node_id", "host"]
    ordering = ["node_id"]

    @admin.display(boolean=True, description="alive")
    def alive_now(self, obj: Node) -> bool:
        return obj.alive
