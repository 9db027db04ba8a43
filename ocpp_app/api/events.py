"""REST API of what a charger reported: its status notifications and
security events, newest first, each security event flagged `critical` by
the whitepaper's list (lib/security_events.py)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404

from ocpp_app.api import filters
from ocpp_app.api.views import Pagination
from ocpp_app.models import Charger, ChargerEvent, ChargerEventKind
from ocpp_app.selectors.events import charger_events, event_is_critical

_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


class ChargerEventSerializer(serializers.ModelSerializer):
    critical = serializers.SerializerMethodField(help_text="A critical security event of the 1.6 whitepaper")

    class Meta:
        model = ChargerEvent
        fields = ["id", "kind", "status", "request_id", "payload", "timestamp", "received_at", "command", "critical"]

    def get_critical(self, event: ChargerEvent) -> bool:
        return event_is_critical(event)


def bool_param(request, name: str) -> bool | None:
    value = filters.text_param(request, name)
    if value is None:
        return None
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValidationError({name: ["expected 1 or 0 (true or false)"]})


@extend_schema(
    parameters=[
        OpenApiParameter(
            "kind", OpenApiTypes.STR, enum=ChargerEventKind.values, description="Only events of this kind"
        ),
        OpenApiParameter("critical", OpenApiTypes.BOOL, description="1: only critical security events; 0: the others"),
    ]
)
class ChargerEventListView(generics.ListAPIView):
    """A charger's events: diagnostics, firmware, signed firmware and log
    status notifications, security events (`critical` flagged)."""

    pagination_class = Pagination
    serializer_class = ChargerEventSerializer

    def get_queryset(self):
        charger = get_object_or_404(Charger.objects.only("pk"), charger_id=self.kwargs["cid"])
        kind = filters.text_param(self.request, "kind") or ""
        if kind and kind not in ChargerEventKind.values:
            raise ValidationError({"kind": [f"use one of {', '.join(ChargerEventKind.values)}"]})
        return charger_events(charger, kind=kind, critical=bool_param(self.request, "critical"))
