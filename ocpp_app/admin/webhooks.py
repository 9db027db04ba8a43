"""The admin of alerts: webhooks (their secret write-only, as a charger's
password is) and the delivery log, read-only, with a "Retry now" action."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from ocpp_app.admin.models import ReportedRecordAdmin
from ocpp_app.lib.alerts import EVENT_TYPES
from ocpp_app.models import Delivery, DeliveryStatus, Webhook
from ocpp_app.models.webhooks import validate_charger_ids
from ocpp_app.services import webhooks
from ocpp_app.services.alert_deliveries import deliveries_retry


class WebhookAdminForm(forms.ModelForm):
    """The URL, event type and charger rules are the model's validators,
    shared with the API. The secret is write-only: never rendered, stored
    encrypted (services/webhooks.py)."""

    event_types = forms.MultipleChoiceField(choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple)
    chargers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only these chargers' events: charger ids, one per line (empty: every charger).",
    )
    new_secret = forms.CharField(
        required=False,
        strip=False,
        label="New secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The HMAC-SHA256 key receivers check X-OCPP-Signature with: 16-200 printable ASCII "
        "characters. Never shown; leave blank to keep the stored one.",
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "event_types", "chargers", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["new_secret"].required = True
            self.fields["new_secret"].help_text = (
                "The HMAC-SHA256 key receivers check X-OCPP-Signature with: 16-200 printable ASCII "
                "characters. Never shown again (the REST API can make one for you)."
            )
        self.initial["chargers"] = "\n".join(self.instance.chargers or [])

    def clean_chargers(self) -> list[str]:
        text = self.cleaned_data.get("chargers") or ""
        chargers = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
        validate_charger_ids(chargers)  # their form first, then whether they exist
        if (problem := webhooks.chargers_problem(chargers)) is not None:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return chargers

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data.get("new_secret") or ""
        if secret and (problem := webhooks.secret_problem(secret)) is not None:
            raise forms.ValidationError(problem[0].upper() + problem[1:] + ".")
        return secret


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookAdminForm
    list_display = ["id", "name", "url", "types", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    readonly_fields = ["created_at", "updated_at", "deliveries_link"]
    fields = ["name", "url", "event_types", "chargers", "active", "new_secret", "created_at", "updated_at"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return [*fields, "deliveries_link"] if obj is not None else fields

    def save_model(self, request, obj: Webhook, form, change) -> None:
        secret = form.cleaned_data.get("new_secret")
        if secret:
            webhooks.webhook_set_secret(obj, secret)
        super().save_model(request, obj, form, change)

    @admin.display(description="Event types")
    def types(self, obj: Webhook) -> str:
        return ", ".join(obj.event_types or [])

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: Webhook):
        url = reverse("admin:ocpp_app_delivery_changelist")
        return format_html('<a href="{}?webhook__id__exact={}">The delivery log</a>', url, obj.pk)


@admin.register(Delivery)
class DeliveryAdmin(ReportedRecordAdmin):
    """The delivery log: what was sent where, how often, the last answer.
    Read-only; "Retry now" makes the selected deliveries due at once."""

    list_display = [
        "id",
        "created_at",
        "event_type",
        "charger_id",
        "channel",
        "webhook",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt",
    ]
    list_filter = ["status", "channel", "event_type"]
    search_fields = ["=charger_id", "=uuid", "=event_id"]
    list_select_related = ["webhook"]
    show_full_result_count = False
    actions = ["retry_now"]

    @admin.display(description="next attempt at", ordering="next_attempt_at")
    def next_attempt(self, obj: Delivery):
        # A finished delivery has none (the column then holds a claim's end).
        return obj.next_attempt_at if obj.status == DeliveryStatus.PENDING else None

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("ocpp_app.change_delivery")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        count = deliveries_retry(pks=selected)
        skipped = len(selected) - count
        text = f"{count} deliver{'y' if count == 1 else 'ies'} will be sent again now."
        if skipped:
            text += f" {skipped} left alone (delivered already, or being sent)."
        self.message_user(request, text, messages.SUCCESS if count else messages.WARNING)
