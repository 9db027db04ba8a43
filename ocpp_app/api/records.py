"""REST API of what is on record beside chargers and sessions, read-only:
reservations, commands with their outcomes (payloads redacted), charging
profiles, a charger's connector status history, security events across
chargers, and one transaction with a summary of its meter readings. The
query parameters are the record pages' own (web/records.py reads them for
both); a bad one is a 400 naming it."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from ocpp_app.api.events import ChargerEventSerializer
from ocpp_app.api.serializers import TransactionSerializer
from ocpp_app.api.views import Pagination
from ocpp_app.lib.limits import INT32_MAX
from ocpp_app.models import (
    Charger,
    ChargingProfileRecord,
    Command,
    CommandStatus,
    Reservation,
    StatusNotificationRecord,
)
from ocpp_app.selectors import records
from ocpp_app.web.records import (
    CHARGING_PROFILE_FILTERS,
    COMMAND_FILTERS,
    RESERVATION_FILTERS,
    SECURITY_EVENT_FILTERS,
    STATUS_HISTORY_FILTERS,
    BadRecordFilters,
    Param,
    record_filters,
    shown_command,
)

_TYPES = {
    "text": OpenApiTypes.STR,
    "choice": OpenApiTypes.STR,
    "action": OpenApiTypes.STR,
    "datetime": OpenApiTypes.DATETIME,
    "whole": OpenApiTypes.INT,
    "flag": OpenApiTypes.BOOL,
}


def parameters(spec: tuple[Param, ...]) -> list[OpenApiParameter]:
    """The OpenAPI description of a record list's query parameters."""
    return [
        OpenApiParameter(param.name, _TYPES[param.kind], description=param.description, enum=param.choices or None)
        for param in spec
    ]


def filters_of(request, spec: tuple[Param, ...]) -> dict:
    try:
        return record_filters(request.query_params, spec)
    except BadRecordFilters as bad:
        raise ValidationError({name: [reason] for name, reason in bad.errors.items()}) from None


def _in_range(pk: int) -> int:
    # An id beyond the integer column is no row, never a database error.
    if pk > INT32_MAX:
        raise NotFound
    return pk


# -- serializers ---------------------------------------------------------------------------


# Inline, not a component: a component would take the name of RFID's status enum.
@extend_schema_field({"type": "string", "enum": list(CommandStatus.values), "description": "The outcome"})
class CommandStatusField(serializers.CharField):
    pass


class ReservationSerializer(serializers.ModelSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)
    status = serializers.CharField(
        source="current_status",
        read_only=True,
        help_text="As the charger answered ReserveNow, or Cancelled, Used, "
        "Expired (a held reservation past its expiry date)",
    )
    transaction_id = serializers.IntegerField(read_only=True, allow_null=True, help_text="The session that used it")

    class Meta:
        model = Reservation
        fields = [
            "id",
            "reservation_id",
            "charger_id",
            "connector_id",
            "id_tag",
            "parent_id_tag",
            "expiry_date",
            "status",
            "transaction_id",
            "created_at",
        ]


class CommandSerializer(serializers.ModelSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)
    request = serializers.SerializerMethodField()
    response = serializers.SerializerMethodField()
    created_by = serializers.SerializerMethodField()
    status = CommandStatusField(read_only=True)
    event_count = serializers.IntegerField(read_only=True, help_text="Status notifications linked to it")

    class Meta:
        model = Command
        fields = [
            "id",
            "charger_id",
            "action",
            "status",
            "request",
            "response",
            "error_code",
            "error_description",
            "message_id",
            "source",
            "created_by",
            "created_at",
            "duration_ms",
            "event_count",
        ]

    @extend_schema_field(serializers.JSONField(help_text="The CALL payload as sent, secrets redacted"))
    def get_request(self, command: Command):
        return shown_command(command).shown_request

    @extend_schema_field(serializers.JSONField(allow_null=True, help_text="The charger's answer, secrets redacted"))
    def get_response(self, command: Command):
        return shown_command(command).shown_response

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The operator's user name"))
    def get_created_by(self, command: Command) -> str | None:
        return command.created_by.get_username() if command.created_by else None


class CommandDetailSerializer(CommandSerializer):
    events = serializers.SerializerMethodField()

    class Meta(CommandSerializer.Meta):
        fields = [*CommandSerializer.Meta.fields, "events"]

    @extend_schema_field(ChargerEventSerializer(many=True))
    def get_events(self, command: Command) -> list[dict]:
        return ChargerEventSerializer(command.linked_events, many=True).data


class ChargingProfileSerializer(serializers.ModelSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = ChargingProfileRecord
        fields = [
            "id",
            "charger_id",
            "connector_id",
            "charging_profile_id",
            "stack_level",
            "purpose",
            "kind",
            "profile",
            "status",
            "in_force",
            "created_at",
            "cleared_at",
        ]

    def get_in_force(self, record: ChargingProfileRecord) -> bool:
        return record.cleared_at is None


class StatusRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = StatusNotificationRecord
        fields = [
            "id",
            "connector_id",
            "status",
            "error_code",
            "info",
            "vendor_id",
            "vendor_error_code",
            "timestamp",
            "received_at",
        ]


class SecurityEventSerializer(ChargerEventSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)

    class Meta(ChargerEventSerializer.Meta):
        fields = ["id", "charger_id", *ChargerEventSerializer.Meta.fields[1:]]


class ReadingSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField()
    first_timestamp = serializers.DateTimeField(allow_null=True)
    last_timestamp = serializers.DateTimeField(allow_null=True)
    measurands = serializers.ListField(child=serializers.CharField())


class TransactionDetailSerializer(TransactionSerializer):
    active = serializers.BooleanField(source="is_active", read_only=True)
    energy_so_far_wh = serializers.FloatField(
        read_only=True, allow_null=True, help_text="Stored energy once stopped, else the latest register reading"
    )
    power_w = serializers.FloatField(read_only=True, allow_null=True, help_text="Latest active power reading")
    meter_readings = serializers.SerializerMethodField()

    class Meta(TransactionSerializer.Meta):
        fields = [
            *TransactionSerializer.Meta.fields,
            "active",
            "id_tag_status",
            "stop_id_tag",
            "reservation_id",
            "stopped_by_server",
            "energy_so_far_wh",
            "power_w",
            "meter_readings",
        ]

    @extend_schema_field(ReadingSummarySerializer)
    def get_meter_readings(self, tx) -> dict:
        return ReadingSummarySerializer(records.transaction_reading_summary(tx)).data


# -- views ---------------------------------------------------------------------------------


@extend_schema(parameters=parameters(RESERVATION_FILTERS))
class ReservationListView(generics.ListAPIView):
    """Reservations (ReserveNow), newest first, with their status now."""

    pagination_class = Pagination
    serializer_class = ReservationSerializer

    def get_queryset(self):
        return records.reservations_filtered(**filters_of(self.request, RESERVATION_FILTERS))


class ReservationDetailView(APIView):
    """One reservation (its row id, not the OCPP reservationId)."""

    @extend_schema(responses={200: ReservationSerializer})
    def get(self, request, pk: int):
        found = records.reservation_get(_in_range(pk))
        if found is None:
            raise NotFound("No Reservation matches the given query.")
        return Response(ReservationSerializer(found).data)


@extend_schema(parameters=parameters(COMMAND_FILTERS))
class CommandListView(generics.ListAPIView):
    """Commands sent to chargers (and refused before sending), newest first,
    with their outcome; payloads redacted."""

    pagination_class = Pagination
    serializer_class = CommandSerializer

    def get_queryset(self):
        return records.commands_filtered(**filters_of(self.request, COMMAND_FILTERS))


class CommandDetailView(APIView):
    """One command with the status notifications linked to it (firmware,
    diagnostics and log uploads report their progress that way)."""

    @extend_schema(responses={200: CommandDetailSerializer})
    def get(self, request, pk: int):
        found = records.command_get(_in_range(pk))
        if found is None:
            raise NotFound("No Command matches the given query.")
        return Response(CommandDetailSerializer(found).data)


@extend_schema(parameters=parameters(CHARGING_PROFILE_FILTERS))
class ChargingProfileListView(generics.ListAPIView):
    """Charging profiles sent (SetChargingProfile), newest first: in force,
    or cleared (with when)."""

    pagination_class = Pagination
    serializer_class = ChargingProfileSerializer

    def get_queryset(self):
        return records.charging_profiles_filtered(**filters_of(self.request, CHARGING_PROFILE_FILTERS))


@extend_schema(parameters=parameters(STATUS_HISTORY_FILTERS))
class StatusHistoryView(generics.ListAPIView):
    """A charger's StatusNotifications as received, newest first."""

    pagination_class = Pagination
    serializer_class = StatusRecordSerializer

    def get_queryset(self):
        charger = get_object_or_404(Charger.objects.only("pk"), charger_id=self.kwargs["cid"])
        return records.status_history(charger, **filters_of(self.request, STATUS_HISTORY_FILTERS))


@extend_schema(parameters=parameters(SECURITY_EVENT_FILTERS))
class SecurityEventListView(generics.ListAPIView):
    """SecurityEventNotifications of every charger, newest first, each
    flagged `critical` by the 1.6 Security Whitepaper's list."""

    pagination_class = Pagination
    serializer_class = SecurityEventSerializer

    def get_queryset(self):
        return records.security_events_filtered(**filters_of(self.request, SECURITY_EVENT_FILTERS))


class TransactionDetailView(APIView):
    """One transaction with its live values and a summary of its meter
    readings (the readings themselves: /ocpp/chargers/<id>/meter-readings/?transaction=<id>)."""

    @extend_schema(
        responses={200: TransactionDetailSerializer, 404: OpenApiResponse(description="No such transaction")}
    )
    def get(self, request, pk: int):
        tx = records.transaction_get(_in_range(pk))
        if tx is None:
            raise NotFound("No Transaction matches the given query.")
        return Response(TransactionDetailSerializer(tx).data)
