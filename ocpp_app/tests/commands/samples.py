"""One valid request and one answer per central-system action, for the
command tests."""

from ocpp_app.tests.certs import root_pem

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
        {"certificateType": "CentralSystemRootCertificate", "certificate": root_pem()},
        {"status": "Accepted"},
    ),
    "DeleteCertificate": ({"certificateHashData": HASH_DATA}, {"status": "Accepted"}),
    "GetInstalledCertificateIds": (
        {"certificateType": "ManufacturerRootCertificate"},
        {"status": "Accepted", "certificateHashData": [HASH_DATA]},
    ),
    "CertificateSigned": ({"certificateChain": "-----BEGIN CERTIFICATE-----"}, {"status": "Accepted"}),
}

# What a well-behaved charger answers to each action (FakeChargePoint's `answers`).
ANSWERS: dict[str, dict] = {action: answer for action, (_, answer) in SAMPLES.items()}
