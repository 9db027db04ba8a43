"""The OCPP edge, protocol level: raw frames in, frames out, through the real
ASGI application under channels.testing.WebsocketCommunicator.

Under the communicator there is no HTTP denial extension, so a refusal before
the upgrade shows as a close before accept (connected is False); the real
401/404 statuses are covered by the end-to-end tests against uvicorn.
"""

import asyncio
import base64
import contextlib
import json
import logging

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from ocpp.v16 import call as ocpp_call
from ocpp.v16 import call_result as ocpp_result

from config.asgi import application
from ocpp_app import consumers
from ocpp_app.models import (
    RFID,
    CertificateSigningRequest,
    Charger,
    ChargerEvent,
    Connector,
    DataTransferRecord,
    MessageLog,
    MeterReading,
    StatusNotificationRecord,
    Transaction,
)
from ocpp_app.ocpp.charge_point import CallErrorReceived
from ocpp_app.runtime.charger_log import flush_charger_logs, log_file_name
from ocpp_app.runtime.message_log import MessageLogWriter, get_writer
from ocpp_app.services.chargers import charger_set_password

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5  # generous: only ever reached when a test is failing
BOOT = {"chargePointVendor": "ACME", "chargePointModel": "Volt"}
START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": "2024-05-01T12:00:00Z"}
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.LOG_DIR = tmp_path
    settings.OCPP_UNKNOWN_CHARGERS = "accept"
    settings.OCPP_REQUIRE_AUTH = False
    # The registry is per process: a test must not inherit another's sockets.
    consumers.LIVE.clear()
    yield
    consumers.LIVE.clear()


@pytest.fixture
def fast_hasher(settings):
    # PBKDF2's deliberate slowness buys nothing in a test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def communicator(
    path: str = "/ocpp/CP1",
    *,
    subprotocols: list[str] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    raw_path: bytes | None = None,
) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(
        application, path, headers=headers, subprotocols=["ocpp1.6"] if subprotocols is None else subprotocols
    )
    # Servers pass the path as sent; the communicator only gives the decoded one.
    # (The application task has not run yet, so the scope can still change.)
    comm.scope["raw_path"] = raw_path if raw_path is not None else path.split("?", 1)[0].encode()
    return comm


@contextlib.asynccontextmanager
async def charger(path: str = "/ocpp/CP1", **kw):
    comm = communicator(path, **kw)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    try:
        yield comm
    finally:
        await comm.disconnect(timeout=TIMEOUT)


async def call(comm: WebsocketCommunicator, action: str, payload: dict, message_id: str = "m1") -> list:
    await comm.send_to(text_data=json.dumps([2, message_id, action, payload]))
    return await reply(comm)


async def reply(comm: WebsocketCommunicator) -> list:
    return json.loads(await comm.receive_from(timeout=TIMEOUT))


async def raw(comm: WebsocketCommunicator, text: str) -> list:
    await comm.send_to(text_data=text)
    return await reply(comm)


async def error_code(comm: WebsocketCommunicator, action: str, payload: dict) -> str:
    answer = await call(comm, action, payload)
    assert answer[:2] == [4, "m1"], answer
    return answer[2]


async def heartbeat_still_answered(comm: WebsocketCommunicator) -> bool:
    answer = await call(comm, "Heartbeat", {}, message_id="hb")
    return answer[:2] == [3, "hb"]


def basic(user: str, password: str) -> list[tuple[bytes, bytes]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [(b"authorization", f"Basic {token}".encode())]


@database_sync_to_async
def get_charger(charger_id: str = "CP1") -> Charger:
    return Charger.objects.get(charger_id=charger_id)


@database_sync_to_async
def count(model, **filters) -> int:
    return model.objects.filter(**filters).count()


@database_sync_to_async
def create_charger(charger_id: str = "CP1", password: str | None = None, **fields) -> Charger:
    charger = Charger.objects.create(charger_id=charger_id, **fields)
    if password:
        charger_set_password(charger_id=charger_id, password=password)
    return charger


@database_sync_to_async
def log_rows(**filters) -> list[MessageLog]:
    return list(MessageLog.objects.filter(**filters).order_by("id"))


def strings(value):
    """Every string (keys too) inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


async def flushed_log_rows(**filters) -> list[MessageLog]:
    await get_writer().flush()
    return await log_rows(**filters)


# -- handshake: identity and subprotocol ---------------------------------------------------


async def test_it_accepts_a_charger_and_selects_ocpp16():
    comm = communicator("/ocpp/CP1")
    assert await comm.connect(timeout=TIMEOUT) == (True, "ocpp1.6")
    await comm.disconnect()


async def test_it_registers_the_charger_as_connected_with_its_path():
    async with charger("/ocpp16/CP001"):
        stored = await get_charger("CP001")
        assert (stored.connected, stored.last_path, stored.subprotocol) == (True, "/ocpp16/CP001", "ocpp1.6")


@pytest.mark.parametrize("path", ["/ocpp/CP1", "/CP1/", "/foo/bar/CP1/", "/?chargePointId=CP1", "/ocpp/X?cid=CP1"])
async def test_it_registers_the_charger_named_by_path_or_query(path):
    async with charger(path):
        assert (await get_charger("CP1")).connected


async def test_it_selects_ocpp16_among_other_offered_protocols():
    comm = communicator(subprotocols=["ocpp2.0.1", "ocpp1.6", "ocpp1.5"])
    assert await comm.connect(timeout=TIMEOUT) == (True, "ocpp1.6")
    await comm.disconnect()


async def test_it_accepts_a_charger_offering_no_subprotocol():
    comm = communicator(subprotocols=[])
    assert await comm.connect(timeout=TIMEOUT) == (True, None)
    await comm.disconnect()


async def test_it_closes_a_charger_offering_only_unknown_protocols():
    comm = communicator(subprotocols=["ocpp2.0.1"])
    connected, subprotocol = await comm.connect(timeout=TIMEOUT)
    closing = await comm.receive_output(timeout=TIMEOUT)
    assert (connected, subprotocol, closing["type"], closing.get("code")) == (True, None, "websocket.close", 1002)
    await comm.disconnect()


async def test_it_registers_no_charger_offering_only_unknown_protocols():
    comm = communicator(subprotocols=["ocpp2.0.1"])
    await comm.connect(timeout=TIMEOUT)
    await comm.receive_output(timeout=TIMEOUT)
    await comm.disconnect()
    assert await count(Charger) == 0


async def test_it_logs_the_selected_subprotocol_to_the_charger_log(tmp_path):
    async with charger():
        pass
    flush_charger_logs()
    assert "Connected (subprotocol=ocpp1.6)" in (tmp_path / "charger.CP1.log").read_text()


async def test_it_logs_no_subprotocol_to_the_charger_log(tmp_path):
    async with charger(subprotocols=[]):
        pass
    flush_charger_logs()
    assert "Connected (subprotocol=none)" in (tmp_path / "charger.CP1.log").read_text()


async def test_it_logs_the_disconnect_with_its_code(tmp_path):
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    await comm.disconnect(code=1001)
    flush_charger_logs()
    assert "Disconnected (code=1001)" in (tmp_path / "charger.CP1.log").read_text()


@pytest.mark.parametrize(
    ("path", "raw_path"),
    [
        ("/ocpp/CP/1", b"/ocpp/CP%2F1"),
        ("/ocpp/..", b"/ocpp/%2E%2E"),
        ("/ocpp/" + "x" * 49, ("/ocpp/" + "x" * 49).encode()),
        ("/", b"/"),
        ("/ocpp/CP\x01", b"/ocpp/CP%01"),
    ],
    ids=["encoded-slash", "dotdot", "too-long", "no-id", "control"],
)
async def test_it_refuses_a_bad_charger_id_before_the_upgrade(path, raw_path):
    comm = communicator(path, raw_path=raw_path)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert (connected, await count(Charger)) == (False, 0)


async def test_it_marks_the_charger_offline_on_disconnect():
    async with charger():
        pass
    stored = await get_charger()
    assert (stored.connected, stored.disconnected_at is not None) == (False, True)


# -- handshake: unknown chargers and Basic auth ----------------------------------------------


async def test_it_refuses_an_unknown_charger_when_unknown_chargers_are_rejected(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "reject"
    comm = communicator()
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert (connected, await count(Charger)) == (False, 0)


async def test_it_accepts_a_known_charger_when_unknown_chargers_are_rejected(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "reject"
    await create_charger()
    async with charger() as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_creates_an_unknown_charger_pending_in_pending_mode(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "pending"
    async with charger():
        assert (await get_charger()).registration_status == "Pending"


async def test_it_answers_the_boot_of_a_pending_charger_pending_with_the_retry_interval(settings):
    settings.OCPP_UNKNOWN_CHARGERS = "pending"
    settings.OCPP_BOOT_RETRY_INTERVAL = 17
    async with charger() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[2]["status"], answer[2]["interval"]) == ("Pending", 17)


async def test_it_refuses_a_charger_with_a_password_and_no_credentials(fast_hasher):
    await create_charger(password=PASSWORD)
    comm = communicator()
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_a_charger_with_a_wrong_password(fast_hasher):
    await create_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", "wrong-password-wrong"))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_credentials_for_another_charger(fast_hasher):
    await create_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP2", PASSWORD))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_refuses_credentials_that_are_not_basic(fast_hasher):
    await create_charger(password=PASSWORD)
    comm = communicator(headers=[(b"authorization", b"Bearer " + PASSWORD.encode())])
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_accepts_a_charger_with_the_right_password(fast_hasher):
    await create_charger(password=PASSWORD)
    async with charger(headers=basic("CP1", PASSWORD)) as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_refuses_a_charger_without_password_when_auth_is_required(settings):
    settings.OCPP_REQUIRE_AUTH = True
    await create_charger()
    comm = communicator(headers=basic("CP1", "any-password-at-all"))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is False


async def test_it_accepts_a_charger_with_its_password_when_auth_is_required(settings, fast_hasher):
    settings.OCPP_REQUIRE_AUTH = True
    await create_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", PASSWORD))
    connected, _ = await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    assert connected is True


async def test_it_never_writes_the_password_to_the_charger_log(tmp_path, fast_hasher):
    await create_charger(password=PASSWORD)
    comm = communicator(headers=basic("CP1", "wrong-password-wrong"))
    await comm.connect(timeout=TIMEOUT)
    await comm.disconnect()
    async with charger(headers=basic("CP1", PASSWORD)):
        pass
    flush_charger_logs()
    text = (tmp_path / "charger.CP1.log").read_text()
    assert "Refused" in text and PASSWORD not in text and "wrong-password-wrong" not in text


# -- one live connection per charger ---------------------------------------------------------


async def test_it_closes_the_old_connection_when_the_same_charger_connects_again():
    first = communicator()
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    closing = await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    await second.disconnect()
    assert closing["type"] == "websocket.close"


async def test_it_keeps_the_new_connection_registered_when_the_old_one_closes():
    first = communicator()
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    new_connection_id = consumers.LIVE["CP1"].connection_id
    await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    stored = await get_charger()
    still_live = consumers.LIVE.get("CP1")
    answered = await heartbeat_still_answered(second)
    await second.disconnect()
    assert (stored.connected, stored.connection_id) == (True, new_connection_id)
    assert still_live is not None and still_live.connection_id == new_connection_id
    assert answered


async def test_it_marks_the_charger_offline_when_the_newest_connection_closes():
    first = communicator()
    await first.connect(timeout=TIMEOUT)
    second = communicator()
    await second.connect(timeout=TIMEOUT)
    await first.receive_output(timeout=TIMEOUT)
    await first.disconnect()
    await second.disconnect()
    assert (await get_charger()).connected is False
    assert "CP1" not in consumers.LIVE


# -- the sink ----------------------------------------------------------------------------------


async def test_it_answers_every_call_on_the_sink_with_an_empty_result():
    comm = communicator("/ws/sink/")
    connected, _ = await comm.connect(timeout=TIMEOUT)
    answer = await call(comm, "WhateverAction", {"x": 1}, message_id="s1")
    await comm.disconnect()
    assert (connected, answer) == (True, [3, "s1", {}])


async def test_it_stores_nothing_from_the_sink():
    comm = communicator("/ws/sink/")
    await comm.connect(timeout=TIMEOUT)
    await call(comm, "BootNotification", BOOT)
    await comm.disconnect()
    await get_writer().flush()
    assert (await count(Charger), await count(MessageLog)) == (0, 0)


async def test_it_keeps_the_sink_open_after_garbage():
    comm = communicator("/ws/sink/")
    await comm.connect(timeout=TIMEOUT)
    await comm.send_to(text_data="not json")
    answer = await call(comm, "Heartbeat", {}, message_id="s2")
    await comm.disconnect()
    assert answer == [3, "s2", {}]


# -- every CP-initiated message --------------------------------------------------------------


async def test_it_answers_an_accepted_boot_with_the_heartbeat_interval(settings):
    settings.OCPP_HEARTBEAT_INTERVAL = 42
    async with charger() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[0], answer[1], answer[2]["status"], answer[2]["interval"]) == (3, "m1", "Accepted", 42)
    assert answer[2]["currentTime"].endswith("Z")


async def test_it_stores_the_boot_fields_on_the_charger():
    async with charger() as comm:
        await call(comm, "BootNotification", {**BOOT, "firmwareVersion": "1.0", "iccid": "8931", "meterType": "M"})
    stored = await get_charger()
    assert (stored.vendor, stored.model, stored.firmware_version, stored.iccid, stored.meter_type) == (
        "ACME",
        "Volt",
        "1.0",
        "8931",
        "M",
    )


async def test_it_answers_a_rejected_chargers_boot_rejected_with_the_retry_interval(settings):
    settings.OCPP_BOOT_RETRY_INTERVAL = 19
    await create_charger(registration_status="Rejected")
    async with charger() as comm:
        answer = await call(comm, "BootNotification", BOOT)
    assert (answer[2]["status"], answer[2]["interval"]) == ("Rejected", 19)


async def test_it_answers_a_rejected_chargers_other_messages_with_security_error():
    await create_charger(registration_status="Rejected")
    async with charger() as comm:
        assert await error_code(comm, "Heartbeat", {}) == "SecurityError"


async def test_it_lets_a_charger_accepted_since_it_connected_speak_after_its_boot():
    await create_charger(registration_status="Rejected")
    async with charger() as comm:
        await database_sync_to_async(Charger.objects.filter(charger_id="CP1").update)(registration_status="Accepted")
        await call(comm, "BootNotification", BOOT)
        assert await heartbeat_still_answered(comm)


async def test_it_answers_a_heartbeat_with_the_current_time():
    async with charger() as comm:
        answer = await call(comm, "Heartbeat", {})
    assert answer[2]["currentTime"].endswith("Z")
    assert (await get_charger()).last_heartbeat is not None


async def test_it_answers_authorize_for_a_known_tag():
    await database_sync_to_async(RFID.objects.create)(id_tag="TAG1", status="Blocked", parent_id_tag="P")
    async with charger() as comm:
        answer = await call(comm, "Authorize", {"idTag": "TAG1"})
    assert answer[2] == {"idTagInfo": {"status": "Blocked", "parentIdTag": "P"}}


async def test_it_answers_authorize_for_an_unknown_tag_with_an_expiry():
    async with charger() as comm:
        answer = await call(comm, "Authorize", {"idTag": "NEW"})
    assert answer[2]["idTagInfo"]["status"] == "Accepted"
    assert answer[2]["idTagInfo"]["expiryDate"].endswith("Z")


async def test_it_answers_start_transaction_with_a_stored_transaction_id():
    async with charger() as comm:
        answer = await call(comm, "StartTransaction", START)
    tx_id = answer[2]["transactionId"]
    assert isinstance(tx_id, int)
    assert await count(Transaction, pk=tx_id, charger__charger_id="CP1", meter_start=1000) == 1


async def test_it_answers_a_replayed_start_transaction_with_the_same_id():
    async with charger() as comm:
        first = await call(comm, "StartTransaction", START, message_id="a")
        again = await call(comm, "StartTransaction", START, message_id="b")
    assert first[2]["transactionId"] == again[2]["transactionId"]
    assert await count(Transaction) == 1


async def test_it_answers_a_full_transaction():
    async with charger() as comm:
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
    assert await count(MeterReading, transaction_id=tx_id) == 3
    assert (await get_charger()).last_meter_values["meterValue"][0]["sampledValue"][1]["measurand"] == (
        "Power.Active.Import"
    )


async def test_it_answers_a_stop_for_an_unknown_transaction_without_an_error():
    async with charger() as comm:
        answer = await call(
            comm, "StopTransaction", {"transactionId": 987654, "meterStop": 1, "timestamp": "2024-05-01T12:00:00Z"}
        )
    assert answer == [3, "m1", {}]
    assert await count(ChargerEvent, kind="transaction", status="UnknownTransaction") == 1


async def test_it_answers_a_stop_with_an_out_of_range_transaction_id_without_an_error():
    async with charger() as comm:
        answer = await call(
            comm, "StopTransaction", {"transactionId": 2**40, "meterStop": 1, "timestamp": "2024-05-01T12:00:00Z"}
        )
    assert answer == [3, "m1", {}]


async def test_it_answers_a_stop_with_an_id_tag_with_its_status():
    async with charger() as comm:
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
    async with charger() as comm:
        answer = await call(comm, "StatusNotification", payload)
    assert answer == [3, "m1", {}]
    assert await count(Connector, connector_id=connector_id, status="Available") == 1
    assert await count(StatusNotificationRecord, connector_id=connector_id) == 1


async def test_it_answers_data_transfer_from_an_unknown_vendor_with_unknown_vendor_id():
    async with charger() as comm:
        answer = await call(comm, "DataTransfer", {"vendorId": "ACME", "data": "x"})
    assert answer[2] == {"status": "UnknownVendorId"}
    assert await count(DataTransferRecord, vendor_id="ACME", data="x") == 1


async def test_it_accepts_data_transfer_from_a_configured_vendor(settings):
    settings.OCPP_DATA_TRANSFER_VENDORS = ["ACME"]
    async with charger() as comm:
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
    async with charger() as comm:
        answer = await call(comm, action, payload)
    assert answer == [3, "m1", {}]
    assert await count(ChargerEvent, kind=kind, status=payload["status"]) == 1
    assert getattr(await get_charger(), field) == payload["status"]


async def test_it_stores_a_security_event():
    payload = {"type": "SettingSystemTime", "timestamp": "2024-05-01T12:00:00Z", "techInfo": "ntp"}
    async with charger() as comm:
        answer = await call(comm, "SecurityEventNotification", payload)
    assert answer == [3, "m1", {}]
    assert await count(ChargerEvent, kind="security", status="SettingSystemTime") == 1


async def test_it_stores_a_csr_and_answers_rejected():
    async with charger() as comm:
        answer = await call(comm, "SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----"})
    assert answer[2] == {"status": "Rejected"}
    assert await count(CertificateSigningRequest, charger__charger_id="CP1") == 1


# -- CALLERROR cases -----------------------------------------------------------------------------


async def test_it_answers_an_unknown_action_with_not_implemented():
    async with charger() as comm:
        assert await error_code(comm, "Teleport", {}) == "NotImplemented"


async def test_it_answers_a_central_system_action_sent_by_a_charger_with_not_supported():
    async with charger() as comm:
        assert await error_code(comm, "RemoteStartTransaction", {"idTag": "T"}) == "NotSupported"


async def test_it_answers_a_missing_field_with_protocol_error():
    async with charger() as comm:
        assert await error_code(comm, "BootNotification", {"chargePointVendor": "ACME"}) == "ProtocolError"


async def test_it_answers_a_wrong_type_with_type_constraint_violation():
    async with charger() as comm:
        assert await error_code(comm, "Authorize", {"idTag": 12345}) == "TypeConstraintViolation"


async def test_it_answers_a_too_long_string_with_type_constraint_violation():
    async with charger() as comm:
        assert await error_code(comm, "Authorize", {"idTag": "T" * 21}) == "TypeConstraintViolation"


async def test_it_answers_a_bad_enum_with_property_constraint_violation():
    payload = {"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"}
    async with charger() as comm:
        assert await error_code(comm, "StatusNotification", payload) == "PropertyConstraintViolation"


async def test_it_answers_an_extra_field_with_formation_violation():
    async with charger() as comm:
        assert await error_code(comm, "Heartbeat", {"extra": True}) == "FormationViolation"


async def test_it_answers_invalid_json_with_a_readable_id_with_formation_violation():
    async with charger() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat",{"oops"]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_ignores_invalid_json_without_a_readable_id_and_stays_open():
    async with charger() as comm:
        await comm.send_to(text_data="{{{ not json")
        assert await heartbeat_still_answered(comm)


@pytest.mark.parametrize("frame", ['{"a": 1}', '"hello"', "42", "[]", '[2, 17, "Heartbeat", {}]'])
async def test_it_ignores_a_frame_that_is_not_an_ocpp_array_and_stays_open(frame):
    async with charger() as comm:
        await comm.send_to(text_data=frame)
        assert await heartbeat_still_answered(comm)


async def test_it_answers_a_short_array_with_an_id_with_formation_violation():
    async with charger() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat"]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_a_payload_that_is_not_an_object_with_formation_violation():
    async with charger() as comm:
        answer = await raw(comm, '[2,"m1","Heartbeat",[1,2]]')
    assert answer[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_deep_nesting_with_formation_violation_and_stays_open():
    frame = '[2,"m1","DataTransfer",{"vendorId":"v","data":' + "[" * 50_000 + "]" * 50_000 + "}]"
    async with charger() as comm:
        answer = await raw(comm, frame)
        assert answer[:3] == [4, "m1", "FormationViolation"]
        assert await heartbeat_still_answered(comm)


async def test_it_answers_moderate_nesting_with_formation_violation():
    frame = '[2,"m1","DataTransfer",{"vendorId":"v","data":' + "[" * 200 + "]" * 200 + "}]"
    async with charger() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_it_answers_nan_and_infinity_with_formation_violation(number):
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":' + number
    frame += ',"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]
    assert await count(Transaction) == 0


async def test_it_answers_a_too_long_integer_with_formation_violation():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":' + "9" * 4301
    frame += ',"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger() as comm:
        assert (await raw(comm, frame))[:3] == [4, "m1", "FormationViolation"]


async def test_it_answers_a_lone_surrogate_with_formation_violation_and_stores_nothing():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"AB\\ud800","meterStart":0,'
    frame += '"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger() as comm:
        answer = await raw(comm, frame)
        assert await heartbeat_still_answered(comm)
    assert answer[:3] == [4, "m1", "FormationViolation"]
    assert await count(Transaction) == 0


async def test_it_answers_a_nul_in_an_id_tag_with_an_error_and_stores_no_nul():
    frame = '[2,"m1","StartTransaction",{"connectorId":1,"idTag":"A\\u0000B","meterStart":0,'
    frame += '"timestamp":"2024-05-01T12:00:00Z"}]'
    async with charger() as comm:
        answer = await raw(comm, frame)
    assert answer[:3] == [4, "m1", "PropertyConstraintViolation"]
    assert await count(Transaction) == 0


async def test_it_answers_a_bad_timestamp_with_type_constraint_violation():
    async with charger() as comm:
        assert await error_code(comm, "StartTransaction", {**START, "timestamp": "yesterday"}) == (
            "TypeConstraintViolation"
        )
    assert await count(Transaction) == 0


@pytest.mark.parametrize("connector_id", [-1, 2**31])
async def test_it_answers_an_out_of_range_connector_id_with_property_constraint_violation(connector_id):
    payload = {"connectorId": connector_id, "errorCode": "NoError", "status": "Available"}
    async with charger() as comm:
        assert await error_code(comm, "StatusNotification", payload) == "PropertyConstraintViolation"


async def test_it_closes_the_socket_with_1009_on_an_oversized_frame(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    await comm.send_to(text_data=json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": "x" * 300}]))
    closing = await comm.receive_output(timeout=TIMEOUT)
    await comm.disconnect()
    assert (closing["type"], closing.get("code")) == ("websocket.close", 1009)
    assert await count(DataTransferRecord) == 0


async def test_it_counts_the_frame_limit_in_bytes(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    # 80 characters, 240 bytes in UTF-8.
    await comm.send_to(
        text_data=json.dumps([2, "m1", "DataTransfer", {"vendorId": "v", "data": "€" * 60}], ensure_ascii=False)
    )
    closing = await comm.receive_output(timeout=TIMEOUT)
    await comm.disconnect()
    assert (closing["type"], closing.get("code")) == ("websocket.close", 1009)


async def test_it_answers_a_frame_within_the_limit(settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    async with charger() as comm:
        assert await heartbeat_still_answered(comm)


async def test_it_drops_an_unsolicited_callresult():
    async with charger() as comm:
        await comm.send_to(text_data='[3,"nobody-asked",{"status":"Accepted"}]')
        await comm.send_to(text_data='[4,"nobody-asked-either","GenericError","",{}]')
        assert await heartbeat_still_answered(comm)


async def test_it_accepts_a_binary_utf8_frame():
    async with charger() as comm:
        await comm.send_to(bytes_data=b'[2,"b1","Heartbeat",{}]')
        assert (await reply(comm))[:2] == [3, "b1"]


# -- message log -------------------------------------------------------------------------------


async def test_it_logs_frames_in_and_out():
    async with charger() as comm:
        await call(comm, "Heartbeat", {}, message_id="h1")
        rows = await flushed_log_rows(charger_id="CP1")
    assert [(r.direction, r.message_type, r.action, r.message_id) for r in rows] == [
        ("in", 2, "Heartbeat", "h1"),
        ("out", 3, "Heartbeat", "h1"),
    ]
    assert "currentTime" in rows[1].payload


async def test_it_logs_a_callerror_answer():
    async with charger() as comm:
        await call(comm, "Teleport", {}, message_id="t1")
        rows = await flushed_log_rows(charger_id="CP1", direction="out")
    assert (rows[0].message_type, rows[0].payload["errorCode"]) == (4, "NotImplemented")


async def test_it_flushes_the_log_when_the_charger_disconnects():
    async with charger() as comm:
        await call(comm, "Heartbeat", {}, message_id="h1")
    assert len(await log_rows(charger_id="CP1")) == 2


async def test_it_logs_an_unreadable_frame():
    async with charger() as comm:
        await comm.send_to(text_data="garbage")
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    assert rows[0].payload == {"raw": "garbage", "truncated": False}


@pytest.mark.parametrize(
    "frame",
    [
        '[2,"m1","Authorize",{"idTag":"A\\u0000B"}]',
        '[2,"m1","Authorize",{"idTag":"A\\ud800B"}]',
        '[3,"m1",{"x":"A\\u0000B"}]',
        '[3,"m1",{"x":"A\\udfffB"}]',
        '[2,"m1","Foo\\u0000",{}]',
    ],
    ids=["nul-call", "surrogate-call", "nul-result", "surrogate-result", "nul-action"],
)
async def test_it_stores_nul_and_surrogate_frames_safely_in_the_log(frame):
    async with charger() as comm:
        await comm.send_to(text_data=frame)
        if frame.startswith("[2"):
            assert (await reply(comm))[:2] == [4, "m1"]
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    texts = list(strings([r.payload for r in rows]))
    assert len(rows) == 2
    assert not [text for text in texts if "\x00" in text]
    assert "".join(texts).encode("utf-8")  # no lone surrogate survives (would raise)


# -- operator calls through the channel layer ------------------------------------------------


async def operator_call(action: str, payload: dict, timeout: float = TIMEOUT) -> str:
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    await layer.send(
        consumers.LIVE["CP1"].channel_name,
        {
            "type": "ocpp.call",
            "action": action,
            "payload": payload,
            "request_id": "r1",
            "reply_channel": reply_channel,
            "timeout": timeout,
        },
    )
    return reply_channel


async def test_it_relays_an_operator_call_and_the_chargers_answer():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Soft"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (sent[0], sent[2], sent[3]) == (2, "Reset", {"type": "Soft"})
    assert (answer["request_id"], answer["status"], answer["payload"]) == ("r1", "ok", {"status": "Accepted"})


async def test_it_relays_a_chargers_callerror_answer():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([4, sent[1], "NotSupported", "no", {}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (answer["status"], answer["error_code"]) == ("call_error", "NotSupported")


async def test_it_reports_an_invalid_answer_to_an_operator_call():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Maybe"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert answer["status"] == "invalid_response"


async def test_it_refuses_an_operator_call_that_fails_the_schema_without_sending_it():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Gentle"})
        answer = await get_channel_layer().receive(reply_channel)
        assert await heartbeat_still_answered(comm)
    assert (answer["status"], answer["error_code"]) == ("invalid", "PropertyConstraintViolation")


async def test_it_reports_a_timeout_of_an_operator_call():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"}, timeout=0.05)
        await reply(comm)
        answer = await get_channel_layer().receive(reply_channel)
    assert answer["status"] == "timeout"


async def test_it_answers_the_chargers_calls_while_an_operator_call_is_open():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Hard"})
        sent = await reply(comm)
        answered = await heartbeat_still_answered(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        answer = await get_channel_layer().receive(reply_channel)
    assert (answered, answer["status"]) == (True, "ok")


async def test_it_logs_the_operator_call_and_its_answer_with_the_action():
    async with charger() as comm:
        reply_channel = await operator_call("Reset", {"type": "Soft"})
        sent = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent[1], {"status": "Accepted"}]))
        await get_channel_layer().receive(reply_channel)
        rows = await flushed_log_rows(charger_id="CP1", message_id=sent[1])
    assert [(r.direction, r.message_type, r.action) for r in rows] == [("out", 2, "Reset"), ("in", 3, "Reset")]


async def test_it_reports_not_connected_when_the_charger_leaves_during_an_operator_call():
    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    reply_channel = await operator_call("Reset", {"type": "Hard"})
    await reply(comm)
    await comm.disconnect()
    answer = await asyncio.wait_for(get_channel_layer().receive(reply_channel), TIMEOUT)
    assert answer["status"] == "not_connected"


async def test_it_closes_a_connection_replaced_in_another_process():
    async with charger() as comm:
        await get_channel_layer().send(
            consumers.LIVE["CP1"].channel_name, {"type": "ocpp.replaced", "connection_id": "elsewhere"}
        )
        closing = await comm.receive_output(timeout=TIMEOUT)
    assert closing["type"] == "websocket.close"


async def test_it_ignores_a_replacement_notice_about_itself():
    async with charger() as comm:
        live = consumers.LIVE["CP1"]
        await get_channel_layer().send(
            live.channel_name, {"type": "ocpp.replaced", "connection_id": live.connection_id}
        )
        assert await heartbeat_still_answered(comm)


# -- robustness found by these tests ---------------------------------------------------------


async def test_it_logs_a_reply_holding_a_number_that_overflows():
    async with charger() as comm:
        await comm.send_to(text_data='[3,"late",{"v":1e999}]')
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1", direction="in")
    assert [r.message_id for r in rows] == ["late", "hb"]
    assert rows[0].payload["v"] != float("inf")


async def test_it_never_takes_a_message_id_with_control_characters_from_an_invalid_frame():
    async with charger() as comm:
        await comm.send_to(text_data='[2,"a\x00b","Heartbeat",{')
        assert await heartbeat_still_answered(comm)
        rows = await flushed_log_rows(charger_id="CP1")
    assert not [r.message_id for r in rows if "\x00" in r.message_id]


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
async def test_it_answers_a_timestamp_out_of_range_with_type_constraint_violation(timestamp):
    async with charger() as comm:
        assert await error_code(comm, "StartTransaction", {**START, "timestamp": timestamp}) == (
            "TypeConstraintViolation"
        )


async def test_it_names_a_charger_log_file_safely():
    name = log_file_name("../évil id")
    assert "/" not in name and name.startswith("charger.") and name.endswith(".log")


async def test_it_keeps_ids_that_sanitise_alike_in_different_log_files():
    assert log_file_name("CP 1") != log_file_name("CP_1") != log_file_name("CP?1")


async def test_it_keeps_a_plain_id_as_the_log_file_name():
    assert log_file_name("CP-001.a") == "charger.CP-001.a.log"


@pytest.mark.parametrize(
    "answer",
    [
        '[3,"{id}",{{"configurationKey":[{{"key":"K","readonly":true,"value":"a\\u0000b"}}]}}]',
        '[3,"{id}",{{"configurationKey":[{{"key":"K","readonly":true,"value":"a\\ud800b"}}]}}]',
        '[4,"{id}","GenericError","bad\\u0000thing",{{"k":"\\u0000"}}]',
        '[4,"{id}","Generic\\u0000Error","",{{}}]',
    ],
    ids=["nul-result", "surrogate-result", "nul-description", "nul-code"],
)
async def test_it_never_relays_nul_or_surrogates_from_a_chargers_answer(answer):
    async with charger() as comm:
        reply_channel = await operator_call("GetConfiguration", {})
        sent = await reply(comm)
        await comm.send_to(text_data=answer.format(id=sent[1]))
        relayed = await get_channel_layer().receive(reply_channel)
    texts = list(strings(relayed))
    assert relayed["status"] in ("ok", "call_error")
    assert not [text for text in texts if "\x00" in text]
    assert "".join(texts).encode("utf-8")  # no lone surrogate (would raise)


async def test_it_keeps_the_other_connection_when_a_replacement_fails_authentication(fast_hasher):
    await create_charger(password=PASSWORD)
    async with charger(headers=basic("CP1", PASSWORD)) as first:
        intruder = communicator(headers=basic("CP1", "wrong-password-wrong"))
        refused, _ = await intruder.connect(timeout=TIMEOUT)
        await intruder.disconnect()
        assert refused is False
        assert await heartbeat_still_answered(first)
        assert (await get_charger()).connected is True


async def test_it_unregisters_a_charger_even_when_its_log_cannot_be_written(monkeypatch):
    async def broken_flush(self):
        raise OperationalError("database is unavailable")

    comm = communicator()
    await comm.connect(timeout=TIMEOUT)
    monkeypatch.setattr(MessageLogWriter, "flush", broken_flush)
    await comm.disconnect()
    assert "CP1" not in consumers.LIVE
    assert (await get_charger()).connected is False


# -- several chargers, backlogs ----------------------------------------------------------------


async def test_it_answers_a_replayed_backlog_in_order_and_stores_it_all():
    frames = []
    for minute in range(20):
        meter = {
            "connectorId": 1,
            "meterValue": [{"timestamp": f"2024-05-01T12:{minute:02d}:00Z", "sampledValue": [{"value": str(minute)}]}],
        }
        frames.append(json.dumps([2, f"q{minute}", "MeterValues", meter]))
    async with charger() as comm:
        for frame in frames:  # queued by the charger while offline, sent back to back
            await comm.send_to(text_data=frame)
        answers = [await reply(comm) for _ in frames]
    assert [a[:2] for a in answers] == [[3, f"q{minute}"] for minute in range(20)]
    assert await count(MeterReading, charger__charger_id="CP1") == 20


async def test_it_gives_simultaneous_starts_of_two_chargers_different_ids():
    async with charger("/ocpp/CPA") as a, charger("/ocpp/CPB") as b:
        await a.send_to(text_data=json.dumps([2, "s", "StartTransaction", START]))
        await b.send_to(text_data=json.dumps([2, "s", "StartTransaction", START]))
        answer_a, answer_b = await reply(a), await reply(b)
    assert answer_a[2]["transactionId"] != answer_b[2]["transactionId"]
    assert await count(Transaction) == 2


async def test_it_never_lets_a_charger_stop_another_chargers_transaction():
    async with charger("/ocpp/CPA") as a, charger("/ocpp/CPB") as b:
        tx_id = (await call(a, "StartTransaction", START))[2]["transactionId"]
        stop = {"transactionId": tx_id, "meterStop": 9999, "timestamp": "2024-05-01T13:00:00Z"}
        answer = await call(b, "StopTransaction", stop)
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert answer == [3, "m1", {}]
    assert (tx.stop_time, tx.meter_stop) == (None, None)
    assert await count(ChargerEvent, charger__charger_id="CPB", status="ForeignTransaction") == 1


async def test_it_answers_a_replayed_stop_again_without_double_energy():
    async with charger() as comm:
        tx_id = (await call(comm, "StartTransaction", START, message_id="a"))[2]["transactionId"]
        stop = {"transactionId": tx_id, "meterStop": 1500, "timestamp": "2024-05-01T13:00:00Z"}
        first = await call(comm, "StopTransaction", stop, message_id="b")
        again = await call(comm, "StopTransaction", {**stop, "meterStop": 2500}, message_id="c")
    tx = await database_sync_to_async(Transaction.objects.get)(pk=tx_id)
    assert (first, again) == ([3, "b", {}], [3, "c", {}])
    assert (tx.meter_stop, tx.energy_wh) == (1500, 500)


# -- the library's dataclass API on top of call_action -----------------------------------------


async def answer_next_call(comm: WebsocketCommunicator, frame_for) -> None:
    sent = await reply(comm)
    await comm.send_to(text_data=json.dumps(frame_for(sent[1])))


async def test_it_returns_the_library_dataclass_for_a_call():
    async with charger() as comm:
        cp = consumers.LIVE["CP1"].cp
        task = asyncio.ensure_future(cp.call(ocpp_call.Reset(type="Soft")))
        await answer_next_call(comm, lambda mid: [3, mid, {"status": "Accepted"}])
        result = await asyncio.wait_for(task, TIMEOUT)
    assert result == ocpp_result.Reset(status="Accepted")


async def test_it_raises_a_callerror_answer_by_default():
    async with charger() as comm:
        cp = consumers.LIVE["CP1"].cp
        task = asyncio.ensure_future(cp.call(ocpp_call.Reset(type="Soft")))
        await answer_next_call(comm, lambda mid: [4, mid, "InternalError", "broken", {}])
        with pytest.raises(CallErrorReceived) as info:
            await asyncio.wait_for(task, TIMEOUT)
    assert (info.value.code, info.value.description) == ("InternalError", "broken")


async def test_it_returns_none_for_a_callerror_only_when_asked_to_suppress():
    async with charger() as comm:
        cp = consumers.LIVE["CP1"].cp
        task = asyncio.ensure_future(cp.call(ocpp_call.Reset(type="Soft"), suppress=True))
        await answer_next_call(comm, lambda mid: [4, mid, "InternalError", "broken", {}])
        assert await asyncio.wait_for(task, TIMEOUT) is None


async def test_it_sends_one_call_at_a_time():
    async with charger() as comm:
        cp = consumers.LIVE["CP1"].cp
        first = asyncio.ensure_future(cp.call_action("Reset", {"type": "Soft"}))
        second = asyncio.ensure_future(cp.call_action("ClearCache", {}))
        sent_first = await reply(comm)
        nothing_yet = await comm.receive_nothing(timeout=0.05)
        await comm.send_to(text_data=json.dumps([3, sent_first[1], {"status": "Accepted"}]))
        sent_second = await reply(comm)
        await comm.send_to(text_data=json.dumps([3, sent_second[1], {"status": "Accepted"}]))
        await asyncio.wait_for(asyncio.gather(first, second), TIMEOUT)
    assert (sent_first[2], nothing_yet, sent_second[2]) == ("Reset", True, "ClearCache")


async def test_it_logs_connections_to_the_project_log_without_the_password(caplog, fast_hasher):
    await create_charger(password=PASSWORD)
    with caplog.at_level(logging.INFO, logger="ocpp_app"):
        async with charger(headers=basic("CP1", PASSWORD)):
            pass
    assert "Connected (subprotocol=ocpp1.6)" in caplog.text
    assert "Disconnected (code=1000)" in caplog.text
    assert PASSWORD not in caplog.text
