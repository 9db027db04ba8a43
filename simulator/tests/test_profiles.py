"""The charging-profile logic of simulator/profiles.py, without a network or
a clock: every instant is given."""

from datetime import UTC, datetime, timedelta

import pytest

from simulator.profiles import (
    CHARGE_POINT_MAX,
    MAX_COMPOSITE_PERIODS,
    TX_DEFAULT,
    TX_PROFILE,
    Capabilities,
    ChargingProfile,
    Electrical,
    ProfileStore,
    Rate,
    Tx,
    floor_tenth,
)

T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)  # a Monday, 08:00
ELEC = Electrical(voltage=230, phases=3, max_current=32)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def make(
    limit=16,
    *,
    id=1,
    stack=0,
    purpose=TX_DEFAULT,
    kind="Absolute",
    unit="A",
    periods=None,
    duration=None,
    start=T0,
    recurrency=None,
    valid_from=None,
    valid_to=None,
    tx=None,
    phases=None,
) -> ChargingProfile:
    """A profile as the `ocpp` library hands it to a handler (snake_case)."""
    schedule = {
        "charging_rate_unit": unit,
        "charging_schedule_period": periods
        or [{"start_period": 0, "limit": limit, **({"number_phases": phases} if phases else {})}],
    }
    if duration is not None:
        schedule["duration"] = duration
    if start is not None:
        schedule["start_schedule"] = iso(start)
    data = {
        "charging_profile_id": id,
        "stack_level": stack,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": kind,
        "charging_schedule": schedule,
    }
    for key, value in (
        ("recurrency_kind", recurrency),
        ("valid_from", valid_from and iso(valid_from)),
        ("valid_to", valid_to and iso(valid_to)),
        ("transaction_id", tx),
    ):
        if value is not None:
            data[key] = value
    return ChargingProfile.parse(data)


def store(*entries) -> ProfileStore:
    profiles = ProfileStore()
    for connector_id, profile in entries:
        assert profiles.install(connector_id, profile, max_installed=100)
    return profiles


def amps(profiles: ProfileStore, t: datetime, *, connector=1, tx: Tx | None = None, elec=ELEC) -> float:
    return profiles.connector_allowance(connector, t, elec, tx, T0).amps


# -- parsing -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"charging_profile_kind": "Recurring"},  # no recurrencyKind
        {"charging_profile_purpose": "Whatever"},
        {"charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": []}},
        {
            "charging_schedule": {
                "charging_rate_unit": "kW",
                "charging_schedule_period": [{"start_period": 0, "limit": 1}],
            }
        },
        {
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 60, "limit": 1}, {"start_period": 0, "limit": 2}],
            }
        },
        {
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": -1}],
            }
        },
        {
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 6, "number_phases": 0}],
            }
        },
        {"valid_from": "yesterday"},
        {"charging_profile_id": "1"},
    ],
)
def test_a_profile_a_charger_cannot_apply_does_not_parse(change):
    data = {
        "charging_profile_id": 1,
        "stack_level": 0,
        "charging_profile_purpose": TX_DEFAULT,
        "charging_profile_kind": "Absolute",
        "charging_schedule": {"charging_rate_unit": "A", "charging_schedule_period": [{"start_period": 0, "limit": 6}]},
    }
    with pytest.raises(ValueError):
        ChargingProfile.parse({**data, **change})


def test_decimal_limits_as_the_library_delivers_them_parse():
    from decimal import Decimal

    profile = make(periods=[{"start_period": 0, "limit": Decimal("10.5")}])
    assert profile.periods[0].limit == 10.5


# -- one profile in time ---------------------------------------------------------------------


def test_an_absolute_profile_starts_at_its_start_schedule_and_lapses_after_its_duration():
    profile = make(10, start=at(60), duration=120)
    assert profile.rate_at(at(59), T0) is None
    assert profile.rate_at(at(60), T0) == Rate(10, "A")
    assert profile.rate_at(at(179), T0) == Rate(10, "A")
    assert profile.rate_at(at(180), T0) is None


def test_periods_follow_their_start_period():
    profile = make(periods=[{"start_period": 0, "limit": 6}, {"start_period": 300, "limit": 20}])
    assert profile.rate_at(at(299), T0).value == 6
    assert profile.rate_at(at(300), T0).value == 20
    assert profile.rate_at(at(10**6), T0).value == 20  # no duration: the last period goes on


def test_valid_from_and_valid_to_bound_a_profile():
    profile = make(10, valid_from=at(100), valid_to=at(200))
    assert profile.rate_at(at(99), T0) is None
    assert profile.rate_at(at(100), T0).value == 10
    assert profile.rate_at(at(200), T0) is None


def test_a_relative_profile_runs_from_the_transaction_start():
    profile = make(
        kind="Relative", start=None, periods=[{"start_period": 0, "limit": 8}, {"start_period": 60, "limit": 16}]
    )
    tx_start = at(1000)
    assert profile.rate_at(at(1030), tx_start).value == 8
    assert profile.rate_at(at(1060), tx_start).value == 16


def test_an_absolute_profile_without_start_schedule_runs_from_the_start_of_charging():
    profile = make(10, start=None, duration=60)
    assert profile.rate_at(at(1059), at(1000)).value == 10
    assert profile.rate_at(at(1060), at(1000)) is None


def test_a_daily_profile_recurs_every_day_from_its_start_schedule():
    profile = make(
        kind="Recurring",
        recurrency="Daily",
        start=T0 - timedelta(days=3),  # 08:00 three days ago
        duration=7200,
        periods=[{"start_period": 0, "limit": 10}, {"start_period": 3600, "limit": 20}],
    )
    day = timedelta(days=1)
    for t, limit in [(at(1800), 10), (at(5400), 20), (at(7200), None), (at(-60), None), (at(1800) + day, 10)]:
        rate = profile.rate_at(t, T0)
        assert (rate.value if rate else None) == limit, t


def test_a_weekly_profile_recurs_every_week():
    profile = make(7, kind="Recurring", recurrency="Weekly", start=T0 - timedelta(weeks=5), duration=3600)
    assert profile.rate_at(at(60), T0).value == 7
    assert profile.rate_at(at(60) + timedelta(days=1), T0) is None
    assert profile.rate_at(at(60) + timedelta(weeks=3), T0).value == 7


# -- several profiles: stack levels and purposes -------------------------------------------------


def test_the_highest_stack_level_in_force_wins_and_the_next_applies_once_it_lapsed():
    profiles = store(
        (1, make(20, id=1, stack=0)),
        (1, make(12, id=2, stack=3, duration=60)),
        (1, make(8, id=3, stack=5, start=at(600))),  # not started yet
    )
    assert amps(profiles, at(0)) == 12
    assert amps(profiles, at(60)) == 20  # stack 3 lapsed
    assert amps(profiles, at(600)) == 8


def test_a_tx_profile_overrides_tx_default_only_during_its_transaction():
    profiles = store((0, make(16, id=1)), (1, make(10, id=2, stack=0, purpose=TX_PROFILE, duration=60)))
    tx = Tx(101, T0)
    assert amps(profiles, at(0), tx=tx) == 10
    assert amps(profiles, at(0)) == 16  # no transaction: TxProfiles do not apply
    assert amps(profiles, at(60), tx=tx) == 16  # lapsed: the TxDefaultProfile again


def test_a_tx_profile_of_another_transaction_does_not_apply():
    profiles = store((1, make(10, purpose=TX_PROFILE, tx=7)))
    assert amps(profiles, at(0), tx=Tx(7, T0)) == 10
    assert amps(profiles, at(0), tx=Tx(8, T0)) == 32  # the rating


def test_a_connector_tx_default_overrides_the_one_of_connector_0():
    profiles = store((0, make(16, id=1, stack=9)), (2, make(10, id=2, stack=0)))
    assert amps(profiles, at(0), connector=2) == 10
    assert amps(profiles, at(0), connector=1) == 16


def test_charge_point_max_caps_every_connector_and_the_rating_caps_everything():
    profiles = store((0, make(13, id=1, purpose=CHARGE_POINT_MAX)), (1, make(20, id=2)))
    assert amps(profiles, at(0)) == 13
    assert profiles.connector_allowance(1, at(0), ELEC, None, T0, capped=False).amps == 20
    assert amps(store((1, make(50))), at(0)) == 32


# -- units and phases ----------------------------------------------------------------------


def test_watts_are_shared_over_the_phases_in_use():
    assert amps(store((1, make(6900, unit="W"))), at(0)) == pytest.approx(10)
    one_phase = Electrical(voltage=230, phases=1, max_current=32)
    assert amps(store((1, make(2300, unit="W"))), at(0), elec=one_phase) == pytest.approx(10)


def test_number_phases_limits_the_phases_but_never_above_the_chargers():
    allowance = store((1, make(16, phases=1))).connector_allowance(1, at(0), ELEC, None, T0)
    assert (allowance.amps, allowance.phases, allowance.watts(230)) == (16, 1, 16 * 230)
    one_phase = Electrical(voltage=230, phases=1, max_current=32)
    allowance = store((1, make(16, phases=3))).connector_allowance(1, at(0), one_phase, None, T0)
    assert (allowance.amps, allowance.phases) == (16, 1)


def test_amperes_and_watts_combine_at_the_tightest():
    profiles = store((0, make(4600, id=1, unit="W", purpose=CHARGE_POINT_MAX)), (1, make(10, id=2)))
    assert amps(profiles, at(0)) == pytest.approx(4600 / 690)


# -- the store --------------------------------------------------------------------------------


def test_the_same_id_or_the_same_purpose_and_stack_level_on_a_connector_replaces():
    profiles = store((1, make(10, id=1, stack=1)))
    profiles.install(2, make(11, id=1, stack=4), max_installed=10)  # same id elsewhere
    assert [(c, p.id, p.periods[0].limit) for c, p in profiles.installed] == [(2, 1, 11)]
    profiles.install(2, make(12, id=2, stack=4), max_installed=10)  # same purpose and stack level
    assert [(c, p.id) for c, p in profiles.installed] == [(2, 2)]
    profiles.install(1, make(13, id=3, stack=4), max_installed=10)  # another connector: added
    profiles.install(2, make(14, id=4, stack=4, purpose=CHARGE_POINT_MAX), max_installed=10)  # another purpose
    assert sorted(p.id for _, p in profiles.installed) == [2, 3, 4]


def test_no_more_profiles_than_max_installed_but_a_replacement_fits():
    profiles = store((1, make(id=1, stack=0)), (1, make(id=2, stack=1)))
    assert not profiles.install(1, make(id=3, stack=2), max_installed=2)
    assert len(profiles) == 2
    assert profiles.install(1, make(id=2, stack=2), max_installed=2)


def test_clear_by_id_or_by_the_criteria_given():
    def fresh():
        return store(
            (0, make(id=1, stack=0, purpose=CHARGE_POINT_MAX)),
            (0, make(id=2, stack=0)),
            (1, make(id=3, stack=1)),
            (1, make(id=4, stack=2)),
        )

    def left(profiles):
        return sorted(p.id for _, p in profiles.installed)

    profiles = fresh()
    assert profiles.clear(profile_id=3) and left(profiles) == [1, 2, 4]
    assert not profiles.clear(profile_id=99)
    # With an id the other fields are not criteria.
    assert profiles.clear(profile_id=4, connector_id=0) and left(profiles) == [1, 2]
    profiles = fresh()
    assert profiles.clear(connector_id=0) and left(profiles) == [3, 4]  # 0 is the charger's own
    profiles = fresh()
    assert profiles.clear(purpose=TX_DEFAULT, stack_level=0) and left(profiles) == [1, 3, 4]
    assert not profiles.clear(connector_id=1, stack_level=0)
    assert profiles.clear() and left(profiles) == []
    assert not profiles.clear()


def test_a_transaction_end_clears_the_tx_profiles_of_its_connector_only():
    profiles = store((1, make(id=1, purpose=TX_PROFILE)), (2, make(id=2, purpose=TX_PROFILE)), (1, make(id=3)))
    profiles.end_transaction(1)
    assert sorted(p.id for _, p in profiles.installed) == [2, 3]


def test_capabilities_refuse_what_the_configuration_keys_do_not_allow():
    caps = Capabilities.from_keys("Current", max_stack_level=3, max_periods=2, max_installed=5)
    assert caps.units == ("A",)
    assert caps.problem(make(stack=3)) is None
    assert "ChargeProfileMaxStackLevel" in caps.problem(make(stack=4))
    three = [{"start_period": s, "limit": 6} for s in (0, 60, 120)]
    assert "ChargingScheduleMaxPeriods" in caps.problem(make(periods=three))
    assert "ChargingScheduleAllowedChargingRateUnit" in caps.problem(make(6900, unit="W"))
    assert Capabilities.from_keys("Power", max_stack_level=3, max_periods=2, max_installed=5).units == ("W",)


# -- the composite schedule ------------------------------------------------------------------


def test_the_composite_changes_where_profiles_start_and_lapse():
    profiles = store(
        (0, make(16, id=1)),
        (1, make(10, id=2, purpose=TX_PROFILE, duration=60)),
        (1, make(8, id=3, stack=1, start=at(120), duration=30)),  # a connector TxDefault
    )
    periods, covered = profiles.composite(1, {1: Tx(101, T0)}, T0, 300, "A", ELEC)
    assert covered == 300
    assert [(p["start_period"], p["limit"]) for p in periods] == [(0, 10), (60, 16), (120, 8), (150, 16)]
    watts, _ = profiles.composite(1, {1: Tx(101, T0)}, T0, 300, "W", ELEC)
    assert [p["limit"] for p in watts] == [6900, 11040, 5520, 11040]
    assert {p["number_phases"] for p in watts} == {3}


def test_the_composite_of_connector_0_is_the_charger_total_within_its_cap():
    profiles = store((0, make(16, id=1)), (0, make(24, id=2, purpose=CHARGE_POINT_MAX, start=at(60))))
    periods, _ = profiles.composite(0, {1: Tx(1, T0), 2: None}, T0, 120, "A", ELEC)
    assert [(p["start_period"], p["limit"]) for p in periods] == [(0, 32), (60, 24)]


def test_a_composite_without_profiles_is_the_rating():
    periods, _ = ProfileStore().composite(1, {1: None}, T0, 3600, "A", Electrical(230, 3, 11000 / 690))
    assert periods == [{"start_period": 0, "limit": 15.9, "number_phases": 3}]


def test_a_recurring_composite_over_days_and_its_cut():
    daily = make(6, kind="Recurring", recurrency="Daily", start=T0, duration=3600)
    profiles = store((1, daily))
    periods, covered = profiles.composite(1, {1: None}, T0, 2 * 86400, "A", ELEC)
    assert [(p["start_period"], p["limit"]) for p in periods] == [(0, 6), (3600, 32), (86400, 6), (90000, 32)]
    assert covered == 2 * 86400
    periods, covered = profiles.composite(1, {1: None}, T0, 10**8, "A", ELEC)
    assert len(periods) == MAX_COMPOSITE_PERIODS and covered == periods[-1]["start_period"] + 86400 - 3600


def test_limits_are_carried_in_tenths_never_above_the_real_one():
    assert (floor_tenth(15.94), floor_tenth(10.0), floor_tenth(6.99), floor_tenth(0.0)) == (15.9, 10.0, 6.9, 0.0)
