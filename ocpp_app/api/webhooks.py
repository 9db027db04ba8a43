"""REST API of alerts: webhooks (list, create, detail, update, delete),
each one's deliveries, and a test event (ping). The secret is write-only:
given or generated on create, shown in that one answer, never again
(docs/alerts.md)."""

import orjson
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from ocpp_app.api import filters
from ocpp_app.api.views import Pagination, SafeParsersMixin
from ocpp_app.lib.alerts import EVENT_TYPES, URL_MAX_LENGTH, event_types_problem
from ocpp_app.models import Delivery, DeliveryStatus, Webhook
from ocpp_app.models.webhooks import MAX_CHARGERS, validate_charger_ids, validate_webhook_url
from ocpp_app.services import webhooks


class EventTypesField(serializers.ListField):
    child = serializers.CharField(max_length=40)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if (problem := event_types_problem(values)) is not None:
            raise ValidationError(problem[0].upper() + problem[1:] + ".")
        return list(dict.fromkeys(values))


class WebhookSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        max_length=URL_MAX_LENGTH, validators=[validate_webhook_url], help_text="http:// or https:// address"
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        help_text="The HMAC-SHA256 key of X-OCPP-Signature (16-200 printable characters); "
        "left out on create, one is made. Never shown again.",
    )
    event_types = EventTypesField(help_text=f"Any of {', '.join(EVENT_TYPES)}")
    chargers = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=MAX_CHARGERS,
        validators=[validate_charger_ids],
        help_text="Only these chargers' events; empty: every charger",
    )

    class Meta:
        model = Webhook
        fields = ["id", "name", "url", "secret", "event_types", "chargers", "active", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]

    def validate_chargers(self, value: list[str]) -> list[str]:
        if (problem := webhooks.chargers_problem(value)) is not None:
            raise ValidationError(problem[0].upper() + problem[1:] + ".")
        return list(dict.fromkeys(value))

    def validate_secret(self, value: str) -> str:
        if (problem := webhooks.secret_problem(value)) is not None:
            raise ValidationError(problem[0].upper() + problem[1:] + ".")
        return value

    def create(self, validated_data):
        secret = validated_data.pop("secret", None)
        webhook = Webhook(**validated_data)
        self.secret_shown = webhooks.webhook_set_secret(webhook, secret)
        webhook.save()
        return webhook

    def update(self, instance, validated_data):
        secret = validated_data.pop("secret", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        changed = [*validated_data, "updated_at"]
        if secret is not None:
            webhooks.webhook_set_secret(instance, secret)
            changed.append("secret")
        # Only what was sent: a full save of the row read at the request's
        # start could undo what a sender wrote since (a 410 disabling it).
        instance.save(update_fields=changed)
        return instance


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The secret, in this answer only: keep it now")

    class Meta(WebhookSerializer.Meta):
        pass


class DeliverySerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True, help_text="X-OCPP-Delivery")
    payload = serializers.SerializerMethodField()
    next_attempt_at = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "charger_id",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "created_at",
            "updated_at",
            "finished_at",
            "payload",
        ]

    @extend_schema_field({"type": "object", "description": "The JSON body sent"})
    def get_payload(self, delivery: Delivery) -> dict:
        return orjson.loads(delivery.body)

    @extend_schema_field(
        {"type": "string", "format": "date-time", "nullable": True, "description": "None once finished"}
    )
    def get_next_attempt_at(self, delivery: Delivery):
        if delivery.status != DeliveryStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class WebhookListView(SafeParsersMixin, generics.ListCreateAPIView):
    """Webhooks: where charger events are POSTed, signed with each one's secret."""

    queryset = Webhook.objects.all().order_by("id")
    serializer_class = WebhookSerializer
    pagination_class = Pagination

    @extend_schema(responses={201: WebhookCreatedSerializer})
    def post(self, request, *args, **kwargs):
        """Create a webhook; the answer holds its secret, once."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response({**serializer.data, "secret": serializer.secret_shown}, status=status.HTTP_201_CREATED)


class WebhookDetailView(SafeParsersMixin, generics.RetrieveUpdateDestroyAPIView):
    """One webhook (its secret is never shown); DELETE removes its deliveries too."""

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer


@extend_schema(
    parameters=[
        OpenApiParameter(
            "status", OpenApiTypes.STR, enum=DeliveryStatus.values, description="Only deliveries in this state"
        )
    ]
)
class WebhookDeliveryListView(generics.ListAPIView):
    """A webhook's deliveries, newest first: the event, the attempts, the
    last answer or error, when the next attempt is due."""

    pagination_class = Pagination
    serializer_class = DeliverySerializer

    def get_queryset(self):
        webhook = get_object_or_404(Webhook.objects.only("pk"), pk=self.kwargs["pk"])
        deliveries = Delivery.objects.filter(webhook=webhook).order_by("-id")
        state = filters.text_param(self.request, "status")
        if state is not None:
            if state not in DeliveryStatus.values:
                raise ValidationError({"status": [f"use one of {', '.join(DeliveryStatus.values)}"]})
            deliveries = deliveries.filter(status=state)
        return deliveries


class WebhookPingView(APIView):
    @extend_schema(
        request=None,
        responses={
            202: DeliverySerializer,
            400: OpenApiResponse(description="The webhook is not active"),
            404: OpenApiResponse(description="Unknown webhook"),
        },
    )
    def post(self, request, pk: int):
        """Queue a test event (webhook.ping) for this webhook, whatever it subscribes to."""
        webhook = get_object_or_404(Webhook, pk=pk)
        try:
            delivery = webhooks.webhook_ping(webhook=webhook)
        except webhooks.WebhookError as error:
            raise ValidationError(error.errors) from None
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
