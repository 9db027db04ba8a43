"""Id tags an operator sends in a command follow the RFID card rule: one with
a control character or '/' is refused with a clear 400 before sending, and
nothing is stored from it."""

import pytest

from ocpp_app.models import LocalListEntry, Reservation
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db
URL = "/ocpp/chargers/CP1/action/"


@pytest.mark.parametrize(
    ("action", "payload", "message"),
    [
        (
            "SendLocalList",
            {"listVersion": 2, "updateType": "Full", "localAuthorizationList": [{"idTag": "A\x01B"}]},
            "localAuthorizationList[0].idTag: id tag contains characters that are not printable",
        ),
        (
            "SendLocalList",
            {
                "listVersion": 2,
                "updateType": "Full",
                "localAuthorizationList": [{"idTag": "OK", "idTagInfo": {"status": "Accepted", "parentIdTag": "P/1"}}],
            },
            "localAuthorizationList[0].idTagInfo.parentIdTag: id tag contains a slash",
        ),
        (
            "ReserveNow",
            {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "T/1", "reservationId": 5},
            "idTag: id tag contains a slash",
        ),
    ],
)
def test_a_command_with_a_bad_id_tag_is_refused_with_a_clear_400(api_client, action, payload, message):
    make_charger("CP1", connected=False)
    response = api_client.post(URL, {"action": action, "payload": payload}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert not LocalListEntry.objects.exists() and not Reservation.objects.exists()


def test_a_command_with_good_id_tags_goes_on(api_client):
    make_charger("CP1", connected=False)
    payload = {"listVersion": 2, "updateType": "Full", "localAuthorizationList": [{"idTag": "04 A2 ÜC"}]}
    assert api_client.post(URL, {"action": "SendLocalList", "payload": payload}, format="json").status_code == 409
