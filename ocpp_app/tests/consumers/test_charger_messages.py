"""Every charger-initiated message over the socket: its answer and what is
stored."""

import pytest
from channels.db import database_sync_to_async

from ocpp_app.models import (
    RFID,
    CertificateSigningRequest,
    ChargerEvent,
    Connector,
    DataTransferRecord,
    MeterReading,
    StatusNotificationRecord,
    Transaction,
)
from ocpp_app.tests.helpers import (
    BOOT,
    START,
    acount,
    aget_charger,
    call,
    charger_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


async def test_it_answers_an_accepted_boot_with_the_heartbeat_interval(settings):
    settings.OCPP_HEARTBEAT_INTERVAL = 42
    async with charger_socket() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[0], answer[1], answer[2]["status"], answer[2]["interval"]) == (3, "m1", "Accepted", 42)
    assert answer[2]["currentTime"].endswith("Z")


async def test_it_stores_the_boot_fields_on_the_charger():
    boot = {
        **BOOT,
        "chargePointSerialNumber": "SN1",
        "chargeBoxSerialNumber": "BOX1",
        "firmwareVersion": "1.0",
        "iccid": "8931",
        "imsi": "2620",
        "meterType": "M",
        "meterSerialNumber": "MSN1",
    }
    async with charger_socket() as comm:
        await call(comm, "BootNotification", boot)
    stored = await aget_charger()
    assert (
        stored.vendor,
        stored.model,
        stored.serial_number,
        stored.charge_box_serial_number,
        stored.firmware_version,
        stored.iccid,
        stored.imsi,
        stored.meter_type,
        stored.meter_serial_number,
    ) == ("ACME", "Volt", "SN1", "BOX1", "1.0", "8931", "2620", "M", "MSN1")
    assert stored.last_boot_at is not None


async def test_it_answers_a_heartbeat_with_the_current_time():
    async with charger_socket() as comm:
        answer = await call(comm, "Heartbeat", {})
    assert answer[2]["currentTime"].endswith("Z")
    assert (await aget_charger()).last_heartbeat is not None


async def test_it_answers_authorize_for_a_known_tag():
    await database_sync_to_async(RFID.objects.create)(id_tag="TAG1", status="Blocked", parent_id_tag="P")
    async with charger_socket() as comm:
        answer = await call(comm, "Authorize", {"idTag": "TAG1"})
    assert answer[2] == {"idTagInfo": {"status": "Blocked", "parentIdTag": "P"}}


async def test_it_answers_authorize_for_an_unknown_tag_with_an_expiry():
    async with charger_socket() as comm:
        answer = await call(comm, "Authorize", {"idTag": "NEW"})
    assert answer[2]["idTagInfo"]["status"] == "Accepted"
    assert answer[2]["idTagInfo"]["expiryDate"].endswith("Z")


async def test_it_answers_start_transaction_with_a_stored_transaction_id():
    async with charger_socket() as comm:
        answer = await call(comm, "StartTransaction", START)
    tx_id = answer[2]["transactionId"]
    assert isinstance(tx_id, int)
    assert await acount(Transaction, pk=tx_id, charger__charger_id="CP1", meter_start=1000) == 1


async def test_it_answers_a_full_transaction():
    async with charger_socket() as comm:
        tx_id = (await call(comm, "StartTransaction", START, message_id="a"))[2]["transactionId"]
        meter = {
            "connectorId": 1,
            "transactionId": tx_id,
            "meterValue": [
                {
                    "timestamp": "2024-05-01T12:05:00Z",
                    "sampledValue": [
                        {"value": "1200", "unit": "Wh"},
                        {"value": "7.4", "measurand": "Power.Active.Import"},
                    ],
                }
            ],
        }
        meter_answer = await call(comm, "MeterValues", meter, message_id="b")
        stop = {
            "transactionId": tx_id,
            "meterStop": 1500,
            "timestamp": "2024-05-01T12:10:00Z",
            "reason": "EVDisconnected",
            "transactionData": [
                {"timestamp": "2024-05-01T12:10:00Z", "sampledValue": [{"value": "1500", "context": "Transaction.End"}]}
            ],
        }
        stop_answer = await call(comm, "StopTransaction", stop, message_id="c")
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert (meter_answer, stop_answer) == ([3, "b", {}], [3, "c", {}])
    assert (tx.meter_stop, tx.energy_wh, tx.stop_reason) == (1500, 500, "EVDisconnected")
    assert await acount(MeterReading, transaction_id=tx_id) == 3
    assert (await aget_charger()).last_meter_values["meterValue"][0]["sampledValue"][1]["measurand"] == (
        "Power.Active.Import"
    )


async def test_it_answers_a_stop_for_an_unknown_transaction_without_an_error():
    async with charger_socket() as comm:
        answer = await call(
            comm, "StopTransaction", {"transactionId": 987654, "meterStop": 1, "timestamp": "2024-05-01T12:00:00Z"}
        )
    assert answer == [3, "m1", {}]
    assert await acount(ChargerEvent, kind="transaction", status="UnknownTransaction") == 1


async def test_it_answers_a_stop_with_an_out_of_range_transaction_id_without_an_error():
    async with charger_socket() as comm:
        answer = await call(
            comm, "StopTransaction", {"transactionId": 2**40, "meterStop": 1, "timestamp": "2024-05-01T12:00:00Z"}
        )
    assert answer == [3, "m1", {}]


async def test_it_answers_a_stop_with_an_id_tag_with_its_status():
    async with charger_socket() as comm:
        tx_id = (await call(comm, "StartTransaction", START, message_id="a"))[2]["transactionId"]
        answer = await call(
            comm,
            "StopTransaction",
            {"transactionId": tx_id, "idTag": "TAG1", "meterStop": 1200, "timestamp": "2024-05-01T13:00:00Z"},
        )
    assert answer[2]["idTagInfo"]["status"] == "Accepted"


@pytest.mark.parametrize("connector_id", [0, 2])
async def test_it_stores_a_status_notification(connector_id):
    payload = {
        "connectorId": connector_id,
        "errorCode": "NoError",
        "status": "Available",
        "timestamp": "2024-05-01T12:00:00Z",
    }
    async with charger_socket() as comm:
        answer = await call(comm, "StatusNotification", payload)
    assert answer == [3, "m1", {}]
    assert await acount(Connector, connector_id=connector_id, status="Available") == 1
    assert await acount(StatusNotificationRecord, connector_id=connector_id) == 1


async def test_it_answers_data_transfer_from_an_unknown_vendor_with_unknown_vendor_id():
    async with charger_socket() as comm:
        answer = await call(comm, "DataTransfer", {"vendorId": "ACME", "data": "x"})
    assert answer[2] == {"status": "UnknownVendorId"}
    assert await acount(DataTransferRecord, vendor_id="ACME", data="x") == 1


async def test_it_accepts_data_transfer_from_a_configured_vendor(settings):
    settings.OCPP_DATA_TRANSFER_VENDORS = ["ACME"]
    async with charger_socket() as comm:
        answer = await call(comm, "DataTransfer", {"vendorId": "ACME"})
    assert answer[2] == {"status": "Accepted"}


@pytest.mark.parametrize(
    ("action", "payload", "kind", "field"),
    [
        ("DiagnosticsStatusNotification", {"status": "Uploaded"}, "diagnostics", "diagnostics_status"),
        ("FirmwareStatusNotification", {"status": "Installed"}, "firmware", "firmware_status"),
        ("LogStatusNotification", {"status": "Uploaded", "requestId": 3}, "log", "log_status"),
        (
            "SignedFirmwareStatusNotification",
            {"status": "Installed", "requestId": 4},
            "signed_firmware",
            "firmware_status",
        ),
    ],
)
async def test_it_stores_a_status_notification_and_its_latest_status(action, payload, kind, field):
    async with charger_socket() as comm:
        answer = await call(comm, action, payload)
    assert answer == [3, "m1", {}]
    assert await acount(ChargerEvent, kind=kind, status=payload["status"]) == 1
    assert getattr(await aget_charger(), field) == payload["status"]


async def test_it_stores_a_security_event():
    payload = {"type": "SettingSystemTime", "timestamp": "2024-05-01T12:00:00Z", "techInfo": "ntp"}
    async with charger_socket() as comm:
        answer = await call(comm, "SecurityEventNotification", payload)
    assert answer == [3, "m1", {}]
    assert await acount(ChargerEvent, kind="security", status="SettingSystemTime") == 1


async def test_it_stores_a_csr_and_answers_rejected():
    async with charger_socket() as comm:
        answer = await call(comm, "SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"})
    assert answer[2] == {"status": "Rejected"}
    assert await acount(CertificateSigningRequest, charger__charger_id="CP1") == 1
