"""Admin actions that send commands to chargers. They go through the same
command path as the REST API (ocpp/commands.py: validated, recorded as a
Command, one CALL at a time) and show the charger's answer to the operator."""

from django.conf import settings
from django.contrib import admin, messages

from ocpp_app.models import Connector
from ocpp_app.ocpp.commands import send_command
from ocpp_app.services.commands import CommandResult

# The admin waits for each charger in turn: keep a slow one from holding the
# page for long.
ADMIN_TIMEOUT_CAP = 30.0


def _report(modeladmin, request, charger_id: str, result: CommandResult) -> None:
    if result.refused:
        text = f"{charger_id}: {result.error_description}"
        level = messages.WARNING
    elif result.ok:
        answer = (result.response or {}).get("status")
        text = f"{charger_id}: {result.action} answered {answer or result.response}"
        if result.transaction_id:
            text += f" (transaction {result.transaction_id})"
        level = messages.SUCCESS if answer in (None, "Accepted", "Unlocked", "Scheduled") else messages.WARNING
    elif result.status == "call_error":
        text = f"{charger_id}: {result.action} failed: {result.error_code} {result.error_description}".strip()
        level = messages.ERROR
    elif result.status == "timeout":
        text = f"{charger_id}: {result.action}: no answer in time"
        level = messages.ERROR
    elif result.status == "not_connected":
        text = f"{charger_id}: not connected"
        level = messages.WARNING
    else:
        text = f"{charger_id}: {result.action}: {result.status} {result.error_description}".strip()
        level = messages.ERROR
    modeladmin.message_user(request, text, level)


def _run(modeladmin, request, queryset, action: str, payload_for=None) -> None:
    timeout = min(float(settings.OCPP_CALL_TIMEOUT), ADMIN_TIMEOUT_CAP)
    for charger in queryset.only("charger_id"):
        payloads = payload_for(charger) if payload_for else [{}]
        for payload in payloads:
            result = send_command(
                charger_id=charger.charger_id,
                action=action,
                payload=payload,
                user_id=request.user.pk,
                source="admin",
                timeout=timeout,
            )
            _report(modeladmin, request, charger.charger_id, result)


@admin.action(description="Remote stop the active transaction")
def remote_stop(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "remote_stop")


@admin.action(description="Reset (soft)")
def reset_soft(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "reset", lambda charger: [{"type": "Soft"}])


@admin.action(description="Reset (hard)")
def reset_hard(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "reset", lambda charger: [{"type": "Hard"}])


def _connector_ids(charger) -> list[int]:
    ids = sorted(Connector.objects.filter(charger=charger, connector_id__gt=0).values_list("connector_id", flat=True))
    return ids or [1]


@admin.action(description="Unlock connectors")
def unlock_connectors(modeladmin, request, queryset):
    _run(
        modeladmin,
        request,
        queryset,
        "UnlockConnector",
        lambda charger: [{"connectorId": connector_id} for connector_id in _connector_ids(charger)],
    )


@admin.action(description="Change availability: Operative")
def make_operative(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "ChangeAvailability", lambda charger: [{"connectorId": 0, "type": "Operative"}])


@admin.action(description="Change availability: Inoperative")
def make_inoperative(modeladmin, request, queryset):
    _run(
        modeladmin, request, queryset, "ChangeAvailability", lambda charger: [{"connectorId": 0, "type": "Inoperative"}]
    )


@admin.action(description="Trigger a status report (StatusNotification)")
def trigger_status(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "TriggerMessage", lambda charger: [{"requestedMessage": "StatusNotification"}])


@admin.action(description="Fetch configuration (GetConfiguration)")
def fetch_configuration(modeladmin, request, queryset):
    _run(modeladmin, request, queryset, "GetConfiguration")


CHARGER_ADMIN_ACTIONS: list = [
    remote_stop,
    reset_soft,
    reset_hard,
    unlock_connectors,
    make_operative,
    make_inoperative,
    trigger_status,
    fetch_configuration,
]
