"""Frames a charger gets a CALLERROR for, with its code, and frames that are
dropped while the socket stays open."""

import pytest

from ocpp_app.models import (
    Transaction,
)
from ocpp_app.tests.helpers import (
    START,
    acount,
    charger_socket,
    error_code,
    heartbeat_still_answered,
    raw,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_an_unknown_action_with_not_implemented():
    async with charger_socket() as comm:
        assert await error_code(comm, "Teleport", {}) == "NotImplemented"


async def test_it_answers_a_central_system_action_sent_by_a_charger_with_not_supported():
    async with charger_socket() as comm:
        assert await error_code(comm, "RemoteStartTransaction", {"idTag": "T"}) == "NotSupported"


async def test_it_answers_a_missing_field_with_protocol_error():
    async with charger_socket() as comm:
        assert await error_code(comm, "BootNotification", {"chargePointVendor": "ACME"}) == "ProtocolError"


async def test_it_answers_a_wrong_type_with_type_constraint_violation():
    async with charger_socket() as comm:
        assert await error_code(comm, "Authorize", {"idTag": 12345}) == "TypeConstraintViolation"


async def test_it_answers_a_too_long_string_with_type_constraint_violation():
    async with charger_socket() as comm:
        assert await error_code(comm, "Authorize", {"idTag": "T" * 21}) == "TypeConstraintViolation"


async def test_it_answers_a_bad_enum_with_property_constraint_violation():
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}
    async with charger_socket() as comm:
        assert await error_code(comm, "StatusNotification", payload) == "PropertyConstraintViolation"


async def test_it_answers_an_extra_field_with_formation_violation():
    async with charger_socket() as comm:
        assert await error_code(comm, "Heartbeat", {"extra": True}) == "FormationViolation"


async def test_it_answers_invalid_json_with_a_readable_id_with_formation_violation():
    async with charger_socket() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat",{"oops"]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_ignores_invalid_json_without_a_readable_id_and_stays_open():
    async with charger_socket() as comm:
        await comm.send_to(text_data="{{{ not json")
        assert await heartbeat_still_answered(comm)


@pytest.mark.parametrize("frame", ['{"a": 1}', '"hello"', "42", "[]", '[2, 17, "Heartbeat", {}]'])
async def test_it_ignores_a_frame_that_is_not_an_ocpp_array_and_stays_open(frame):
    async with charger_socket() as comm:
        await comm.send_to(text_data=frame)
        assert await heartbeat_still_answered(comm)


async def test_it_answers_a_short_array_with_an_id_with_formation_violation():
    async with charger_socket() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat"]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_a_payload_that_is_not_an_object_with_formation_violation():
    async with charger_socket() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat",[1,2]]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_deep_nesting_with_formation_violation_and_stays_open():
    frame = '[2,"m1","DataTransfer",{"vendorId":"v","data":' + "[" * 50_000 + "]" * 50_000 + "}]"
    async with charger_socket() as comm:
        answer = await raw(comm, frame)
        assert answer[:3] == [4, "m1", "FormationViolation"]
        assert await heartbeat_still_answered(comm)


async def test_it_answers_moderate_nesting_with_formation_violation():
    frame = '[2,"m1","DataTransfer",{"vendorId":"v","data":' + "[" * 200 + "]" * 200 + "}]"
    async with charger_socket() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_it_answers_nan_and_infinity_with_formation_violation(number):
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":' + number
    frame += ',"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger_socket() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]
    assert await acount(Transaction) == 0


async def test_it_answers_a_too_long_integer_with_formation_violation():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":' + "9" * 4301
    frame += ',"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger_socket() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_a_lone_surrogate_with_formation_violation_and_stores_nothing():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"AB\\ud800","meterStart":0,'
    frame += '"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger_socket() as comm:
        answer = await raw(comm, frame)
        assert await heartbeat_still_answered(comm)
    assert answer[:3] == [4, "m1", "FormationViolation"]
    assert await acount(Transaction) == 0


async def test_it_answers_a_nul_in_an_id_tag_with_an_error_and_stores_no_nul():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"A\\u0000B","meterStart":0,'
    frame += '"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger_socket() as comm:
        answer = await raw(comm, frame)
    assert answer[:3] == [4, "m1", "PropertyConstraintViolation"]
    assert await acount(Transaction) == 0


async def test_it_answers_a_bad_timestamp_with_type_constraint_violation():
    async with charger_socket() as comm:
        assert await error_code(comm, "StartTransaction", {**START, "timestamp": "yesterday"}) == (
            "TypeConstraintViolation"
        )
    assert await acount(Transaction) == 0


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_it_answers_a_timestamp_out_of_range_with_type_constraint_violation(timestamp):
    async with charger_socket() as comm:
        assert await error_code(comm, "StartTransaction", {**START, "timestamp": timestamp}) == (
            "TypeConstraintViolation"
        )


@pytest.mark.parametrize("connector_id", [-1, 2**31])
async def test_it_answers_an_out_of_range_connector_id_with_property_constraint_violation(connector_id):
    payload = {"connectorId": connector_id, "errorCode": "NoError", "status": "Available"}
    async with charger_socket() as comm:
        assert await error_code(comm, "StatusNotification", payload) == "PropertyConstraintViolation"


async def test_it_drops_an_unsolicited_callresult():
    async with charger_socket() as comm:
        await comm.send_to(text_data='[3,"nobody-asked",{"status":"Accepted"}]')
        await comm.send_to(text_data='[4,"nobody-asked-either","GenericError","",{}]')
        assert await heartbeat_still_answered(comm)
