"""REST API of a charger's message log: the page's filters, search and
keyset cursors (web/log_filters.py reads the parameters for both), JSON."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ocpp_app import selectors
from ocpp_app.api.serializers import MessageSerializer
from ocpp_app.models import Charger, Direction
from ocpp_app.web.log_filters import API_LIMIT_MAX, SEARCH_MAX_CHARS, BadLogFilters, message_log_filters


class LogMessageSerializer(MessageSerializer):
    class Meta(MessageSerializer.Meta):
        fields = ["id", "message_type", *MessageSerializer.Meta.fields]


class MessageLogPageSerializer(serializers.Serializer):
    results = LogMessageSerializer(many=True)
    newer_cursor = serializers.IntegerField(allow_null=True, help_text="?after= of the next newer page (null: none)")
    older_cursor = serializers.IntegerField(allow_null=True, help_text="?before= of the next older page (null: none)")
    window_full = serializers.BooleanField(
        help_text="A search read its most messages for one page; the cursor past them searches further"
    )


MESSAGE_LOG_PARAMETERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description=f"Payload contains this text (any case, ≤{SEARCH_MAX_CHARS})"),
    OpenApiParameter("action", OpenApiTypes.STR, description="An OCPP 1.6 action, e.g. Heartbeat (any case)"),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=Direction.values),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="From this time (inclusive, ISO 8601, UTC)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Before this time (exclusive, ISO 8601, UTC)"),
    OpenApiParameter("before", OpenApiTypes.INT, description="Messages older than this id (a cursor)"),
    OpenApiParameter("after", OpenApiTypes.INT, description="Messages newer than this id (a cursor)"),
    OpenApiParameter("limit", OpenApiTypes.INT, description=f"Page size, 1-{API_LIMIT_MAX} (100)"),
]


class ChargerMessageLogView(APIView):
    """A charger's logged frames, newest first, a page at a time (keyset
    cursors). Kept for an id without a charger row too; 404 when there is
    neither a charger nor a message with the id."""

    @extend_schema(
        parameters=MESSAGE_LOG_PARAMETERS,
        responses={
            200: MessageLogPageSerializer,
            400: OpenApiResponse(description="A bad parameter: each one named with what it expects"),
            404: OpenApiResponse(description="Neither a charger nor a logged message with this id"),
        },
    )
    def get(self, request, cid: str):
        try:
            filters = message_log_filters(request.query_params, with_limit=True)
        except BadLogFilters as bad:
            if not self._known(cid):
                raise Http404 from None
            raise ValidationError({name: [reason] for name, reason in bad.errors.items()}) from None
        page = selectors.message_log_page(charger_id=cid, **filters)
        if not page.rows and not self._known(cid):
            raise Http404
        return Response(
            {
                "results": LogMessageSerializer(page.rows, many=True).data,
                "newer_cursor": page.newer_cursor,
                "older_cursor": page.older_cursor,
                "window_full": page.window_full,
            }
        )

    @staticmethod
    def _known(cid: str) -> bool:
        return Charger.objects.filter(charger_id=cid).exists() or bool(
            selectors.message_log_page(charger_id=cid, limit=1).rows
        )
