"""The data a central system keeps, one module per subject. Models hold
invariants (field validators, constraints); no I/O here. Every model is
importable from `ocpp_app.models`."""

from ocpp_app.models.authorization import RFID, LocalListEntry, RFIDStatus
from ocpp_app.models.certificates import (
    InstalledCertificate,
    IssuedCertificate,
    IssuedCertificateStatus,
    RevokedCertificateSerial,
)
from ocpp_app.models.chargers import Charger, Connector, RegistrationStatus, SecurityProfile, StatusNotificationRecord
from ocpp_app.models.circuits import Circuit, CircuitLoadSample, CircuitSchedule, LoadAllocation, Phase
from ocpp_app.models.commands import (
    ChargingProfileRecord,
    Command,
    CommandStatus,
    Reservation,
    ReservationStatus,
)
from ocpp_app.models.logs import (
    CertificateSigningRequest,
    ChargerEvent,
    ChargerEventKind,
    DataTransferRecord,
    Direction,
    MessageLog,
)
from ocpp_app.models.nodes import Node
from ocpp_app.models.simulators import Simulator
from ocpp_app.models.transactions import MeterReading, Transaction
from ocpp_app.models.webhooks import Delivery, DeliveryChannel, DeliveryStatus, Webhook

__all__ = [
    "RFID",
    "CertificateSigningRequest",
    "Charger",
    "ChargerEvent",
    "ChargerEventKind",
    "ChargingProfileRecord",
    "Circuit",
    "CircuitLoadSample",
    "CircuitSchedule",
    "LoadAllocation",
    "Phase",
    "Command",
    "CommandStatus",
    "Connector",
    "DataTransferRecord",
    "Delivery",
    "DeliveryChannel",
    "DeliveryStatus",
    "Direction",
    "InstalledCertificate",
    "IssuedCertificate",
    "IssuedCertificateStatus",
    "RevokedCertificateSerial",
    "LocalListEntry",
    "MessageLog",
    "MeterReading",
    "Node",
    "RFIDStatus",
    "RegistrationStatus",
    "SecurityProfile",
    "Reservation",
    "ReservationStatus",
    "Simulator",
    "StatusNotificationRecord",
    "Transaction",
    "Webhook",
]
