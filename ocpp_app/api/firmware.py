"""Signed firmware over the REST API: the operator uploads a file for a
charger; the server keeps it under a random name, signs it and sends
SignedUpdateFirmware with its download URL (on the host the request came
to), answering with the charger's answer like the action endpoint."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.views import APIView

from ocpp_app.api.views import COMMAND_RESPONSES, command_request_refused, command_response
from ocpp_app.lib.timeparse import format_datetime_utc
from ocpp_app.models import Charger
from ocpp_app.ocpp.commands import send_command
from ocpp_app.services.commands.firmware import signed_update_payload
from ocpp_app.services.firmware import FirmwareError, firmware_signed, firmware_store, firmware_url


class SignedFirmwareRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The firmware image")
    retrieve_date_time = serializers.DateTimeField(required=False, help_text="When to download it (default: now)")
    install_date_time = serializers.DateTimeField(required=False, help_text="When to install it")
    retries = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    retry_interval = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)


class SignedFirmwareView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": SignedFirmwareRequestSerializer}, responses=COMMAND_RESPONSES)
    def post(self, request, cid: str):
        """Upload a firmware file and send SignedUpdateFirmware for it."""
        serializer = SignedFirmwareRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return command_request_refused(serializer.errors)
        charger = get_object_or_404(Charger.objects.only("charger_id"), charger_id=cid)
        data = serializer.validated_data
        try:
            signed = firmware_signed(firmware_store(data["file"].chunks()))
        except FirmwareError as exc:
            return command_request_refused({"file": [str(exc)]})
        options = {
            "retrieveDateTime": data.get("retrieve_date_time"),
            "installDateTime": data.get("install_date_time"),
        }
        payload = signed_update_payload(
            location=firmware_url(signed.name, request.build_absolute_uri("/")),
            signature=signed.signature,
            signing_certificate=signed.signing_certificate,
            **{key: format_datetime_utc(value) for key, value in options.items() if value is not None},
            **{
                key: data[field]
                for key, field in (("retries", "retries"), ("retryInterval", "retry_interval"))
                if field in data
            },
        )
        return command_response(
            send_command(
                charger_id=charger.charger_id,
                action="SignedUpdateFirmware",
                payload=payload,
                user_id=request.user.pk,
                source="api",
            )
        )
