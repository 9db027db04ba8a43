"""REST API of the chargers' certificates: what the CA issued (list, detail,
revoke), the CA's own certificate, a charger's certificates, and the
commands that need more than the generic action endpoint: a renewal
(ExtendedTriggerMessage SignChargePointCertificate) and InstallCertificate
from an uploaded PEM. GetInstalledCertificateIds and DeleteCertificate go
through the action endpoint; their answers are kept either way."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from ocpp_app import selectors
from ocpp_app.api import filters
from ocpp_app.api.views import (
    COMMAND_RESPONSES,
    Pagination,
    SafeParsersMixin,
    command_request_refused,
    command_response,
)
from ocpp_app.models import Charger, InstalledCertificate, IssuedCertificate, IssuedCertificateStatus
from ocpp_app.ocpp.commands import send_command
from ocpp_app.services import certificates
from ocpp_app.services.commands.certificates import CERTIFICATE_MAX_CHARS, ROOT_TYPES


class IssuedCertificateSerializer(serializers.ModelSerializer):
    charger_id = serializers.CharField(source="charger.charger_id", read_only=True)
    # Plain text in the schema: "status" names the RFID statuses' enum there.
    status = serializers.CharField(read_only=True, help_text="issued or revoked")
    expires_soon = serializers.SerializerMethodField()

    class Meta:
        model = IssuedCertificate
        fields = [
            "id",
            "charger_id",
            "serial",
            "subject",
            "not_before",
            "not_after",
            "status",
            "expires_soon",
            "revoked_at",
            "created_at",
            "csr",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_expires_soon(self, issued: IssuedCertificate) -> bool:
        return certificates.certificate_expires_soon(issued)


class IssuedCertificateDetailSerializer(IssuedCertificateSerializer):
    class Meta(IssuedCertificateSerializer.Meta):
        fields = [*IssuedCertificateSerializer.Meta.fields, "pem"]


class InstalledCertificateSerializer(serializers.ModelSerializer):
    class Meta:
        model = InstalledCertificate
        fields = [
            "certificate_type",
            "hash_algorithm",
            "issuer_name_hash",
            "issuer_key_hash",
            "serial_number",
            "reported_at",
        ]


class CASerializer(serializers.Serializer):
    generated = serializers.BooleanField(help_text="Made by this server (production should bring its own CA)")
    subject = serializers.CharField()
    not_after = serializers.DateTimeField()
    sha256 = serializers.CharField(help_text="SHA-256 fingerprint of the CA certificate")
    pem = serializers.CharField(help_text="The CA certificate (and its chain), public")


class InstallRequestSerializer(serializers.Serializer):
    certificate_type = serializers.ChoiceField(choices=ROOT_TYPES)
    certificate = serializers.CharField(
        required=False, trim_whitespace=False, help_text="The PEM certificate as text (or upload it as `file`)"
    )
    file = serializers.FileField(required=False, help_text="The PEM certificate as a file (multipart)")

    def validate(self, data):
        text = data.get("certificate")
        upload = data.get("file")
        if (text is None) == (upload is None):
            raise serializers.ValidationError({"certificate": ["give the PEM as `certificate` or as `file`"]})
        if upload is not None:
            raw = upload.read(CERTIFICATE_MAX_CHARS + 1)
            try:
                text = raw.decode("ascii")
            except UnicodeDecodeError:
                raise serializers.ValidationError({"file": ["not a PEM (ASCII) file"]}) from None
        if len(text) > CERTIFICATE_MAX_CHARS:
            raise serializers.ValidationError({"certificate": [f"longer than {CERTIFICATE_MAX_CHARS} characters"]})
        filters.clean_text(text, "certificate")
        # Line ends as PEM writes them: a browser's form sends a textarea's with CR LF.
        pem = text.replace("\r\n", "\n").strip() + "\n"
        return {"certificate_type": data["certificate_type"], "certificate": pem}


ISSUED_PARAMETERS = [
    OpenApiParameter("charger", OpenApiTypes.STR, description="Charger id"),
    OpenApiParameter("status", OpenApiTypes.STR, description="issued or revoked"),
    OpenApiParameter("expires_before", OpenApiTypes.DATETIME, description="Valid until before this time"),
]


@extend_schema(parameters=ISSUED_PARAMETERS)
class IssuedCertificateListView(generics.ListAPIView):
    """Certificates the CA issued to chargers, newest first."""

    pagination_class = Pagination
    serializer_class = IssuedCertificateSerializer

    def get_queryset(self):
        wanted = filters.text_param(self.request, "status")
        if wanted is not None and wanted not in IssuedCertificateStatus.values:
            raise serializers.ValidationError({"status": [f"use one of {', '.join(IssuedCertificateStatus.values)}"]})
        return selectors.issued_certificates_filtered(
            charger_id=filters.text_param(self.request, "charger"),
            status=wanted,
            expires_before=filters.datetime_param(self.request, "expires_before"),
        )


class IssuedCertificateDetailView(generics.RetrieveAPIView):
    """One issued certificate, with its PEM (the public certificate only)."""

    queryset = IssuedCertificate.objects.select_related("charger")
    serializer_class = IssuedCertificateDetailSerializer


class IssuedCertificateRevokeView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: IssuedCertificateSerializer,
            404: OpenApiResponse(description="Unknown certificate"),
            409: OpenApiResponse(description="Revoked already"),
        },
    )
    def post(self, request, pk: int):
        """Mark the certificate revoked."""
        try:
            issued = certificates.certificate_revoke(certificate_id=pk)
        except IssuedCertificate.DoesNotExist:
            return Response({"detail": "No such certificate."}, status=status.HTTP_404_NOT_FOUND)
        except certificates.NotRevocable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(IssuedCertificateSerializer(issued).data)


class CAView(APIView):
    @extend_schema(responses={200: CASerializer, 503: OpenApiResponse(description="The CA files do not work")})
    def get(self, request):
        """The CA that signs the chargers' certificates (public part only)."""
        try:
            info = certificates.ca_info()
        except certificates.CAUnavailable as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(CASerializer(info).data)


class ChargerCertificatesSerializer(serializers.Serializer):
    issued = IssuedCertificateSerializer(many=True)
    installed = InstalledCertificateSerializer(many=True)


class ChargerCertificatesView(APIView):
    @extend_schema(responses={200: ChargerCertificatesSerializer})
    def get(self, request, cid: str):
        """A charger's certificates: issued by the CA, and reported installed
        (the last GetInstalledCertificateIds and InstallCertificate answers)."""
        charger = get_object_or_404(Charger.objects.only("pk", "charger_id"), charger_id=cid)
        found = selectors.charger_certificates(charger)
        return Response(ChargerCertificatesSerializer(found).data)


class ChargerCertificateRenewView(APIView):
    @extend_schema(request=None, responses=COMMAND_RESPONSES)
    def post(self, request, cid: str):
        """Ask the charger for a new certificate: ExtendedTriggerMessage
        SignChargePointCertificate; the SignCertificate it then sends is
        signed and answered with CertificateSigned."""
        charger = get_object_or_404(Charger.objects.only("charger_id"), charger_id=cid)
        return command_response(
            send_command(
                charger_id=charger.charger_id,
                action="ExtendedTriggerMessage",
                payload={"requestedMessage": "SignChargePointCertificate"},
                user_id=request.user.pk,
                source="api",
            )
        )


class ChargerCertificateInstallView(SafeParsersMixin, APIView):
    parser_classes = [*SafeParsersMixin.parser_classes, MultiPartParser]

    @extend_schema(request=InstallRequestSerializer, responses=COMMAND_RESPONSES)
    def post(self, request, cid: str):
        """InstallCertificate of a root certificate (PEM text or uploaded
        file); a text that is not one CA certificate is refused before sending."""
        serializer = InstallRequestSerializer(data=request.data)
        if not serializer.is_valid():
            return command_request_refused(serializer.errors)
        charger = get_object_or_404(Charger.objects.only("charger_id"), charger_id=cid)
        data = serializer.validated_data
        return command_response(
            send_command(
                charger_id=charger.charger_id,
                action="InstallCertificate",
                payload={"certificateType": data["certificate_type"], "certificate": data["certificate"]},
                user_id=request.user.pk,
                source="api",
            )
        )
