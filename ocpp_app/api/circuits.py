"""REST API of site load management: the circuit tree (list, create,
detail with the live allocation, update, delete). A charger's own load
settings (its circuit, phases, minimum and maximum current, priority) are
fields of the charger resource (serializers.ChargerSerializer)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from ocpp_app.api.serializers import AllocationSerializer
from ocpp_app.api.views import Pagination, SafeParsersMixin
from ocpp_app.models import Circuit, CircuitSchedule
from ocpp_app.services import load


class CircuitScheduleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CircuitSchedule
        fields = ["days", "start", "end", "max_current"]


class ChargerIdsField(serializers.ListField):
    """The ids of a circuit's chargers: written as a list, read from the relation."""

    child = serializers.CharField(max_length=100)

    def to_representation(self, chargers):
        return sorted(chargers.values_list("charger_id", flat=True))


class CircuitSerializer(serializers.ModelSerializer):
    parent = serializers.PrimaryKeyRelatedField(queryset=Circuit.objects.all(), allow_null=True, required=False)
    chargers = ChargerIdsField(
        required=False,
        help_text="Ids of the chargers attached to this circuit (the whole list)",
    )
    schedule = CircuitScheduleSerializer(many=True, required=False)

    class Meta:
        model = Circuit
        fields = ["id", "name", "max_current", "phases", "phase", "voltage", "parent", "chargers", "schedule"]

    def _write(self, circuit, validated_data):
        chargers = validated_data.pop("chargers", None)
        schedule = validated_data.pop("schedule", None)
        if "parent" in validated_data:
            parent = validated_data.pop("parent")
            validated_data["parent_id"] = parent.pk if parent is not None else None
        try:
            return load.circuit_write(circuit=circuit, fields=validated_data, chargers=chargers, schedule=schedule)
        except load.LoadConfigError as error:
            raise serializers.ValidationError(error.errors) from None

    def create(self, validated_data):
        return self._write(None, validated_data)

    def update(self, instance, validated_data):
        return self._write(instance, validated_data)


class CircuitDetailSerializer(CircuitSerializer):
    live = serializers.SerializerMethodField()

    class Meta(CircuitSerializer.Meta):
        fields = [*CircuitSerializer.Meta.fields, "live"]

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "limit": {"type": "string", "description": "the limit in force now (A per phase)"},
                "phases": {"type": "object", "description": "per phase: allocated and measured A below the circuit"},
                "sessions": {"type": "array", "items": {"type": "object"}},
            },
        }
    )
    def get_live(self, circuit):
        live = load.circuit_live(circuit)
        return {
            "limit": str(live["limit"]),
            "phases": live["phases"],
            "sessions": AllocationSerializer(live["sessions"], many=True).data,
        }


class CircuitListView(SafeParsersMixin, generics.ListCreateAPIView):
    """The circuit tree: a site's main supply, feeders, sub-circuits."""

    queryset = Circuit.objects.all().order_by("name")
    serializer_class = CircuitSerializer
    pagination_class = Pagination


class CircuitDetailView(SafeParsersMixin, generics.RetrieveUpdateDestroyAPIView):
    """One circuit with its live allocation: per active session the charger,
    connector, transaction, allocated and measured current. DELETE refuses a
    circuit with sub-circuits and detaches its chargers."""

    queryset = Circuit.objects.all()
    serializer_class = CircuitDetailSerializer

    def destroy(self, request, *args, **kwargs):
        circuit = self.get_object()
        try:
            load.circuit_delete(circuit=circuit)
        except load.LoadConfigError as error:
            return Response(error.errors, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)
