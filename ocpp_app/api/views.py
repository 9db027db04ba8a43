"""REST API views: thin; reads here, writes through serializers/services, and
commands through ocpp/commands.py."""

from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from ocpp_app import selectors
from ocpp_app.api import filters
from ocpp_app.api.serializers import (
    ActionErrorSerializer,
    ActionRequestSerializer,
    ActionResponseSerializer,
    ChargerCreateSerializer,
    ChargerDetailSerializer,
    ChargerSerializer,
    ChargerUpdateSerializer,
    MeterReadingSerializer,
    RFIDSerializer,
    RFIDUpdateSerializer,
    TransactionSerializer,
)
from ocpp_app.models import RFID, Charger, CommandStatus, Transaction
from ocpp_app.ocpp.commands import LAYER_UNAVAILABLE, send_command
from ocpp_app.services.charger_delete import ChargerConnected, ChargerHasData, charger_delete
from ocpp_app.services.commands import CommandResult
from ocpp_app.web.exports import transactions_csv_response


class SafeParsersMixin:
    parser_classes = [filters.SafeJSONParser]


class Pagination(LimitOffsetPagination):
    # Bounded: ?limit=10**20 must be a page, not a database error.
    max_limit = 1000


def chargers_with_live_state():
    return Charger.objects.prefetch_related(
        "connectors",
        Prefetch(
            "transactions",
            queryset=Transaction.objects.filter(stop_time__isnull=True).order_by("connector_id"),
            to_attr="open_transactions",
        ),
    )


class ChargerListView(SafeParsersMixin, generics.ListCreateAPIView):
    """Chargers with their live state; POST pre-registers a charger."""

    pagination_class = Pagination

    queryset = chargers_with_live_state()

    def get_serializer_class(self):
        return ChargerCreateSerializer if self.request.method == "POST" else ChargerSerializer

    def perform_create(self, serializer):
        serializer.save()
        # Answer with the full representation (connectors, live state).
        serializer.instance = chargers_with_live_state().get(pk=serializer.instance.pk)


class ChargerDetailView(SafeParsersMixin, generics.RetrieveUpdateAPIView):
    """One charger with its recent message log; PATCH edits the operator's
    settings (require_rfid, registration_status, latitude/longitude, config,
    name, and the write-only Basic-auth password); DELETE deletes it
    (services/charger_delete.py)."""

    queryset = chargers_with_live_state()
    lookup_field = "charger_id"
    lookup_url_kwarg = "cid"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "data",
                OpenApiTypes.STR,
                enum=["keep", "remove"],
                description="keep (default): refuse (409) while the charger has sessions or meter readings, "
                "which the database deletes with it; remove: delete them with it",
            ),
            OpenApiParameter(
                "force", OpenApiTypes.BOOL, description="true: delete it even while connected (its socket is closed)"
            ),
        ],
        responses={
            200: inline_serializer(
                "ChargerDeleted",
                {
                    "charger_id": serializers.CharField(),
                    "certificates_revoked": serializers.IntegerField(),
                    "was_connected": serializers.BooleanField(),
                    "deleted": serializers.DictField(
                        child=serializers.IntegerField(), help_text="Rows deleted with it, by kind"
                    ),
                },
            ),
            409: OpenApiResponse(
                inline_serializer(
                    "ChargerDeleteRefused",
                    {
                        "detail": serializers.CharField(),
                        "status": serializers.ChoiceField(choices=["connected", "has_data"]),
                        "transactions": serializers.IntegerField(required=False),
                        "meter_readings": serializers.IntegerField(required=False),
                    },
                ),
                description="Connected (without force), or has data (without data=remove)",
            ),
        },
    )
    def delete(self, request, cid: str):
        data = filters.text_param(request, "data") or "keep"
        if data not in ("keep", "remove"):
            raise ValidationError({"data": ["expected keep or remove"]})
        force = filters.text_param(request, "force") or "false"
        if force.lower() not in ("1", "true", "yes", "0", "false", "no"):
            raise ValidationError({"force": ["expected true or false (1 or 0)"]})
        try:
            done = charger_delete(
                charger_id=cid, remove_data=data == "remove", force=force.lower() in ("1", "true", "yes")
            )
        except Charger.DoesNotExist:
            raise NotFound("No Charger matches the given query.") from None
        except ChargerConnected:
            detail = "The charger is connected; add force=true to delete it anyway (its socket is closed)"
            return Response({"detail": detail, "status": "connected"}, status=status.HTTP_409_CONFLICT)
        except ChargerHasData as kept:
            detail = (
                f"The charger has {kept.transactions} session(s) and {kept.meter_readings} meter reading(s), "
                "which are deleted with it: add data=remove to delete them too"
            )
            body = {"transactions": kept.transactions, "meter_readings": kept.meter_readings}
            return Response({"detail": detail, "status": "has_data", **body}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "charger_id": done.charger_id,
                "certificates_revoked": done.certificates_revoked,
                "was_connected": done.was_connected,
                "deleted": done.deleted,
            }
        )

    def get_serializer_class(self):
        return ChargerDetailSerializer if self.request.method in ("GET", "HEAD") else ChargerUpdateSerializer

    def get_serializer_context(self):
        context = super().get_serializer_context()
        limit = filters.int_param(self.request, "messages") if self.request.method == "GET" else None
        context["messages_limit"] = max(0, min(limit if limit is not None else 50, 500))
        return context

    def perform_update(self, serializer):
        serializer.save()
        serializer.instance = chargers_with_live_state().get(pk=serializer.instance.pk)


# HTTP status per command outcome (docs/api.md).
_OUTCOME_HTTP = {
    CommandStatus.OK: status.HTTP_200_OK,
    CommandStatus.NOT_CONNECTED: status.HTTP_409_CONFLICT,
    CommandStatus.CALL_ERROR: status.HTTP_502_BAD_GATEWAY,
    "invalid_response": status.HTTP_502_BAD_GATEWAY,
    CommandStatus.TIMEOUT: status.HTTP_504_GATEWAY_TIMEOUT,
    CommandStatus.INVALID: status.HTTP_400_BAD_REQUEST,
}
_OUTCOME_DETAIL = {
    CommandStatus.NOT_CONNECTED: "Charger is not connected",
    CommandStatus.CALL_ERROR: "Charger answered with a CALLERROR",
    "invalid_response": "Charger answered with a payload that fails the OCPP schema",
    CommandStatus.TIMEOUT: "Charger did not answer in time",
    CommandStatus.INVALID: "Payload refused before sending",
}


# What every endpoint that sends a command answers (command_response).
COMMAND_RESPONSES = {
    200: ActionResponseSerializer,
    400: OpenApiResponse(ActionErrorSerializer, description="Refused before sending"),
    404: OpenApiResponse(ActionErrorSerializer, description="Unknown charger"),
    409: OpenApiResponse(ActionErrorSerializer, description="Charger not connected"),
    502: OpenApiResponse(ActionErrorSerializer, description="CALLERROR or invalid answer"),
    504: OpenApiResponse(ActionErrorSerializer, description="No answer in time"),
}


class ChargerActionView(SafeParsersMixin, APIView):
    """Send one OCPP CALL to the charger and answer with the charger's reply."""

    @extend_schema(
        request=ActionRequestSerializer,
        responses={
            **COMMAND_RESPONSES,
            400: OpenApiResponse(ActionErrorSerializer, description="Unknown action or schema violation"),
        },
        examples=[
            OpenApiExample("Reset (soft)", value={"action": "reset"}, request_only=True),
            OpenApiExample("Stop the active transaction", value={"action": "remote_stop"}, request_only=True),
            OpenApiExample(
                "Remote start",
                value={"action": "RemoteStartTransaction", "payload": {"connectorId": 1, "idTag": "TAG1"}},
                request_only=True,
            ),
        ],
    )
    def post(self, request, cid: str):
        serializer = ActionRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        charger = get_object_or_404(Charger.objects.only("charger_id"), charger_id=cid)
        data = serializer.validated_data
        result = send_command(
            charger_id=charger.charger_id,
            action=data["action"],
            payload=data.get("payload") or {},
            user_id=request.user.pk,
            source="api",
            timeout=data.get("timeout"),
        )
        return command_response(result)


def command_request_refused(errors: dict) -> Response:
    """A command request whose fields do not validate, answered as every
    command refusal is (`{"detail": ...}`, 400): the first field and why."""
    field, messages = next(iter(errors.items()))
    reason = messages[0] if isinstance(messages, list) and messages else messages
    return Response({"detail": f"{field}: {reason}"}, status=status.HTTP_400_BAD_REQUEST)


def command_response(result: CommandResult) -> Response:
    """The HTTP answer to an operator command, whichever endpoint sent it."""
    if result.refused:
        return Response(
            {
                "detail": result.error_description,
                "command_id": result.command_id,
                "action": result.action,
                "status": result.status,
                "error_code": result.error_code,
                "error_details": result.error_details,
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    body = {"command_id": result.command_id, "action": result.action, "request": result.request}
    if result.ok:
        body["response"] = result.response
        if result.reports_transaction:
            body["transaction_id"] = result.transaction_id
        return Response(body)
    body.update(detail=_OUTCOME_DETAIL.get(result.status, result.status), status=result.status)
    if result.error_code:
        body.update(
            error_code=result.error_code,
            error_description=result.error_description,
            error_details=result.error_details,
        )
    if result.error_code == LAYER_UNAVAILABLE:
        # Not the charger's doing: this node cannot reach the others now.
        body["detail"] = "The command could not be delivered: the channel layer is unreachable; try again"
        response = Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
        response._has_been_logged = True  # ocpp/commands.py said so, once per outage of the layer
        return response
    response = Response(body, status=_OUTCOME_HTTP.get(result.status, status.HTTP_502_BAD_GATEWAY))
    # A CALLERROR or a time-out is the charger's outcome, logged as a warning
    # about the charger (ocpp/commands.py), not as django.request's server error.
    response._has_been_logged = True
    return response


class RFIDListView(SafeParsersMixin, generics.ListCreateAPIView):
    pagination_class = Pagination
    queryset = RFID.objects.all()
    serializer_class = RFIDSerializer


class RFIDDetailView(SafeParsersMixin, generics.RetrieveUpdateDestroyAPIView):
    queryset = RFID.objects.all()
    lookup_field = "id_tag"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_serializer_class(self):
        return RFIDSerializer if self.request.method in ("GET", "HEAD") else RFIDUpdateSerializer


@extend_schema(parameters=filters.TRANSACTION_PARAMETERS)
class TransactionListView(generics.ListAPIView):
    """Transactions, newest first; energy in Wh."""

    pagination_class = Pagination

    serializer_class = TransactionSerializer

    def get_queryset(self):
        return selectors.transactions_filtered(**filters.transaction_filters(self.request))


class TransactionExportView(APIView):
    """All matching transactions as CSV (same filters as the list)."""

    @extend_schema(
        parameters=filters.TRANSACTION_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, 400: OpenApiResponse(description="Bad filter")},
    )
    def get(self, request):
        queryset = selectors.transactions_filtered(**filters.transaction_filters(request))
        return transactions_csv_response(queryset, filename="transactions.csv")


@extend_schema(parameters=filters.METER_READING_PARAMETERS)
class MeterReadingListView(generics.ListAPIView):
    """A charger's meter readings in time order."""

    pagination_class = Pagination

    serializer_class = MeterReadingSerializer

    def get_queryset(self):
        charger = get_object_or_404(Charger.objects.only("pk"), charger_id=self.kwargs["cid"])
        return selectors.meter_readings_filtered(charger, **filters.meter_reading_filters(self.request))
