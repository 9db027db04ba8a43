"""What the central system keeps from a command's answer, end to end: a real
server, a real charge point, the REST API."""

import pytest
import websockets
from asgiref.sync import sync_to_async
from ocpp.v16 import call

from ocpp_app.models import (
    Charger,
    ChargerEvent,
    ChargingProfileRecord,
    Command,
    DataTransferRecord,
    LocalListEntry,
    Reservation,
    ReservationStatus,
    Transaction,
)
from ocpp_app.services.chargers import charger_set_password
from ocpp_app.tests.commands.samples import ANSWERS, PROFILE, SAMPLES
from ocpp_app.tests.helpers import basic, connected_charge_point, wait_connected

pytestmark = pytest.mark.e2e


async def test_remote_start_answers_the_transaction_id_of_the_start_that_follows(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-RS"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        status, body = await api.action(cid, "RemoteStartTransaction", {"connectorId": 1, "idTag": "TAG-RS"})
    assert status == 200, body
    assert body["response"] == {"status": "Accepted"}
    assert body["transaction_id"] is not None
    assert body["transaction_id"] == cp.started_transaction_id
    tx = await Transaction.objects.aget(pk=body["transaction_id"])
    assert tx.id_tag == "TAG-RS" and tx.connector_id == 1


async def test_remote_start_without_a_following_start_answers_no_transaction_id(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-RS2"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        cp.start_after_remote = False
        await wait_connected(cid)
        status, body = await api.action(cid, "remote_start", {"connectorId": 1, "idTag": "TAG-X"}, timeout=0.5)
    assert status == 200, body
    assert body["transaction_id"] is None
    assert not await Transaction.objects.filter(charger__charger_id=cid).aexists()


async def test_a_rejected_remote_start_answers_a_null_transaction_id(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-RS3"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        cp.answers["RemoteStartTransaction"] = {"status": "Rejected"}
        await wait_connected(cid)
        status, body = await api.action(cid, "RemoteStartTransaction", {"idTag": "TAG-X"})
    assert status == 200, body
    assert body["response"] == {"status": "Rejected"} and body["transaction_id"] is None


async def test_remote_stop_alias_stops_the_active_transaction(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-STOP"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        started = await cp.call(
            call.StartTransaction(connector_id=2, id_tag="T1", meter_start=0, timestamp="2026-01-01T00:00:00Z")
        )
        status, body = await api.action(cid, "remote_stop")
    assert status == 200, body
    assert body["action"] == "RemoteStopTransaction"
    assert body["request"] == {"transactionId": started.transaction_id}
    assert cp.received[-1] == ("RemoteStopTransaction", {"transaction_id": started.transaction_id})


async def test_get_configuration_is_stored_on_the_charger(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-CONF"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        cp.answers["GetConfiguration"] = {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "60"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
            ]
        }
        await api.action(cid, "GetConfiguration", {})
        cp.answers["GetConfiguration"] = {
            "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "90"}],
            "unknownKey": ["Foo"],
        }
        await api.action(cid, "GetConfiguration", {"key": ["HeartbeatInterval", "Foo"]})
        status, _ = await api.action(cid, "ChangeConfiguration", {"key": "MeterValueSampleInterval", "value": "15"})
    assert status == 200
    charger = await Charger.objects.aget(charger_id=cid)
    keys = charger.config["configurationKey"]
    assert keys["HeartbeatInterval"] == {"value": "90", "readonly": False}
    assert keys["NumberOfConnectors"] == {"value": "2", "readonly": True}
    assert keys["MeterValueSampleInterval"]["value"] == "15"
    assert charger.config["unknownKey"] == ["Foo"]


async def _handshake_status(url: str, charger_id: str, password: str) -> int:
    try:
        async with websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=basic(charger_id, password)):
            return 101
    except websockets.InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.parametrize("answer", ["Accepted", "Rejected"])
async def test_authorization_key_rotation(live_ocpp_server, api_for, answer):
    api = await api_for(live_ocpp_server)
    cid = f"FX-KEY-{answer}"
    old, new = "old-password-0123456", "new-password-6543210"
    await sync_to_async(Charger.objects.create)(charger_id=cid)
    await sync_to_async(charger_set_password)(charger_id=cid, password=old)
    url = f"{live_ocpp_server.ws_url}/ocpp/{cid}"
    async with connected_charge_point(url, cid, answers=ANSWERS, additional_headers=basic(cid, old)) as cp:
        await wait_connected(cid)
        cp.answers["ChangeConfiguration"] = {"status": answer}
        status, body = await api.action(cid, "ChangeConfiguration", {"key": "AuthorizationKey", "value": new})
    assert status == 200, body
    # The key is a secret: never echoed, never stored in the command record.
    assert new not in str(body)
    command = await Command.objects.aget(charger__charger_id=cid)
    assert new not in str(command.request)
    assert cp.received[-1] == ("ChangeConfiguration", {"key": "AuthorizationKey", "value": new})
    await wait_connected(cid, connected=False)
    # Nor does the message log show it through the API.
    messages = (await api.get(f"/ocpp/chargers/{cid}/?messages=500"))["messages"]
    assert any(m["action"] == "ChangeConfiguration" and m["direction"] == "out" for m in messages)
    assert new not in str(messages)
    works, fails = (new, old) if answer == "Accepted" else (old, new)
    assert await _handshake_status(url, cid, fails) == 401
    assert await _handshake_status(url, cid, works) == 101


async def test_an_authorization_key_we_could_not_store_is_refused_before_sending(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-KEY-SHORT"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        status, body = await api.action(cid, "ChangeConfiguration", {"key": "AuthorizationKey", "value": "short"})
    assert status == 400, body
    assert cp.received == []


async def test_send_local_list_full_then_differential(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-LL"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        status, _ = await api.action(cid, "SendLocalList", SAMPLES["SendLocalList"][0])
        assert status == 200
        differential = {
            "listVersion": 4,
            "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "L1"}, {"idTag": "L3", "idTagInfo": {"status": "Accepted"}}],
        }
        await api.action(cid, "SendLocalList", differential)
        cp.answers["SendLocalList"] = {"status": "VersionMismatch"}
        await api.action(cid, "SendLocalList", {"listVersion": 9, "updateType": "Full", "localAuthorizationList": []})
        charger = await Charger.objects.aget(charger_id=cid)
        assert charger.local_list_version == 4
        await api.action(cid, "GetLocalListVersion", {})
    tags = [e async for e in LocalListEntry.objects.filter(charger__charger_id=cid).values_list("id_tag", "status")]
    assert sorted(tags) == [("L2", "Blocked"), ("L3", "Accepted")]
    charger = await Charger.objects.aget(charger_id=cid)
    assert charger.local_list_version == 5  # what GetLocalListVersion answered


async def test_reservations_are_kept_cancelled_and_consumed(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-RES"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        await api.action(cid, "ReserveNow", SAMPLES["ReserveNow"][0])
        reservation = await Reservation.objects.aget(reservation_id=901)
        assert reservation.status == ReservationStatus.ACCEPTED
        assert reservation.expiry_date.year == 2030 and reservation.id_tag == "TAG-R"
        await api.action(cid, "CancelReservation", {"reservationId": 901})
        assert (await Reservation.objects.aget(reservation_id=901)).status == ReservationStatus.CANCELLED

        cp.answers["ReserveNow"] = {"status": "Occupied"}
        await api.action(cid, "ReserveNow", {**SAMPLES["ReserveNow"][0], "reservationId": 902})
        assert (await Reservation.objects.aget(reservation_id=902)).status == ReservationStatus.OCCUPIED

        cp.answers["ReserveNow"] = {"status": "Accepted"}
        await api.action(cid, "ReserveNow", {**SAMPLES["ReserveNow"][0], "reservationId": 903})
        started = await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="TAG-R", meter_start=0, timestamp="2026-01-01T00:00:00Z", reservation_id=903
            )
        )
    reservation = await Reservation.objects.aget(reservation_id=903)
    assert reservation.status == ReservationStatus.USED
    assert reservation.transaction_id == started.transaction_id


async def test_charging_profiles_are_recorded_and_cleared(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-SC"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        await api.action(cid, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": PROFILE})
        other = {**PROFILE, "chargingProfileId": 8, "stackLevel": 2}
        await api.action(cid, "SetChargingProfile", {"connectorId": 2, "csChargingProfiles": other})
        cp.answers["SetChargingProfile"] = {"status": "Rejected"}
        await api.action(
            cid, "SetChargingProfile", {"connectorId": 1, "csChargingProfiles": {**PROFILE, "chargingProfileId": 9}}
        )
        await api.action(cid, "ClearChargingProfile", {"id": 7})
    rows = {r.charging_profile_id: r async for r in ChargingProfileRecord.objects.filter(charger__charger_id=cid)}
    assert rows[7].connector_id == 1 and rows[7].status == "Accepted" and rows[7].cleared_at is not None
    assert rows[7].profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 16.4
    assert rows[8].connector_id == 2 and rows[8].cleared_at is None
    assert rows[9].status == "Rejected"


async def test_data_transfer_is_recorded(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-DT"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS):
        await wait_connected(cid)
        await api.action(cid, "DataTransfer", SAMPLES["DataTransfer"][0])
    record = await DataTransferRecord.objects.aget(charger__charger_id=cid)
    assert (record.direction, record.vendor_id, record.status, record.response_data) == (
        "out",
        "Acme",
        "Accepted",
        "pong",
    )


async def test_firmware_and_log_requests_are_linked_to_their_status_notifications(live_ocpp_server, api_for):
    api = await api_for(live_ocpp_server)
    cid = "FX-FW"
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/{cid}", cid, answers=ANSWERS) as cp:
        await wait_connected(cid)
        _, diagnostics = await api.action(cid, "GetDiagnostics", SAMPLES["GetDiagnostics"][0])
        await cp.call(call.DiagnosticsStatusNotification(status="Uploading"))
        _, log = await api.action(cid, "GetLog", SAMPLES["GetLog"][0])
        await cp.call(call.LogStatusNotification(status="Uploading", request_id=77))
    events = {e.kind: e async for e in ChargerEvent.objects.filter(charger__charger_id=cid)}
    assert events["diagnostics"].command_id == diagnostics["command_id"]
    assert events["log"].command_id == log["command_id"]
