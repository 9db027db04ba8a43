"""Commands the OCPP 1.6 schemas allow but no charger can carry out are
refused with a 400 naming the field, before anything is sent: a reservation
that has already expired, a remote start for an id tag the card rule
refuses, a profile that ends before it starts or has negative or unordered
periods, a composite schedule of no duration, diagnostics that stop before
they start. The same commands made sensible go on (409 here: the charger is
not connected)."""

from datetime import UTC, datetime, timedelta

import pytest

from ocpp_app.models import Command, Reservation
from ocpp_app.tests.helpers import make_charger

pytestmark = pytest.mark.django_db
URL = "/ocpp/chargers/CP1/action/"
PAST = "2020-01-01T00:00:00Z"
FUTURE = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")


def profile(**changes) -> dict:
    base = {
        "chargingProfileId": 7,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}, {"startPeriod": 600, "limit": 10}],
        },
    }
    schedule = changes.pop("schedule", None)
    if schedule:
        base["chargingSchedule"] = {**base["chargingSchedule"], **schedule}
    return {**base, **changes}


REFUSED = [
    (
        "ReserveNow",
        {"connectorId": 1, "expiryDate": PAST, "idTag": "T1", "reservationId": 5},
        "expiryDate: is in the past",
    ),
    ("RemoteStartTransaction", {"idTag": "A/B"}, "idTag: id tag contains a slash"),
    (
        "RemoteStartTransaction",
        {"idTag": "T1", "chargingProfile": profile(chargingProfilePurpose="TxProfile", validFrom=FUTURE, validTo=PAST)},
        "chargingProfile.validTo: must be after chargingProfile.validFrom",
    ),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": profile(validFrom="2030-01-02T00:00:00Z", validTo="2030-01-01T00:00:00Z"),
        },
        "csChargingProfiles.validTo: must be after csChargingProfiles.validFrom",
    ),
    (
        "SetChargingProfile",
        {"connectorId": 1, "csChargingProfiles": profile(schedule={"duration": -5})},
        "csChargingProfiles.chargingSchedule.duration: must not be negative",
    ),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": profile(
                schedule={"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}, {"startPeriod": 0, "limit": 8}]}
            ),
        },
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[1].startPeriod: must be after the period before (0 s)",
    ),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": profile(schedule={"chargingSchedulePeriod": [{"startPeriod": 60, "limit": 16}]}),
        },
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].startPeriod: the first period starts at 0",
    ),
    (
        "SetChargingProfile",
        {
            "connectorId": 1,
            "csChargingProfiles": profile(schedule={"chargingSchedulePeriod": [{"startPeriod": 0, "limit": -1}]}),
        },
        "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit: must not be negative",
    ),
    ("GetCompositeSchedule", {"connectorId": 1, "duration": -5}, "duration: give a number of seconds above 0"),
    (
        "GetDiagnostics",
        {
            "location": "ftp://logs.example.com/",
            "startTime": "2030-01-02T00:00:00Z",
            "stopTime": "2030-01-01T00:00:00Z",
        },
        "stopTime: must be after startTime",
    ),
    ("GetDiagnostics", {"location": "ftp://logs.example.com/", "retries": -1}, "retries: must not be negative"),
]


@pytest.mark.parametrize(
    ("action", "payload", "message"), REFUSED, ids=[f"{a}-{m.split(':')[0]}" for a, _, m in REFUSED]
)
def test_a_command_no_charger_can_carry_out_is_refused_naming_the_field(api_client, action, payload, message):
    make_charger("CP1", connected=False)
    response = api_client.post(URL, {"action": action, "payload": payload}, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["detail"] == message
    assert not Reservation.objects.exists()
    assert not Command.objects.exclude(status="invalid").exists()


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("ReserveNow", {"connectorId": 1, "expiryDate": FUTURE, "idTag": "T1", "reservationId": 5}),
        ("RemoteStartTransaction", {"idTag": "T1", "chargingProfile": profile(chargingProfilePurpose="TxProfile")}),
        ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": profile(validFrom=PAST, validTo=FUTURE)}),
        ("GetCompositeSchedule", {"connectorId": 1, "duration": 3600}),
        (
            "GetDiagnostics",
            {"location": "ftp://logs.example.com/", "startTime": PAST, "stopTime": FUTURE, "retries": 0},
        ),
    ],
)
def test_the_same_commands_made_sensible_go_on(api_client, action, payload):
    make_charger("CP1", connected=False)
    response = api_client.post(URL, {"action": action, "payload": payload}, format="json")
    assert response.status_code == 409, response.json()  # sent for, but the charger is not connected


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("ReserveNow", {"connectorId": 1, "idTag": "T1", "reservationId": 5}, "expiryDate"),
        (
            "SetChargingProfile",
            {"connectorId": 1, "csChargingProfiles": {k: v for k, v in profile().items() if k != "stackLevel"}},
            "csChargingProfiles/stackLevel",
        ),
    ],
)
def test_a_missing_field_is_named_itself(api_client, action, payload, field):
    make_charger("CP1", connected=False)
    response = api_client.post(URL, {"action": action, "payload": payload}, format="json")
    assert response.status_code == 400
    assert field in str(response.json()), response.json()


def test_an_integer_beyond_32_bits_is_named_by_its_field(api_client):
    make_charger("CP1", connected=False)
    payload = {"connectorId": 1, "idTag": "T1", "reservationId": 2**40, "expiryDate": FUTURE}
    response = api_client.post(URL, {"action": "ReserveNow", "payload": payload}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "reservationId: integers in an OCPP 1.6 payload must fit 32 bits"
