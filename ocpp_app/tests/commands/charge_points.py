"""Client charge points for the command tests (the `ocpp` library over
`websockets`), and one valid request/answer per central-system action."""

import asyncio
import json

from ocpp.routing import on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from ocpp_app.tests.e2e.helpers import ClientChargePoint

HASH_DATA = {
    "hashAlgorithm": "SHA256",
    "issuerNameHash": "a" * 64,
    "issuerKeyHash": "b" * 64,
    "serialNumber": "01",
}
PROFILE = {
    "chargingProfileId": 7,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {
        "chargingRateUnit": "A",
        "startSchedule": "2026-01-01T00:00:00Z",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.4}],
    },
}

# action -> (request payload as the operator sends it, the charger's answer on the wire)
SAMPLES: dict[str, tuple[dict, dict]] = {
    "RemoteStartTransaction": ({"connectorId": 1, "idTag": "TAG-RS"}, {"status": "Accepted"}),
    "RemoteStopTransaction": ({"transactionId": 42}, {"status": "Accepted"}),
    "Reset": ({"type": "Hard"}, {"status": "Accepted"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
    "ChangeAvailability": ({"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
    "GetConfiguration": (
        {"key": ["HeartbeatInterval", "Nope"]},
        {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "60"}], "unknownKey": ["Nope"]},
    ),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "120"}, {"status": "Accepted"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "DataTransfer": ({"vendorId": "Acme", "messageId": "ping", "data": "x"}, {"status": "Accepted", "data": "pong"}),
    "GetDiagnostics": ({"location": "ftp://example.com/diag/"}, {"fileName": "diag.zip"}),
    "UpdateFirmware": ({"location": "https://example.com/fw.bin", "retrieveDate": "2026-01-01T00:00:00Z"}, {}),
    "SendLocalList": (
        {
            "listVersion": 3,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": "L1", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "L2", "idTagInfo": {"status": "Blocked", "expiryDate": "2030-01-01T00:00:00Z"}},
            ],
        },
        {"status": "Accepted"},
    ),
    "GetLocalListVersion": ({}, {"listVersion": 5}),
    "ReserveNow": (
        {"connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG-R", "reservationId": 901},
        {"status": "Accepted"},
    ),
    "CancelReservation": ({"reservationId": 901}, {"status": "Accepted"}),
    "SetChargingProfile": ({"connectorId": 1, "csChargingProfiles": PROFILE}, {"status": "Accepted"}),
    "ClearChargingProfile": ({"id": 7}, {"status": "Accepted"}),
    "GetCompositeSchedule": (
        {"connectorId": 1, "duration": 3600, "chargingRateUnit": "W"},
        {
            "status": "Accepted",
            "connectorId": 1,
            "scheduleStart": "2026-01-01T00:00:00Z",
            "chargingSchedule": {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.5}],
            },
        },
    ),
    "TriggerMessage": ({"requestedMessage": "StatusNotification", "connectorId": 1}, {"status": "Accepted"}),
    "ExtendedTriggerMessage": ({"requestedMessage": "SignChargePointCertificate"}, {"status": "Accepted"}),
    "GetLog": (
        {"logType": "SecurityLog", "requestId": 77, "log": {"remoteLocation": "https://example.com/logs/"}},
        {"status": "Accepted", "filename": "security.log"},
    ),
    "SignedUpdateFirmware": (
        {
            "requestId": 88,
            "firmware": {
                "location": "https://example.com/fw.bin",
                "retrieveDateTime": "2026-01-01T00:00:00Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----",
                "signature": "c2ln",
            },
        },
        {"status": "Accepted"},
    ),
    "InstallCertificate": (
        {"certificateType": "CentralSystemRootCertificate", "certificate": "-----BEGIN CERTIFICATE-----"},
        {"status": "Accepted"},
    ),
    "DeleteCertificate": ({"certificateHashData": HASH_DATA}, {"status": "Accepted"}),
    "GetInstalledCertificateIds": (
        {"certificateType": "ManufacturerRootCertificate"},
        {"status": "Accepted", "certificateHashData": [HASH_DATA]},
    ),
    "CertificateSigned": ({"certificateChain": "-----BEGIN CERTIFICATE-----"}, {"status": "Accepted"}),
}


def _answer(action: str):
    """A library handler that records the request and answers from SAMPLES
    (or from `answers`, set per test)."""

    async def handler(self, **kwargs):
        self.received.append((action, kwargs))
        wire = self.answers.get(action, SAMPLES[action][1])
        result = getattr(call_result, action)(**self._snake(wire))
        if action == "RemoteStartTransaction" and wire.get("status") == "Accepted" and self.start_after_remote:
            # A real charger starts the session right after accepting.
            self.later.append(asyncio.get_running_loop().create_task(self._start(kwargs)))
        return result

    handler.__name__ = f"on_{action}"
    return on(getattr(Action, _enum_name(action)))(handler)


def _enum_name(action: str) -> str:
    for member in Action:
        if member.value == action:
            return member.name
    raise KeyError(action)


class AnsweringChargePoint(ClientChargePoint):
    """Answers every central-system action like a well-behaved charger."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.received: list[tuple[str, dict]] = []
        self.answers: dict[str, dict] = {}
        self.later: list[asyncio.Task] = []
        self.start_after_remote = True
        self.started_transaction_id: int | None = None

    @staticmethod
    def _snake(wire: dict) -> dict:
        from ocpp.charge_point import camel_to_snake_case

        return camel_to_snake_case(wire)

    async def _start(self, request: dict) -> None:
        await asyncio.sleep(0.1)
        result = await self.call(
            call.StartTransaction(
                connector_id=request.get("connector_id") or 1,
                id_tag=request["id_tag"],
                meter_start=1000,
                timestamp="2026-01-01T10:00:00Z",
            )
        )
        self.started_transaction_id = result.transaction_id


# One @on handler per action. The library routes by the decorated function's
# name, so the attribute must carry that name.
for _action in SAMPLES:
    _handler = _answer(_action)
    setattr(AnsweringChargePoint, _handler.__name__, _handler)


class SilentChargePoint(ClientChargePoint):
    """Receives CALLs and never answers them."""

    async def route_message(self, raw_msg):
        msg = json.loads(raw_msg)
        if msg[0] == 2:
            return  # swallow the CALL
        await super().route_message(raw_msg)


# A charge point with no handlers: the library answers every CALL with a
# CALLERROR (NotImplemented: "No handler for X registered").
ErrorChargePoint = ClientChargePoint
