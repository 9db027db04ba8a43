"""Each central-system command, sent through a fake CSMS (the `ocpp` library's
charge point as central system), gets the answer a real charger gives."""

import asyncio

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from simulator import ChargePointSimulator
from simulator.tests.conftest import fast_config


async def send(csms, payload):
    return await csms.current.call(payload, suppress=False)


def statuses(csms, connector_id: int) -> list[str]:
    return [p["status"] for p in csms.actions("StatusNotification") if p["connector_id"] == connector_id]


async def remote_start(csms, sim, id_tag="R1"):
    result = await send(csms, call.RemoteStartTransaction(id_tag=id_tag, connector_id=1))
    assert result.status == "Accepted"
    await csms.wait_for(lambda: len(csms.actions("MeterValues")) >= 1)
    return sim.connectors[1].session


async def test_it_boots_then_reports_every_connector(csms, sim):
    assert csms.actions()[:3] == ["BootNotification", "StatusNotification", "StatusNotification"]
    assert [p["connector_id"] for p in csms.actions("StatusNotification")[:2]] == [0, 1]
    assert csms.actions("BootNotification")[0]["charge_point_vendor"] == "Simulator"
    assert sim.state == "online"


async def test_it_retries_boot_after_pending_and_rejected(csms):
    csms.boot_statuses = ["Rejected", "Pending"]
    simulator = ChargePointSimulator(fast_config(csms.port))
    try:
        await asyncio.wait_for(simulator.start(), 10)
        assert csms.actions()[:3] == ["BootNotification", "BootNotification", "BootNotification"]
        # Nothing else before the boot is accepted.
        assert csms.actions()[3] == "StatusNotification"
    finally:
        await simulator.stop(drain_timeout=1)


async def test_remote_start_and_stop_run_a_transaction(csms, sim):
    session = await remote_start(csms, sim)
    assert session.transaction_id == 101
    busy = await send(csms, call.RemoteStartTransaction(id_tag="R2", connector_id=1))
    assert busy.status == "Rejected"
    assert (await send(csms, call.RemoteStopTransaction(transaction_id=999))).status == "Rejected"
    assert (await send(csms, call.RemoteStopTransaction(transaction_id=101))).status == "Accepted"
    await csms.wait_for(lambda: csms.actions("StopTransaction"))
    stop = csms.actions("StopTransaction")[0]
    assert stop["reason"] == "Remote" and stop["transaction_id"] == 101
    assert stop["transaction_data"][0]["sampled_value"][0]["context"] == "Transaction.Begin"
    await csms.wait_for(lambda: statuses(csms, 1)[-1] == "Available")
    assert statuses(csms, 1)[-4:] == ["Preparing", "Charging", "Finishing", "Available"]


async def test_reset_reconnects_and_boots_again(csms, sim):
    first = csms.current
    assert (await send(csms, call.Reset(type="Soft"))).status == "Accepted"
    second = await asyncio.wait_for(csms.connections.get(), 5)
    second = await asyncio.wait_for(csms.connections.get(), 5) if second is first else second
    await csms.wait_for(lambda: len(csms.actions("BootNotification")) == 2)
    assert second is not first


async def test_change_availability(csms, sim):
    assert (await send(csms, call.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Accepted"
    await csms.wait_for(lambda: statuses(csms, 1)[-1] == "Unavailable")
    assert (await send(csms, call.RemoteStartTransaction(id_tag="R1", connector_id=1))).status == "Rejected"
    assert (await send(csms, call.ChangeAvailability(connector_id=1, type="Operative"))).status == "Accepted"
    await csms.wait_for(lambda: statuses(csms, 1)[-1] == "Available")
    assert (await send(csms, call.ChangeAvailability(connector_id=5, type="Operative"))).status == "Rejected"
    await remote_start(csms, sim)
    # A running session is not interrupted: the change is scheduled.
    assert (await send(csms, call.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Scheduled"


async def test_unlock_connector(csms, sim):
    await remote_start(csms, sim)
    assert (await send(csms, call.UnlockConnector(connector_id=1))).status == "Unlocked"
    await csms.wait_for(lambda: csms.actions("StopTransaction"))
    assert csms.actions("StopTransaction")[0]["reason"] == "UnlockCommand"
    assert (await send(csms, call.UnlockConnector(connector_id=9))).status == "NotSupported"


async def test_get_configuration(csms, sim):
    everything = await send(csms, call.GetConfiguration())
    keys = {k["key"]: k for k in everything.configuration_key}
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "1"}
    assert keys["HeartbeatInterval"]["value"] == "300"  # as the boot answer said
    some = await send(csms, call.GetConfiguration(key=["MeterValueSampleInterval", "NoSuchKey"]))
    assert [k["key"] for k in some.configuration_key] == ["MeterValueSampleInterval"]
    assert some.unknown_key == ["NoSuchKey"]


async def test_change_configuration(csms, sim):
    assert (await send(csms, call.ChangeConfiguration(key="NoSuchKey", value="1"))).status == "NotSupported"
    assert (await send(csms, call.ChangeConfiguration(key="NumberOfConnectors", value="4"))).status == "Rejected"
    assert (await send(csms, call.ChangeConfiguration(key="HeartbeatInterval", value="soon"))).status == "Rejected"
    assert (await send(csms, call.ChangeConfiguration(key="HeartbeatInterval", value="1"))).status == "Accepted"
    assert sim.heartbeat_interval == 1
    await csms.wait_for(lambda: csms.actions("Heartbeat"), timeout=5)
    result = await send(csms, call.GetConfiguration(key=["HeartbeatInterval"]))
    assert result.configuration_key[0]["value"] == "1"


@pytest.mark.parametrize(
    "message,action",
    [
        ("Heartbeat", "Heartbeat"),
        ("StatusNotification", "StatusNotification"),
        ("MeterValues", "MeterValues"),
        ("BootNotification", "BootNotification"),
        ("DiagnosticsStatusNotification", "DiagnosticsStatusNotification"),
        ("FirmwareStatusNotification", "FirmwareStatusNotification"),
    ],
)
async def test_trigger_message_sends_the_message(csms, sim, message, action):
    before = len(csms.actions(action))
    result = await send(csms, call.TriggerMessage(requested_message=message, connector_id=1))
    assert result.status == "Accepted"
    await csms.wait_for(lambda: len(csms.actions(action)) > before)


async def test_a_triggered_boot_notification_reports_the_identity_of_the_boot(csms, sim):
    result = await send(csms, call.TriggerMessage(requested_message="BootNotification"))
    assert result.status == "Accepted"
    await csms.wait_for(lambda: len(csms.actions("BootNotification")) == 2)
    boot, triggered = csms.actions("BootNotification")
    assert triggered == boot
    assert triggered["meter_type"] == "SimMeter"


async def test_trigger_message_for_an_unknown_connector_is_rejected(csms, sim):
    result = await send(csms, call.TriggerMessage(requested_message="StatusNotification", connector_id=7))
    assert result.status == "Rejected"


def tx_profile(limit: float, unit: str, purpose: str = "TxProfile") -> dict:
    return {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": unit, "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]},
    }


def last_power(csms) -> float:
    values = csms.actions("MeterValues")[-1]["meter_value"][0]["sampled_value"]
    return float(next(v["value"] for v in values if v["measurand"] == "Power.Active.Import"))


async def test_set_charging_profile_limits_the_power(csms, sim):
    without_tx = await send(csms, call.SetChargingProfile(connector_id=1, cs_charging_profiles=tx_profile(8, "A")))
    assert without_tx.status == "Rejected"  # a TxProfile needs a transaction
    await remote_start(csms, sim)
    assert last_power(csms) == 11000
    result = await send(csms, call.SetChargingProfile(connector_id=1, cs_charging_profiles=tx_profile(8, "A")))
    assert result.status == "Accepted"
    count = len(csms.actions("MeterValues"))
    await csms.wait_for(lambda: len(csms.actions("MeterValues")) > count + 1)
    assert last_power(csms) == 8 * 230 * 3
    # 5000 W over 3 phases is 7.2 A a phase (3000 W would be under the 6 A a car needs).
    result = await send(
        csms,
        call.SetChargingProfile(connector_id=0, cs_charging_profiles=tx_profile(5000, "W", "ChargePointMaxProfile")),
    )
    assert result.status == "Accepted"
    count = len(csms.actions("MeterValues"))
    await csms.wait_for(lambda: len(csms.actions("MeterValues")) > count + 1)
    assert last_power(csms) == 5000
    assert (await send(csms, call.ClearChargingProfile())).status == "Accepted"


async def test_reserve_now_and_cancel_reservation(csms, sim):
    reserve = call.ReserveNow(connector_id=1, expiry_date="2099-01-01T00:00:00Z", id_tag="T1", reservation_id=7)
    assert (await send(csms, reserve)).status == "Accepted"
    await csms.wait_for(lambda: statuses(csms, 1)[-1] == "Reserved")
    other = call.ReserveNow(connector_id=1, expiry_date="2099-01-01T00:00:00Z", id_tag="T2", reservation_id=8)
    assert (await send(csms, other)).status == "Occupied"
    # A remote start for another tag cannot take the reserved connector.
    refused = await send(csms, call.RemoteStartTransaction(id_tag="T2", connector_id=1))
    assert refused.status == "Rejected"
    assert (await send(csms, call.CancelReservation(reservation_id=99))).status == "Rejected"
    assert (await send(csms, call.CancelReservation(reservation_id=7))).status == "Accepted"
    await csms.wait_for(lambda: statuses(csms, 1)[-1] == "Available")


async def test_local_list_and_cache(csms, sim):
    entries = [{"idTag": "A1", "idTagInfo": {"status": "Accepted"}}]
    result = await send(csms, call.SendLocalList(list_version=3, update_type="Full", local_authorization_list=entries))
    assert result.status == "Accepted"
    assert (await send(csms, call.GetLocalListVersion())).list_version == 3
    stale = call.SendLocalList(list_version=2, update_type="Differential", local_authorization_list=[])
    assert (await send(csms, stale)).status == "VersionMismatch"
    assert (await send(csms, call.ClearCache())).status == "Accepted"


async def test_data_transfer(csms, sim):
    assert (await send(csms, call.DataTransfer(vendor_id="Other"))).status == "UnknownVendorId"
    assert (await send(csms, call.DataTransfer(vendor_id="Simulator", message_id="nope"))).status == "UnknownMessageId"
    echo = await send(csms, call.DataTransfer(vendor_id="Simulator", message_id="echo", data="hi"))
    assert (echo.status, echo.data) == ("Accepted", "hi")


async def test_get_diagnostics_answers_then_reports_the_upload(csms, sim):
    result = await send(csms, call.GetDiagnostics(location="ftp://example.com/upload/"))
    assert result.file_name.startswith("diagnostics-T1-")
    await csms.wait_for(lambda: len(csms.actions("DiagnosticsStatusNotification")) == 2)
    assert [p["status"] for p in csms.actions("DiagnosticsStatusNotification")] == ["Uploading", "Uploaded"]


async def test_update_firmware_reports_each_step(csms, sim):
    await send(
        csms, call.UpdateFirmware(location="https://example.com/fw-2.0.bin", retrieve_date="2000-01-01T00:00:00Z")
    )
    await csms.wait_for(lambda: len(csms.actions("FirmwareStatusNotification")) == 4)
    steps = [p["status"] for p in csms.actions("FirmwareStatusNotification")]
    assert steps == ["Downloading", "Downloaded", "Installing", "Installed"]
    assert sim.firmware_version == "fw-2.0.bin"


async def test_an_unknown_action_gets_a_call_error(csms, sim):
    with pytest.raises(OCPPError):
        await send(csms, call.GetLog(log={"remoteLocation": "ftp://x/"}, log_type="DiagnosticsLog", request_id=1))
