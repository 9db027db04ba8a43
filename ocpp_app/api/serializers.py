"""REST API representations. Field names are a contract with integrations:
snake_case, stable (see docs/api.md)."""

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ocpp_app.models import (
    RFID,
    Charger,
    Connector,
    LoadAllocation,
    MessageLog,
    MeterReading,
    RegistrationStatus,
    Transaction,
)
from ocpp_app.services.chargers import BOOT_IDENTITY_FIELDS, charger_set_password
from ocpp_app.services.commands import CSMS_ACTIONS
from ocpp_app.services.load import LOAD_FIELDS, LoadConfigError, charger_load_update
from ocpp_app.services.secrets import InvalidPassword, redact
from ocpp_app.web.exports import TRANSACTION_COLUMNS


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = ["connector_id", "status", "error_code", "info", "timestamp"]


class ActiveTransactionSerializer(serializers.ModelSerializer):
    transaction_id = serializers.IntegerField(source="pk", read_only=True)

    class Meta:
        model = Transaction
        fields = ["transaction_id", "connector_id", "id_tag", "meter_start", "start_time"]


class MessageSerializer(serializers.ModelSerializer):
    payload = serializers.SerializerMethodField()

    class Meta:
        model = MessageLog
        fields = ["direction", "action", "message_id", "payload", "timestamp"]

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_payload(self, message: MessageLog):
        # The log is written redacted already; rows written before that was so
        # are redacted here.
        return redact(message.action, message.payload)


class AllocationSerializer(serializers.ModelSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)
    transaction_id = serializers.IntegerField(read_only=True)
    circuit = serializers.IntegerField(source="circuit_id", read_only=True)
    bottleneck = serializers.IntegerField(source="bottleneck_id", read_only=True, allow_null=True)
    allocated = serializers.DecimalField(source="limit", max_digits=6, decimal_places=1, read_only=True)

    class Meta:
        model = LoadAllocation
        fields = [
            "charger_id",
            "connector_id",
            "transaction_id",
            "circuit",
            "allocated",
            "measured",
            "reason",
            "bottleneck",
            "state",
            "sent_limit",
            "confirmed_limit",
            "expires_at",
            "detail",
            "updated_at",
        ]
        read_only_fields = fields


class ChargerSerializer(serializers.ModelSerializer):
    connected = serializers.BooleanField(read_only=True)
    state = serializers.ChoiceField(choices=["online", "stale", "offline"], read_only=True)
    connectors = ConnectorSerializer(many=True, read_only=True)
    active_transactions = serializers.SerializerMethodField()
    load = serializers.SerializerMethodField()
    has_password = serializers.BooleanField(read_only=True)
    # Write-only: the Basic-auth password (AuthorizationKey) is stored hashed
    # and never returned. "" or null removes it.
    password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, allow_null=True, trim_whitespace=False
    )

    class Meta:
        model = Charger
        fields = [
            "charger_id",
            "name",
            "last_path",
            "registration_status",
            "security_profile",
            "connected",
            "state",
            "last_heartbeat",
            *BOOT_IDENTITY_FIELDS,
            "last_boot_at",
            "require_rfid",
            "config",
            "latitude",
            "longitude",
            "firmware_status",
            "diagnostics_status",
            "local_list_version",
            "connectors",
            "active_transactions",
            "has_password",
            "password",
            *LOAD_FIELDS,
            "load_control",
            "load_control_detail",
            "failsafe_limit",
            "load",
        ]
        read_only_fields = [
            "load_control",
            "load_control_detail",
            "failsafe_limit",
            "last_path",
            "last_heartbeat",
            *BOOT_IDENTITY_FIELDS,
            "last_boot_at",
            "firmware_status",
            "diagnostics_status",
            "local_list_version",
        ]

    @extend_schema_field(
        {"type": "array", "items": {"type": "object"}, "description": "the load manager's limit per active session"}
    )
    def get_load(self, charger: Charger) -> list[dict]:
        return AllocationSerializer(charger.allocations.select_related("charger"), many=True).data

    @extend_schema_field(ActiveTransactionSerializer(many=True))
    def get_active_transactions(self, charger: Charger) -> list[dict]:
        open_transactions = getattr(charger, "open_transactions", None)
        if open_transactions is None:
            open_transactions = charger.transactions.filter(stop_time__isnull=True).order_by("connector_id")
        return ActiveTransactionSerializer(open_transactions, many=True).data

    # charger_id, latitude and longitude are checked by the model fields'
    # validators (lib/validators.py), the same rules as the admin and the handshake.

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("config must be a JSON object")
        return value

    def create(self, validated_data):
        password = validated_data.pop("password", None)
        load_fields = self._load_fields(validated_data)
        with transaction.atomic():
            charger = super().create(validated_data)
            if load_fields:
                charger = self._set_load(charger, load_fields)
            if password:
                charger = self._set_password(charger, password)
        return charger

    @staticmethod
    def _load_fields(validated_data: dict) -> dict:
        return {name: validated_data.pop(name) for name in LOAD_FIELDS if name in validated_data}

    @staticmethod
    def _set_load(charger: Charger, fields: dict) -> Charger:
        """Its circuit and wiring: checked against the tree (services/load.py)."""
        try:
            return charger_load_update(charger=charger, fields=fields)
        except LoadConfigError as exc:
            raise serializers.ValidationError(exc.errors) from None

    def update(self, instance, validated_data):
        password_given = "password" in validated_data
        password = validated_data.pop("password", None)
        load_fields = self._load_fields(validated_data)
        with transaction.atomic():
            if load_fields:
                instance = self._set_load(instance, load_fields)
            for name, value in validated_data.items():
                setattr(instance, name, value)
            if validated_data:
                # Only what the operator sent: a full save would write back the
                # live state (connected, channel_name, ...) read before a
                # connect or disconnect that landed meanwhile.
                instance.save(update_fields=[*validated_data, "updated_at"])
            charger = instance
            if password_given:
                charger = self._set_password(charger, password)
        return charger

    @staticmethod
    def _set_password(charger: Charger, password: str | None) -> Charger:
        try:
            charger_set_password(charger_id=charger.charger_id, password=password)
        except InvalidPassword as exc:
            raise serializers.ValidationError({"password": [str(exc)]}) from None
        charger.refresh_from_db(fields=["password_hash"])
        return charger


class ChargerCreateSerializer(ChargerSerializer):
    """Pre-registration: the id is given once and never changes."""

    registration_status = serializers.ChoiceField(choices=RegistrationStatus.choices, required=False)


class ChargerUpdateSerializer(ChargerSerializer):
    class Meta(ChargerSerializer.Meta):
        read_only_fields = [*ChargerSerializer.Meta.read_only_fields, "charger_id"]


class ChargerDetailSerializer(ChargerUpdateSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(ChargerUpdateSerializer.Meta):
        fields = [*ChargerUpdateSerializer.Meta.fields, "messages"]

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, charger: Charger) -> list[dict]:
        limit = self.context.get("messages_limit", 50)
        rows = MessageLog.objects.filter(charger_id=charger.charger_id).order_by("-id")[:limit]
        return MessageSerializer(rows, many=True).data


class ActionRequestSerializer(serializers.Serializer):
    action = serializers.CharField(
        help_text=(
            "An OCPP 1.6J central-system action name ("
            + ", ".join(CSMS_ACTIONS)
            + "), its snake_case form, or a short alias: remote_stop, remote_start, reset, unlock, trigger."
        )
    )
    payload = serializers.DictField(
        required=False, default=dict, help_text="The CALL payload exactly as on the wire (camelCase)."
    )
    timeout = serializers.FloatField(
        required=False,
        min_value=0.1,
        max_value=300,
        help_text="Seconds to wait for the charger's answer (default and maximum: OCPP_CALL_TIMEOUT).",
    )


class ActionResponseSerializer(serializers.Serializer):
    command_id = serializers.IntegerField()
    action = serializers.CharField()
    request = serializers.DictField()
    response = serializers.DictField()
    transaction_id = serializers.IntegerField(
        required=False, allow_null=True, help_text="RemoteStartTransaction only: the transaction that followed."
    )


class ActionErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    command_id = serializers.IntegerField(required=False, allow_null=True)
    action = serializers.CharField(required=False)
    request = serializers.DictField(required=False)
    status = serializers.CharField(required=False)
    error_code = serializers.CharField(required=False)
    error_description = serializers.CharField(required=False)
    error_details = serializers.DictField(required=False, allow_null=True)


class RFIDSerializer(serializers.ModelSerializer):
    class Meta:
        model = RFID
        fields = ["id_tag", "status", "expiry_date", "parent_id_tag", "label"]


class RFIDUpdateSerializer(RFIDSerializer):
    class Meta(RFIDSerializer.Meta):
        read_only_fields = ["id_tag"]


class TransactionSerializer(serializers.ModelSerializer):
    transaction_id = serializers.IntegerField(source="pk", read_only=True)
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)

    class Meta:
        model = Transaction
        # The CSV export writes the same columns in the same order.
        fields = TRANSACTION_COLUMNS


class MeterReadingSerializer(serializers.ModelSerializer):
    transaction_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = MeterReading
        fields = [
            "transaction_id",
            "connector_id",
            "timestamp",
            "measurand",
            "phase",
            "unit",
            "context",
            "location",
            "format",
            "value",
        ]
