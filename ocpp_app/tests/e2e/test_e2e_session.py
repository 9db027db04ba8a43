"""End to end: a real server process (uvicorn, as `make run` serves) and a real
`ocpp` library charge point over `websockets`."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
import websockets
from asgiref.sync import sync_to_async
from ocpp.v16 import call
from ocpp.v16.enums import AuthorizationStatus, RegistrationStatus

from ocpp_app.models import RFID, Charger, ChargerEvent, MessageLog, MeterReading, Transaction
from ocpp_app.models import RegistrationStatus as Reg
from ocpp_app.services.chargers import charger_get_or_create, charger_set_password
from ocpp_app.tests.helpers import basic, connected_charge_point, wait_for

pytestmark = pytest.mark.e2e


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def wait_for_text(path, text: str, timeout: float = 10.0) -> bool:
    """The server appends charger log lines from a background thread."""
    return bool(await wait_for(lambda: path.exists() and text in path.read_text(), timeout))


async def test_it_boots_a_charger_over_a_real_socket(live_ocpp_server):
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp16/E2E1", "E2E1") as cp:
        result = await cp.call(call.BootNotification(charge_point_vendor="Acme", charge_point_model="X1"))
        assert result.status == RegistrationStatus.accepted
        assert result.interval == 60
        charger = await Charger.objects.aget(charger_id="E2E1")
        assert charger.connected
    assert charger.vendor == "Acme"
    assert charger.last_path == "/ocpp16/E2E1"
    assert await wait_for(lambda: not Charger.objects.get(charger_id="E2E1").connected)


@pytest.mark.parametrize(
    "path, expected_id",
    [
        ("/ocpp16/CP001", "CP001"),
        ("/ocpp/CP002", "CP002"),
        ("/CP3/", "CP3"),
        ("/foo/bar/CP4/", "CP4"),
        ("/anything?chargeBoxId=QP5", "QP5"),
        ("/ocpp/PATHID?CID=QP6", "QP6"),
        ("/ocpp/CP7?chargerId=%20%20", "CP7"),
        ("/ocpp/Caf%C3%A9%20%238", "Café #8"),
    ],
)
async def test_it_registers_chargers_from_path_and_query(live_ocpp_server, path, expected_id):
    async with websockets.connect(live_ocpp_server.ws_url + path, subprotocols=["ocpp1.6"]) as ws:
        await ws.send(json.dumps([2, "b1", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}]))
        answer = json.loads(await ws.recv())
    assert answer[0] == 3 and answer[2]["status"] == "Accepted"
    charger = await Charger.objects.aget(charger_id=expected_id)
    assert charger.last_path == unquote(path.split("?")[0])


async def test_it_accepts_a_client_offering_no_subprotocol_and_logs_it(live_ocpp_server):
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/NOSUB") as ws:
        assert ws.subprotocol is None
        await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
        assert json.loads(await ws.recv())[0] == 3
    assert await wait_for_text(live_ocpp_server.log_dir / "charger.NOSUB.log", "Connected (subprotocol=none)")


async def test_it_selects_ocpp16_among_other_offered_subprotocols(live_ocpp_server):
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/MULTI", subprotocols=["ocpp2.0.1", "ocpp1.6"]) as ws:
        assert ws.subprotocol == "ocpp1.6"
    assert await wait_for_text(live_ocpp_server.log_dir / "charger.MULTI.log", "Connected (subprotocol=ocpp1.6)")


async def test_it_refuses_a_client_offering_only_unknown_subprotocols_with_400(live_ocpp_server):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/ONLY201", subprotocols=["ocpp2.0.1"])
    assert refused.value.response.status_code == 400
    assert not await Charger.objects.filter(charger_id="ONLY201").aexists()


async def test_it_refuses_a_bad_charger_id_before_the_upgrade(live_ocpp_server):
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/CP%2F1")
    assert refused.value.response.status_code == 400
    assert not await Charger.objects.filter(charger_id__in=["1", "CP/1"]).aexists()


async def test_it_refuses_an_unknown_charger_with_404_when_unknown_chargers_are_rejected(server_factory):
    await sync_to_async(charger_get_or_create)(charger_id="KNOWN1")
    server = await sync_to_async(server_factory)(OCPP_UNKNOWN_CHARGERS="reject")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws_url}/ocpp/STRANGER")
    assert refused.value.response.status_code == 404
    async with websockets.connect(f"{server.ws_url}/ocpp/KNOWN1", subprotocols=["ocpp1.6"]) as ws:
        assert ws.subprotocol == "ocpp1.6"
    assert not await Charger.objects.filter(charger_id="STRANGER").aexists()


async def test_it_answers_401_without_the_right_basic_auth_password(live_ocpp_server):
    await sync_to_async(charger_get_or_create)(charger_id="SECURE1")
    await sync_to_async(charger_set_password)(charger_id="SECURE1", password="s3cret-key-0123456")
    url = f"{live_ocpp_server.ws_url}/ocpp/SECURE1"
    for headers in ({}, basic("SECURE1", "wrong-key-01234567"), basic("OTHER", "s3cret-key-0123456")):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=headers)
        assert refused.value.response.status_code == 401
    async with websockets.connect(url, additional_headers=basic("SECURE1", "s3cret-key-0123456")) as ws:
        await ws.send(json.dumps([2, "h", "Heartbeat", {}]))
        assert json.loads(await ws.recv())[0] == 3
    server_log = live_ocpp_server.log_text() + (live_ocpp_server.log_dir / "ocpp.log").read_text()
    assert "s3cret-key-0123456" not in server_log


async def test_it_requires_a_password_for_every_charger_with_require_auth(server_factory):
    server = await sync_to_async(server_factory)(OCPP_REQUIRE_AUTH="1")
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(f"{server.ws_url}/ocpp/NOPASS")
    assert refused.value.response.status_code == 401


async def test_it_registers_unknown_chargers_as_pending_when_configured(server_factory):
    server = await sync_to_async(server_factory)(OCPP_UNKNOWN_CHARGERS="pending", OCPP_BOOT_RETRY_INTERVAL="17")
    async with connected_charge_point(f"{server.ws_url}/ocpp/NEWBIE", "NEWBIE") as cp:
        result = await cp.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
    assert result.status == RegistrationStatus.pending
    assert result.interval == 17
    assert (await Charger.objects.aget(charger_id="NEWBIE")).registration_status == Reg.PENDING


async def test_it_runs_a_full_transaction_with_meter_values(live_ocpp_server):
    await RFID.objects.acreate(id_tag="CARD1", status="Accepted")
    start = datetime.now(UTC).replace(microsecond=0)
    async with connected_charge_point(f"{live_ocpp_server.ws_url}/ocpp/TX1", "TX1") as cp:
        await cp.call(call.BootNotification(charge_point_vendor="V", charge_point_model="M"))
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        auth = await cp.call(call.Authorize(id_tag="CARD1"))
        assert auth.id_tag_info["status"] == AuthorizationStatus.accepted
        started = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="CARD1", meter_start=1000, timestamp=iso(start))
        )
        tx_id = started.transaction_id
        for minute in range(1, 4):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=tx_id,
                    meter_value=[
                        {
                            "timestamp": iso(start + timedelta(minutes=minute)),
                            "sampledValue": [
                                {"value": str(1000 + 200 * minute), "unit": "Wh"},
                                {"value": "11.0", "measurand": "Power.Active.Import", "unit": "kW"},
                            ],
                        }
                    ],
                )
            )
        await cp.call(
            call.StopTransaction(
                meter_stop=1800,
                timestamp=iso(start + timedelta(minutes=4)),
                transaction_id=tx_id,
                reason="EVDisconnected",
            )
        )
    tx = await Transaction.objects.aget(pk=tx_id)
    assert (tx.meter_start, tx.meter_stop, tx.energy_wh, tx.stop_reason) == (1000, 1800, 800, "EVDisconnected")
    assert await MeterReading.objects.filter(transaction=tx).acount() == 6
    assert await wait_for(lambda: MessageLog.objects.filter(charger_id="TX1", action="StopTransaction").count() == 2)


async def test_it_stores_a_replayed_backlog_of_500_messages_in_order(live_ocpp_server):
    """A charger back from an outage replays its queue: one CALL at a time, each
    answered before the next; everything is stored, in order, old timestamps
    and all."""
    t0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    frames = [
        [2, "m0", "StartTransaction", {"connectorId": 1, "idTag": "OFFLINE", "meterStart": 0, "timestamp": iso(t0)}]
    ]
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/BACKLOG", subprotocols=["ocpp1.6"]) as ws:
        await ws.send(json.dumps(frames[0]))
        tx_id = json.loads(await ws.recv())[2]["transactionId"]
        for n in range(1, 499):
            frame = [
                2,
                f"m{n}",
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": tx_id,
                    "meterValue": [
                        {"timestamp": iso(t0 + timedelta(seconds=n)), "sampledValue": [{"value": str(n * 10)}]}
                    ],
                },
            ]
            await ws.send(json.dumps(frame))
            answer = json.loads(await ws.recv())
            assert answer == [3, f"m{n}", {}]
        stop = [
            2,
            "m499",
            "StopTransaction",
            {"transactionId": tx_id, "meterStop": 4980, "timestamp": iso(t0 + timedelta(seconds=499))},
        ]
        await ws.send(json.dumps(stop))
        assert json.loads(await ws.recv())[0] == 3
    readings = [r async for r in MeterReading.objects.filter(transaction_id=tx_id).order_by("id")]
    assert len(readings) == 498
    assert [r.timestamp for r in readings] == sorted(r.timestamp for r in readings)
    assert [int(r.value) for r in readings] == [n * 10 for n in range(1, 499)]
    tx = await Transaction.objects.aget(pk=tx_id)
    assert tx.energy_wh == 4980


async def test_it_replaces_a_duplicate_connection_and_keeps_the_new_one_registered(live_ocpp_server):
    await sync_to_async(charger_get_or_create)(charger_id="DUP1")
    await sync_to_async(charger_set_password)(charger_id="DUP1", password="dup1-key-0123456789")
    url = f"{live_ocpp_server.ws_url}/ocpp/DUP1"
    auth = basic("DUP1", "dup1-key-0123456789")
    old = await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=auth)
    new = await websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=auth)
    # The old socket is closed by the server...
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(old.recv(), 5)
    # ...its cleanup did not unregister the new one, which keeps working.
    await new.send(json.dumps([2, "h", "Heartbeat", {}]))
    assert json.loads(await new.recv())[0] == 3
    charger = await Charger.objects.aget(charger_id="DUP1")
    assert charger.connected
    await new.close()
    assert await wait_for(lambda: not Charger.objects.get(charger_id="DUP1").connected)


async def test_a_duplicate_without_credentials_never_replaces_a_connection_that_answers_pings(live_ocpp_server):
    url = f"{live_ocpp_server.ws_url}/ocpp/DUP2"
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as old:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, subprotocols=["ocpp1.6"])
        await old.send(json.dumps([2, "h", "Heartbeat", {}]))
        assert json.loads(await old.recv())[0] == 3
    assert refused.value.response.status_code == 409
    event = await ChargerEvent.objects.aget(charger__charger_id="DUP2")
    assert (event.kind, event.status) == ("security", "TakeoverRefused")


async def test_it_closes_a_socket_sending_an_oversized_frame_with_1009(server_factory):
    server = await sync_to_async(server_factory)(OCPP_MAX_FRAME_BYTES="2048")
    async with websockets.connect(f"{server.ws_url}/ocpp/BIG1", subprotocols=["ocpp1.6"], max_size=None) as ws:
        await ws.send(json.dumps([2, "big", "DataTransfer", {"vendorId": "x", "data": "A" * 5000}]))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd.code == 1009


async def test_it_answers_errors_and_keeps_the_connection_open(live_ocpp_server):
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ocpp/ERR1", subprotocols=["ocpp1.6"]) as ws:
        await ws.send("not json at all")
        await ws.send('[2,"e1","Authorize",{"idTag":"A\\u0000B"}]')
        assert json.loads(await ws.recv())[:3] == [4, "e1", "PropertyConstraintViolation"]
        await ws.send('[2,"e2","NoSuchAction",{}]')
        assert json.loads(await ws.recv())[:3] == [4, "e2", "NotImplemented"]
        await ws.send('[2,"e3","Heartbeat",{"extra":1}]')
        assert json.loads(await ws.recv())[:3] == [4, "e3", "FormationViolation"]
        await ws.send('[2,"e4","Heartbeat",{}]')
        assert json.loads(await ws.recv())[0] == 3


async def test_the_sink_answers_every_call_with_an_empty_result(live_ocpp_server):
    async with websockets.connect(f"{live_ocpp_server.ws_url}/ws/sink/", subprotocols=["ocpp1.6"]) as ws:
        await ws.send('[2,"s1","Anything",{"x":1}]')
        assert json.loads(await ws.recv()) == [3, "s1", {}]
    assert not await Charger.objects.filter(charger_id="sink").aexists()


async def test_it_accepts_a_reconnection_right_after_the_old_socket_died(live_ocpp_server):
    """A charger whose connection dropped without a closing handshake (power
    cut, NAT timeout) reconnects at once: the dead socket must not block it."""
    url = f"{live_ocpp_server.ws_url}/ocpp/ABRUPT1"
    for _ in range(3):
        old = await websockets.connect(url, subprotocols=["ocpp1.6"])
        await old.send(json.dumps([2, "h", "Heartbeat", {}]))
        await old.recv()
        old.transport.abort()  # no close frame, like a pulled cable
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:
        await ws.send(json.dumps([2, "h2", "Heartbeat", {}]))
        assert json.loads(await ws.recv())[:2] == [3, "h2"]
        assert (await Charger.objects.aget(charger_id="ABRUPT1")).connected
