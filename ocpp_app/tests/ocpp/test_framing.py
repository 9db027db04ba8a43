"""Frame parsing and schema validation with the OCPP-J 1.6 error codes."""

import json

import pytest
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, CallError, CallResult

from ocpp_app.ocpp import framing


def parse_error(raw: str) -> OCPPError:
    with pytest.raises(OCPPError) as info:
        framing.parse_frame(raw)
    return info.value


def wire_code(error: OCPPError) -> str:
    return json.loads(framing.callerror_frame("m", error))[2]


def validation_error(action: str, payload: dict) -> OCPPError:
    with pytest.raises(OCPPError) as info:
        framing.validate(2, action, payload)
    return info.value


def test_it_parses_a_call():
    msg = framing.parse_frame('[2,"m1","Heartbeat",{}]')
    assert isinstance(msg, Call)
    assert (msg.unique_id, msg.action, msg.payload) == ("m1", "Heartbeat", {})


def test_it_parses_a_callresult():
    msg = framing.parse_frame('[3,"m1",{"status":"Accepted"}]')
    assert isinstance(msg, CallResult)
    assert msg.payload == {"status": "Accepted"}


def test_it_parses_a_callerror():
    msg = framing.parse_frame('[4,"m1","NotSupported","no",{}]')
    assert isinstance(msg, CallError)
    assert (msg.error_code, msg.error_description) == ("NotSupported", "no")


def test_it_answers_invalid_json_with_a_readable_id_as_formation_violation():
    error = parse_error('[2,"m1","Heartbeat",{]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "m1")


def test_it_ignores_invalid_json_without_a_readable_id():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame("{not json")


def test_it_ignores_a_json_object_frame():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame('{"a": 1}')


def test_it_answers_a_short_array_with_an_id():
    error = parse_error('[2,"m1"]')
    assert error.message_id == "m1"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_it_refuses_nan_and_infinity(constant):
    error = parse_error(f'[2,"m1","DataTransfer",{{"vendorId":"v","x":{constant}}}]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "m1")


def test_it_refuses_a_number_that_overflows_to_infinity():
    error = parse_error('[2,"m1","DataTransfer",{"vendorId":"v","x":1e400}]')
    assert error.message_id == "m1"


def test_it_refuses_an_integer_longer_than_4300_digits():
    error = parse_error('[2,"m1","Heartbeat",{"x":' + "9" * 5000 + "}]")
    assert error.message_id == "m1"


def test_it_refuses_deep_nesting_beyond_the_parser():
    error = parse_error('[2,"m1","Heartbeat",{"x":' + "[" * 100_000 + "]" * 100_000 + "}]")
    assert error.message_id == "m1"


def test_it_refuses_nesting_deeper_than_max_depth():
    error = parse_error('[2,"m1","Heartbeat",{"x":' + "[" * 100 + "]" * 100 + "}]")
    assert (wire_code(error), error.message_id) == ("FormationViolation", "m1")


def test_it_refuses_a_nul_in_a_string():
    error = parse_error('[2,"m1","Authorize",{"idTag":"A\\u0000B"}]')
    assert (wire_code(error), error.message_id) == ("PropertyConstraintViolation", "m1")


def test_it_refuses_a_lone_surrogate_in_a_string():
    error = parse_error('[2,"m1","Authorize",{"idTag":"A\\ud800B"}]')
    assert error.message_id == "m1"


def test_it_refuses_a_lone_surrogate_in_a_key():
    error = parse_error('[2,"m1","Authorize",{"\\udc00":"x"}]')
    assert error.message_id == "m1"


def test_it_answers_a_message_id_longer_than_36_characters_echoing_it():
    error = parse_error(json.dumps([2, "x" * 37, "Heartbeat", {}]))
    assert (wire_code(error), error.message_id) == ("FormationViolation", "x" * 37)


def test_it_answers_an_empty_message_id():
    error = parse_error('[2,"","Heartbeat",{}]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "")


def test_it_answers_a_message_id_with_nul_without_echoing_it():
    error = parse_error('[2,"a\\u0000b","Heartbeat",{}]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "")


def test_it_answers_a_very_long_message_id_without_echoing_it():
    error = parse_error(json.dumps([2, "x" * 500, "Heartbeat", {}]))
    assert (wire_code(error), error.message_id) == ("FormationViolation", "")


def test_it_drops_a_result_with_a_message_id_longer_than_36_characters():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame(json.dumps([3, "x" * 37, {}]))


def test_it_keeps_integers_beyond_64_bits_exact():
    frame = framing.parse_frame('[2,"m1","Heartbeat",{"n":100000000000000000000}]')
    assert frame.payload == {"n": 10**20}


def test_it_encodes_integers_beyond_64_bits():
    assert framing.result_frame("m1", {"n": 2**70}) == f'[3,"m1",{{"n":{2**70}}}]'


def test_it_encodes_non_ascii_text_as_utf8():
    assert json.loads(framing.result_frame("m1", {"info": "café ✓"})) == [3, "m1", {"info": "café ✓"}]


def test_it_ignores_a_non_string_message_id():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame('[2,17,"Heartbeat",{}]')


def test_it_refuses_a_call_whose_payload_is_not_an_object():
    error = parse_error('[2,"m1","Heartbeat",[]]')
    assert (error.message_id, framing.callerror_frame("m1", error)[:30]) == ("m1", '[4,"m1","FormationViolation","')


def test_it_treats_true_as_no_message_type():
    with pytest.raises((framing.UnreadableFrame, OCPPError)):
        framing.parse_frame('[true,"m1","Heartbeat",{}]')


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"chargePointVendor": "V"}, "ProtocolError"),
        ({"chargePointVendor": 5, "chargePointModel": "M"}, "TypeConstraintViolation"),
        ({"chargePointVendor": "V" * 21, "chargePointModel": "M"}, "TypeConstraintViolation"),
        ({"chargePointVendor": "V", "chargePointModel": "M", "extra": 1}, "FormationViolation"),
    ],
    ids=["missing", "type", "too-long", "extra"],
)
def test_it_maps_boot_schema_failures_to_16_codes(payload, code):
    error = validation_error("BootNotification", payload)
    assert wire_code(error) == code


def test_it_maps_a_bad_enum_to_property_constraint_violation():
    error = validation_error("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
    assert error.code == "PropertyConstraintViolation"


def test_it_names_the_failing_field():
    error = validation_error("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})
    assert error.details == {"field": "status"}


def test_it_answers_an_unknown_action_with_not_implemented():
    assert validation_error("Foo", {}).code == "NotImplemented"


def test_it_accepts_a_valid_payload():
    framing.validate(2, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})


def test_it_validates_multiple_of_point_one_with_decimals():
    profile = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
        },
    }
    framing.validate(2, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile})


def test_it_spells_formation_violation_the_16_way():
    error = framing.FormationViolationError(description="x")
    assert json.loads(framing.callerror_frame("m", error))[2] == "FormationViolation"


def test_it_answers_a_non_ocpp_error_as_generic_error():
    assert json.loads(framing.callerror_frame("m", RuntimeError("boom")))[2] == "GenericError"


def test_it_scrubs_nul_from_a_loggable_payload():
    raw = '[2,"m","X",{"a":"b\\u0000"}]'
    assert framing.loggable(raw, {"a": "b\x00"}) == {"a": "b\ufffd"}


def test_it_scrubs_lone_surrogates_from_a_loggable_payload():
    raw = '[2,"m","X",{"a":"\\ud800"}]'
    logged = framing.loggable(raw, {"a": "\ud800"})
    assert json.dumps(logged, ensure_ascii=False).encode("utf-8")


def test_it_keeps_a_clean_payload_as_is():
    payload = {"a": "b"}
    assert framing.loggable('[2,"m","X",{"a":"b"}]', payload) is payload


def test_it_truncates_a_raw_frame_for_the_log():
    logged = framing.raw_for_log("x" * 5000)
    assert (len(logged["raw"]), logged["truncated"]) == (4096, True)


@pytest.mark.parametrize("number", ["1e999", "-1E+400", "1" + "0" * 400 + ".5"])
def test_it_scrubs_a_number_that_overflowed_to_infinity_from_a_loggable_payload(number):
    raw = f'[3,"m",{{"v":{number}}}]'
    logged = framing.loggable(raw, json.loads(raw)[2])
    assert json.dumps(logged, allow_nan=False)


def test_it_keeps_a_finite_number_with_a_big_exponent():
    raw = '[3,"m",{"v":1e300}]'
    assert framing.loggable(raw, json.loads(raw)[2]) == {"v": 1e300}


def test_it_reads_no_message_id_with_a_control_character_from_an_invalid_frame():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame('[2,"a\x00b","Heartbeat",{')


def test_it_refuses_a_call_with_five_elements():
    error = parse_error('[2,"m1","Heartbeat",{},{}]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "m1")


def test_it_refuses_a_call_whose_action_is_not_a_string():
    error = parse_error('[2,"m1",7,{}]')
    assert (wire_code(error), error.message_id) == ("FormationViolation", "m1")


def test_it_ignores_an_unknown_message_type():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame('[5,"m1","Heartbeat",{}]')


def test_it_ignores_a_malformed_callresult():
    with pytest.raises(framing.UnreadableFrame):
        framing.parse_frame('[3,"m1","not an object"]')
