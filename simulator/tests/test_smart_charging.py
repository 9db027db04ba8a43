"""Smart charging end to end: a fake central system sets charging profiles
and the simulated charger applies them as a real one does; its MeterValues
show the car drawing what it is offered."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from ocpp.exceptions import NotSupportedError
from ocpp.v16 import call

from simulator import ChargePointSimulator, SimulatorConfig
from simulator.model import parse_time as parse
from simulator.tests.conftest import fast_config
from simulator.tests.fake_csms import now_iso

# At 22 kW on 3 x 230 V the charger is rated 31.9 A a phase: above the
# profiles of these tests, so what they see is the profiles' doing.
RATED = dict(power_kw=22)


@pytest.fixture
async def start(csms):
    """start(**config) -> a simulator connected to the fake central system."""
    started = []

    async def start(**overrides):
        simulator = ChargePointSimulator(fast_config(csms.port, **{**RATED, **overrides}))
        started.append(simulator)
        await asyncio.wait_for(simulator.start(), 10)
        return simulator

    yield start
    for simulator in started:
        await simulator.stop(drain_timeout=1)


async def send(csms, payload):
    return await csms.current.call(payload, suppress=False)


def statuses(csms, connector_id: int = 1) -> list[str]:
    return [p["status"] for p in csms.actions("StatusNotification") if p["connector_id"] == connector_id]


def values(payload: dict) -> dict:
    """A MeterValues payload's values by (measurand, phase)."""
    sampled = payload["meter_value"][0]["sampled_value"]
    return {(v["measurand"], v.get("phase")): float(v["value"]) for v in sampled}


def last(csms, connector_id: int = 1) -> dict:
    mine = [p for p in csms.actions("MeterValues") if p["connector_id"] == connector_id]
    return values(mine[-1]) if mine else {}


def drawn(csms, connector_id: int = 1) -> tuple:
    """(current per phase, current offered, power) of the last MeterValues."""
    v = last(csms, connector_id)
    phases = tuple(v.get(("Current.Import", p)) for p in ("L1", "L2", "L3"))
    return phases, v.get(("Current.Offered", None)), v.get(("Power.Active.Import", None))


async def until(csms, predicate, timeout: float = 10) -> None:
    await csms.wait_for(lambda: bool(last(csms)) and predicate(), timeout)


def profile(
    limit,
    *,
    id=1,
    stack=0,
    purpose="TxDefaultProfile",
    unit="A",
    duration=None,
    transaction_id=None,
    periods=None,
    start=None,
) -> dict:
    schedule = {
        "chargingRateUnit": unit,
        "startSchedule": start or now_iso(),
        "chargingSchedulePeriod": periods or [{"startPeriod": 0, "limit": limit}],
    }
    if duration is not None:
        schedule["duration"] = duration
    data = {
        "chargingProfileId": id,
        "stackLevel": stack,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": schedule,
    }
    if transaction_id is not None:
        data["transactionId"] = transaction_id
    return data


def periods(result) -> list[tuple]:
    """(startPeriod, limit, numberPhases) of a GetCompositeSchedule answer
    (its limits arrive as Decimal)."""
    return [
        (p["start_period"], float(p["limit"]), p.get("number_phases"))
        for p in result.charging_schedule["charging_schedule_period"]
    ]


async def set_profile(csms, connector_id: int, data: dict) -> str:
    return (await send(csms, call.SetChargingProfile(connector_id=connector_id, cs_charging_profiles=data))).status


async def remote_start(csms, sim, connector_id: int = 1, **kwargs):
    result = await send(csms, call.RemoteStartTransaction(id_tag="R1", connector_id=connector_id, **kwargs))
    assert result.status == "Accepted"
    await csms.wait_for(lambda: len([p for p in csms.actions("MeterValues") if p["connector_id"] == connector_id]))
    session = sim.connectors[connector_id].session
    await csms.wait_for(lambda: session.transaction_id is not None)
    return session


async def ev(csms, data, vendor="Simulator"):
    payload = data if isinstance(data, str) else json.dumps(data)
    return await send(csms, call.DataTransfer(vendor_id=vendor, message_id="ev", data=payload))


# -- the limit in force, in the meter values -------------------------------------------------


async def test_a_tx_profile_lowers_the_current_then_lapses_to_the_tx_default(csms, start):
    sim = await start()
    assert await set_profile(csms, 0, profile(16)) == "Accepted"
    session = await remote_start(csms, sim)
    await until(csms, lambda: drawn(csms) == ((16, 16, 16), 16, 16 * 690))

    tx = profile(10, id=2, purpose="TxProfile", duration=2, transaction_id=session.transaction_id)
    assert await set_profile(csms, 1, tx) == "Accepted"
    await until(csms, lambda: drawn(csms) == ((10, 10, 10), 10, 6900))
    # After its 2 s the TxProfile no longer limits: the TxDefaultProfile does.
    await until(csms, lambda: drawn(csms) == ((16, 16, 16), 16, 16 * 690), timeout=10)
    assert statuses(csms)[-1] == "Charging"


async def test_energy_follows_the_draw(csms, start):
    sim = await start(speed=3600)  # one real second: one hour of charging
    assert await set_profile(csms, 0, profile(10)) == "Accepted"
    await remote_start(csms, sim)
    await csms.wait_for(lambda: len(csms.actions("MeterValues")) >= 20)
    samples = csms.actions("MeterValues")[1:]
    assert {values(p)[("Power.Active.Import", None)] for p in samples} == {6900}
    # The register grows at that power: 6900 W for a real second is 6900 Wh here.
    first, end = samples[0]["meter_value"][0], samples[-1]["meter_value"][0]
    seconds = (parse(end["timestamp"]) - parse(first["timestamp"])).total_seconds()
    grown = (
        values(samples[-1])[("Energy.Active.Import.Register", None)]
        - values(samples[0])[("Energy.Active.Import.Register", None)]
    )
    assert grown == pytest.approx(6900 * seconds, rel=0.15)


async def test_a_car_of_8_a_draws_8_a_under_a_16_a_profile(csms, start):
    sim = await start(ev_max_current=8)
    assert await set_profile(csms, 0, profile(16)) == "Accepted"
    await remote_start(csms, sim)
    await until(csms, lambda: drawn(csms) == ((8, 8, 8), 16, 8 * 690))
    answer = await ev(csms, {"connectorId": 1, "maxCurrent": 12})
    assert answer.status == "Accepted" and json.loads(answer.data)["maxCurrent"] == 12
    await until(csms, lambda: drawn(csms) == ((12, 12, 12), 16, 12 * 690))


async def test_5_a_offered_suspends_the_connector_and_more_resumes_it(csms, start):
    sim = await start()
    session = await remote_start(csms, sim)
    assert await set_profile(csms, 1, profile(5, purpose="TxProfile")) == "Accepted"
    await until(csms, lambda: drawn(csms) == ((0, 0, 0), 5, 0))
    await csms.wait_for(lambda: statuses(csms)[-1] == "SuspendedEVSE")
    assert sim.connectors[1].status == "SuspendedEVSE" and session.power_w == 0
    # The same purpose and stack level replaces it.
    assert await set_profile(csms, 1, profile(16, id=9, purpose="TxProfile")) == "Accepted"
    await until(csms, lambda: drawn(csms) == ((16, 16, 16), 16, 16 * 690))
    await csms.wait_for(lambda: statuses(csms)[-1] == "Charging")


async def test_a_profile_in_watts_on_a_charger_that_allows_only_power(csms, start):
    sim = await start(rate_units="Power")
    await remote_start(csms, sim)
    assert await set_profile(csms, 1, profile(16, purpose="TxProfile")) == "Rejected"  # A not allowed
    assert await set_profile(csms, 1, profile(6900, purpose="TxProfile", unit="W")) == "Accepted"
    await until(csms, lambda: drawn(csms) == ((10, 10, 10), 10, 6900))
    keys = await send(csms, call.GetConfiguration(key=["ChargingScheduleAllowedChargingRateUnit"]))
    assert keys.configuration_key[0]["value"] == "Power"
    schedule = await send(csms, call.GetCompositeSchedule(connector_id=1, duration=60))
    assert schedule.charging_schedule["charging_rate_unit"] == "W"  # its own unit when none is asked
    assert periods(schedule)[0][1] == 6900


async def test_a_one_phase_charger_reports_l1_only(csms, start):
    sim = await start(phases=1, power_kw=7.4)
    await remote_start(csms, sim)
    assert await set_profile(csms, 1, profile(10, purpose="TxProfile")) == "Accepted"
    await until(csms, lambda: last(csms).get(("Current.Import", "L1")) == 10)
    reading = last(csms)
    assert [k for k in reading if k[0] == "Current.Import"] == [("Current.Import", "L1")]
    assert reading[("Power.Active.Import", None)] == 2300


async def test_a_charge_point_max_profile_is_shared_between_connectors(csms, start):
    sim = await start(connectors=2)
    assert await set_profile(csms, 0, profile(20, purpose="ChargePointMaxProfile")) == "Accepted"
    await remote_start(csms, sim, 1)
    await until(csms, lambda: last(csms, 1).get(("Current.Import", "L1")) == 20)
    await remote_start(csms, sim, 2)
    await csms.wait_for(
        lambda: (
            [last(csms, c).get(("Current.Import", "L1")) for c in (1, 2)] == [10, 10]
            and last(csms, 1).get(("Current.Offered", None)) == 10
        )
    )
    whole = await send(csms, call.GetCompositeSchedule(connector_id=0, duration=60, charging_rate_unit="A"))
    assert periods(whole)[0][1] == 20


# -- the composite schedule -----------------------------------------------------------------


async def test_get_composite_schedule_reports_the_limit_in_force_and_when_it_changes(csms, start):
    sim = await start()
    assert await set_profile(csms, 0, profile(16)) == "Accepted"
    session = await remote_start(csms, sim)
    tx = profile(10, id=2, purpose="TxProfile", duration=30, transaction_id=session.transaction_id)
    assert await set_profile(csms, 1, tx) == "Accepted"

    result = await send(csms, call.GetCompositeSchedule(connector_id=1, duration=120, charging_rate_unit="A"))
    assert result.status == "Accepted" and result.connector_id == 1 and result.schedule_start
    schedule = result.charging_schedule
    assert (schedule["charging_rate_unit"], schedule["duration"]) == ("A", 120)
    (first, second) = periods(result)
    assert first == (0, 10, 3)
    assert second[1:] == (16, 3) and 28 <= second[0] <= 30

    watts = await send(csms, call.GetCompositeSchedule(connector_id=1, duration=10, charging_rate_unit="W"))
    assert periods(watts) == [(0, 6900, 3)]
    unknown = await send(csms, call.GetCompositeSchedule(connector_id=5, duration=10))
    assert unknown.status == "Rejected"


async def test_the_composite_without_profiles_is_the_chargers_rating(csms, start):
    await start(power_kw=11)
    result = await send(csms, call.GetCompositeSchedule(connector_id=1, duration=60, charging_rate_unit="A"))
    assert periods(result) == [(0, 15.9, 3)]


# -- what a real charger refuses -------------------------------------------------------------


async def test_set_charging_profile_rejects_what_a_real_charger_would(csms, start):
    sim = await start()
    assert await set_profile(csms, 7, profile(16)) == "Rejected"  # unknown connector
    assert await set_profile(csms, 1, profile(16, purpose="TxProfile")) == "Rejected"  # no transaction
    assert await set_profile(csms, 0, profile(16, purpose="TxProfile")) == "Rejected"
    assert await set_profile(csms, 1, profile(16, purpose="ChargePointMaxProfile")) == "Rejected"
    assert await set_profile(csms, 1, profile(16, stack=11)) == "Rejected"  # ChargeProfileMaxStackLevel 10
    assert await set_profile(csms, 1, profile(16, stack=10)) == "Accepted"
    too_many = [{"startPeriod": 60 * i, "limit": 16} for i in range(25)]  # ChargingScheduleMaxPeriods 24
    assert await set_profile(csms, 1, profile(16, id=2, stack=1, periods=too_many)) == "Rejected"
    session = await remote_start(csms, sim)
    other = profile(10, id=3, purpose="TxProfile", transaction_id=session.transaction_id + 1)
    assert await set_profile(csms, 1, other) == "Rejected"
    # MaxChargingProfilesInstalled is 10: one is installed, nine more fit.
    for i in range(9):
        assert await set_profile(csms, 1, profile(16, id=10 + i, stack=i)) == "Accepted"
    assert len(sim.profiles) == 10
    assert await set_profile(csms, 0, profile(16, id=30)) == "Rejected"
    assert await set_profile(csms, 1, profile(12, id=31, stack=0)) == "Accepted"  # replaces stack 0


async def test_clear_charging_profile_filters_as_the_spec_says(csms, start):
    sim = await start()
    for connector_id, data in [
        (0, profile(32, id=1, purpose="ChargePointMaxProfile")),
        (0, profile(16, id=2)),
        (1, profile(10, id=3, stack=1)),
    ]:
        assert await set_profile(csms, connector_id, data) == "Accepted"

    async def clear(**kwargs):
        return (await send(csms, call.ClearChargingProfile(**kwargs))).status

    assert await clear(id=99) == "Unknown"
    assert await clear(id=3) == "Accepted"
    assert await clear(connector_id=1) == "Unknown"
    assert await clear(connector_id=0, charging_profile_purpose="TxDefaultProfile", stack_level=1) == "Unknown"
    assert await clear(connector_id=0, charging_profile_purpose="TxDefaultProfile") == "Accepted"
    assert [p.id for _, p in sim.profiles.installed] == [1]
    assert await clear() == "Accepted"
    assert await clear() == "Unknown"


async def test_a_remote_start_profile_applies_to_its_transaction_and_ends_with_it(csms, start):
    sim = await start()
    refused = await send(
        csms, call.RemoteStartTransaction(id_tag="R1", connector_id=1, charging_profile=profile(8, stack=1))
    )
    assert refused.status == "Rejected"  # a RemoteStartTransaction profile must be a TxProfile
    session = await remote_start(csms, sim, charging_profile=profile(8, purpose="TxProfile"))
    await until(csms, lambda: drawn(csms)[0] == (8, 8, 8))
    assert (await send(csms, call.RemoteStopTransaction(transaction_id=session.transaction_id))).status == "Accepted"
    await csms.wait_for(lambda: csms.actions("StopTransaction"))
    await session.done.wait()
    assert len(sim.profiles) == 0


# -- the car ------------------------------------------------------------------------------------


async def test_the_car_pauses_and_resumes_on_data_transfer(csms, start):
    sim = await start()
    await remote_start(csms, sim)
    answer = await ev(csms, {"connectorId": 1, "pause": True})
    assert answer.status == "Accepted" and json.loads(answer.data)["paused"] is True
    await csms.wait_for(lambda: statuses(csms)[-1] == "SuspendedEV")
    await until(csms, lambda: drawn(csms)[0] == (0, 0, 0) and drawn(csms)[1] > 6)
    assert (await ev(csms, {"connectorId": 1, "pause": False})).status == "Accepted"
    await csms.wait_for(lambda: statuses(csms)[-1] == "Charging")


async def test_the_car_pauses_by_itself_after_ev_pause_after(csms, start):
    sim = await start(ev_pause_after=0.3)
    await remote_start(csms, sim)
    await csms.wait_for(lambda: statuses(csms)[-1] == "SuspendedEV")
    assert sim.connectors[1].session.power_w == 0


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1]",
        {"connectorId": 9, "maxCurrent": 10},
        {"connectorId": "1", "maxCurrent": 10},
        {"connectorId": 1, "maxCurrent": -1},
        {"connectorId": 1, "maxCurrent": True},
        {"connectorId": 1, "pause": "yes"},
        {"connectorId": 1, "soc": 101},
        {"connectorId": 1, "colour": "red"},
    ],
)
async def test_the_ev_hook_rejects_bad_data(csms, start, data):
    await start()
    assert (await ev(csms, data)).status == "Rejected"


async def test_the_ev_hook_answers_the_cars_state_and_knows_its_vendor(csms, start):
    await start()
    state = await ev(csms, {"connectorId": 1})
    assert state.status == "Accepted"
    assert json.loads(state.data) == {"connectorId": 1, "maxCurrent": 32.0, "paused": False, "soc": 20.0}
    assert (await ev(csms, {"connectorId": 1}, vendor="Other")).status == "UnknownVendorId"


# -- without the SmartCharging feature profile ------------------------------------------------


async def test_without_smart_charging_the_profile_actions_are_not_supported(csms, start):
    sim = await start(smart_charging=False)
    for payload in (
        call.SetChargingProfile(connector_id=0, cs_charging_profiles=profile(16)),
        call.ClearChargingProfile(),
        call.GetCompositeSchedule(connector_id=1, duration=60),
    ):
        with pytest.raises(NotSupportedError):
            await send(csms, payload)
    keys = {k["key"]: k["value"] for k in (await send(csms, call.GetConfiguration())).configuration_key}
    assert "SmartCharging" not in keys["SupportedFeatureProfiles"] and "Core" in keys["SupportedFeatureProfiles"]
    assert "ChargeProfileMaxStackLevel" not in keys
    # A remote start's profile is ignored, not a reason to refuse.
    await remote_start(csms, sim, charging_profile=profile(8, purpose="TxProfile"))
    await until(csms, lambda: drawn(csms)[0] == (31.9, 31.9, 31.9))
    assert len(sim.profiles) == 0


# -- the status line and the configuration ------------------------------------------------------


async def test_the_status_line_shows_the_limit_and_the_draw(csms, start):
    sim = await start(ev_max_current=8)
    assert await set_profile(csms, 0, profile(16)) == "Accepted"
    assert "#1 Available limit 16.0 A" in sim.status_line()
    await remote_start(csms, sim)
    await until(csms, lambda: drawn(csms)[0] == (8, 8, 8))
    assert "limit 16.0 A draw 8.0 A" in sim.status_line()


@pytest.mark.parametrize(
    "field,value",
    [("phases", 2), ("ev_max_current", 0), ("ev_pause_after", -1), ("rate_units", "Amps"), ("rate_units", "")],
)
def test_the_configuration_refuses_what_no_charger_is(field, value):
    with pytest.raises(ValueError):
        SimulatorConfig(**{field: value})


def test_rate_units_are_normalised():
    assert SimulatorConfig(rate_units=" Power , Current").rate_units == "Power,Current"


def test_a_profile_valid_only_later_does_not_limit_yet():
    sim = ChargePointSimulator(fast_config(1, **RATED))
    later = datetime.now(UTC) + timedelta(hours=1)
    data = {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "valid_from": later.isoformat(),
        "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 6}]},
    }
    assert sim.set_charging_profile(0, data) == "Accepted"
    assert sim.limit_in_force(sim.connectors[1]) == pytest.approx(22000 / 690)
