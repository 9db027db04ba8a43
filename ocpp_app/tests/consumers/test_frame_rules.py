"""Frame rules over a real socket: malformed message ids and integers that
would not fit their database column are answered with a CALLERROR."""

import json

import pytest

from ocpp_app.models import ChargerEvent
from ocpp_app.tests.helpers import acount, charger_socket, error_code, heartbeat_still_answered, raw

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_a_message_id_longer_than_36_characters_with_formation_violation():
    async with charger_socket() as comm:
        answer = await raw(comm, json.dumps([2, "i" * 40, "Heartbeat", {}]))
        assert answer[:3] == [4, "i" * 40, "FormationViolation"]
        assert await heartbeat_still_answered(comm)


async def test_it_answers_an_empty_message_id_with_formation_violation():
    async with charger_socket() as comm:
        assert (await raw(comm, '[2,"","Heartbeat",{}]'))[:3] == [4, "", "FormationViolation"]


@pytest.mark.parametrize("action", ["LogStatusNotification", "SignedFirmwareStatusNotification"])
@pytest.mark.parametrize("request_id", [2**31, -(2**31) - 1, 2**63])
async def test_it_answers_a_request_id_out_of_range_with_property_constraint_violation(action, request_id):
    status = "Uploading" if action == "LogStatusNotification" else "Downloading"
    async with charger_socket() as comm:
        assert await error_code(comm, action, {"status": status, "requestId": request_id}) == (
            "PropertyConstraintViolation"
        )
        assert await acount(ChargerEvent) == 0


async def test_it_stores_a_request_id_at_the_edge_of_the_range():
    async with charger_socket() as comm:
        answer = await raw(
            comm, json.dumps([2, "m1", "LogStatusNotification", {"status": "Uploaded", "requestId": 2**31 - 1}])
        )
        assert answer == [3, "m1", {}]
        assert await acount(ChargerEvent, request_id=2**31 - 1) == 1
