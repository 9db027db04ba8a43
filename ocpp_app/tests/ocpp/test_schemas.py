"""The compiled schema validators agree with the reference (`jsonschema`),
and the cached case conversions with the library's.

For every OCPP 1.6 schema, both directions: valid payloads generated from the
schema itself and mutations of them (a key dropped, a key added, a value
replaced by any JSON value) get the same verdict from the native validator as
from the library's jsonschema validator, and `framing.validate` raises the
same error code and message as the reference.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType
from ocpp.v16 import call_result
from ocpp.v16.datatypes import IdTagInfo
from ocpp.v16.enums import AuthorizationStatus

from ocpp_app.ocpp import framing, schemas

DIRECTIONS = [MessageType.Call, MessageType.CallResult]
SCHEMAS = [(direction, action) for action in sorted(framing.V16_ACTIONS) for direction in DIRECTIONS]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, 1, 1.0, -1, 0.5, "", "x" * 600, True])
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=6,
)


def from_schema(schema: dict, root: dict | None = None) -> st.SearchStrategy:
    """Valid instances of the subset of JSON Schema the 1.6 files use."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return from_schema(root["definitions"][name], root)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {key: from_schema(sub, root) for key, sub in properties.items() if key in required},
            optional={key: from_schema(sub, root) for key, sub in properties.items() if key not in required},
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), root), min_size=schema.get("minItems", 0), max_size=3)
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes().map(lambda moment: moment.isoformat() + "Z")
        return st.text(max_size=min(schema.get("maxLength", 30), 30))
    if kind == "integer":
        return st.integers(min_value=-(2**31), max_value=2**31 - 1)
    if kind == "number":
        if "multipleOf" in schema:
            return st.integers(min_value=0, max_value=10_000).map(lambda tenths: tenths / 10)
        return st.floats(allow_nan=False, allow_infinity=False) | st.integers()
    if kind == "boolean":
        return st.booleans()
    return json_values


def paths(value, prefix=()):
    """Every place in a JSON value: (path to the container, key or index)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield prefix, key
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield prefix, index
            yield from paths(item, (*prefix, index))


def container(value, path):
    for part in path:
        value = value[part]
    return value


@st.composite
def mutated(draw, valid):
    payload = draw(valid)
    places = list(paths(payload))
    kind = draw(st.sampled_from(["replace", "drop", "add", "replace_root"] if places else ["add", "replace_root"]))
    if kind == "replace_root":
        return draw(json_values)
    if kind == "add":
        dicts = [()] + [(*path, key) for path, key in places if isinstance(container(payload, (*path, key)), dict)]
        target = container(payload, draw(st.sampled_from(dicts)))
        if isinstance(target, dict):
            target[draw(st.text(min_size=1, max_size=12))] = draw(json_values)
        return payload
    path, key = draw(st.sampled_from(places))
    parent = container(payload, path)
    if kind == "drop":
        del parent[key]
    else:
        parent[key] = draw(json_values)
    return payload


def assert_same_verdict(direction, action, payload):
    reference = framing.schema_error(direction, action, payload)
    native = schemas.is_valid(direction, action, payload)
    if native is not None and not framing._needs_decimal(direction, action):
        assert native == (reference is None), (payload, reference and reference.description)
    try:
        framing.validate(direction, action, payload)
    except Exception as error:  # noqa: BLE001  (compared with the reference below)
        assert reference is not None, payload
        assert (type(error), error.description, error.details) == (
            type(reference),
            reference.description,
            reference.details,
        )
    else:
        assert reference is None, (payload, reference.description)


def test_every_action_has_both_schemas():
    for direction, action in SCHEMAS:
        assert schemas.load_schema(direction, action)["type"] == "object"


@pytest.mark.parametrize(("direction", "action"), SCHEMAS, ids=[f"{a}-{d}" for d, a in SCHEMAS])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_it_agrees_with_jsonschema(direction, action, data):
    schema = {**schemas.load_schema(direction, action), "$schema": "http://json-schema.org/draft-04/schema#"}
    valid = from_schema(schema)
    payload = data.draw(valid | mutated(valid))
    assert_same_verdict(direction, action, payload)


@pytest.mark.parametrize(
    "payload",
    [
        {"connectorId": 1.0, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}]},
        {"connectorId": True, "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}]},
        {"connectorId": 2**70, "meterValue": [{"timestamp": "x", "sampledValue": [{"value": "1"}]}]},
        {"connectorId": 1, "meterValue": [{"timestamp": "\ud800", "sampledValue": [{"value": "1"}]}]},
        {"connectorId": 1, "meterValue": []},
        {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "1", "unit": "W", "x": 1}]}]},
        {"connectorId": 1, "meterValue": [{"timestamp": "t", "sampledValue": [{"value": "1", "measurand": "Nope"}]}]},
    ],
)
def test_it_agrees_on_the_edges_of_json(payload):
    """Integers in draft 4, booleans, big integers, lone surrogates (the
    native validator cannot take them: the reference decides)."""
    assert_same_verdict(MessageType.Call, "MeterValues", payload)


def test_it_answers_an_invalid_payload_with_the_reference_error():
    with pytest.raises(OCPPError) as raised:
        framing.validate(MessageType.Call, "Heartbeat", {"extra": 1})
    assert json.loads(framing.callerror_frame("1", raised.value)) == [
        4,
        "1",
        "FormationViolation",
        "payload: Additional properties are not allowed ('extra' was unexpected)",
        {"field": "payload"},
    ]


# -- the cached case conversions equal the library's ---------------------------


@pytest.mark.parametrize("action", sorted(framing.V16_ACTIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_snake_payload_equals_the_librarys_conversion(action, data):
    schema = schemas.load_schema(MessageType.Call, action)
    payload = data.draw(from_schema(schema) | mutated(from_schema(schema)))
    snake = framing.snake_payload(payload)
    assert snake == camel_to_snake_case(payload)
    assert framing.camel_payload(snake) == snake_to_camel_case(snake)


@pytest.mark.parametrize("action", sorted(framing.V16_ACTIONS))
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_wire_payload_equals_the_librarys_serialisation(action, data):
    answer_class = getattr(call_result, action)
    payload = data.draw(from_schema(schemas.load_schema(MessageType.CallResult, action)))
    answer = answer_class(**camel_to_snake_case(payload))
    assert framing.wire_payload(answer) == snake_to_camel_case(remove_nones(serialize_as_dict(answer)))


def test_wire_payload_of_nested_dataclasses_equals_the_librarys():
    answer = call_result.StartTransaction(
        transaction_id=7,
        id_tag_info=IdTagInfo(
            status=AuthorizationStatus.accepted, parent_id_tag=None, expiry_date="2026-01-01T00:00:00Z"
        ),
    )
    wire = framing.wire_payload(answer)
    assert wire == snake_to_camel_case(remove_nones(serialize_as_dict(answer)))
    assert wire == {"transactionId": 7, "idTagInfo": {"status": "Accepted", "expiryDate": "2026-01-01T00:00:00Z"}}
