"""Site load management's service: the tree's rules (nothing half-saved) and
the plan the load manager sends, on the real database."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from ocpp_app.models import Charger, Circuit, LoadAllocation, MeterReading, Node
from ocpp_app.services import load
from ocpp_app.tests.helpers import make_charger, make_session

pytestmark = pytest.mark.django_db


def circuit(name="Main", max_current="32", **fields):
    return load.circuit_write(circuit=None, fields={"name": name, "max_current": Decimal(max_current), **fields})


def attach(charger, site, **fields):
    return load.charger_load_update(charger=charger, fields={"circuit": site, **fields})


def current(tx, amperes, *, at=None, phases=("L1", "L2", "L3")):
    """A Current.Import of `amperes` on each of `phases` (a phase -> amperes
    mapping gives each its own)."""
    at = at or timezone.now()
    for phase in phases:
        value = phases[phase] if isinstance(phases, dict) else amperes
        MeterReading.objects.create(
            charger=tx.charger,
            connector_id=tx.connector_id,
            transaction=tx,
            timestamp=at,
            measurand="Current.Import",
            phase=phase,
            unit="A",
            value=str(value),
            value_numeric=value,
        )


def orders_by_charger(plan):
    return {(o.charger_id, o.kind): o for o in plan.orders}


class TestTreeRules:
    def test_a_cycle_is_refused_and_nothing_changes(self):
        main = circuit()
        feeder = circuit("Feeder", "16", parent_id=main.pk)
        with pytest.raises(load.LoadConfigError) as error:
            load.circuit_write(circuit=main, fields={"parent_id": feeder.pk})
        assert "cycle" in str(error.value.errors["parent"])
        main.refresh_from_db()
        assert main.parent_id is None

    def test_a_child_above_its_parent_is_refused(self):
        main = circuit()
        with pytest.raises(load.LoadConfigError) as error:
            circuit("Feeder", "40", parent_id=main.pk)
        assert "above its parent" in error.value.errors["max_current"][0]
        assert not Circuit.objects.filter(name="Feeder").exists()
        # Lowering a parent under its child is refused the same way.
        circuit("Feeder", "20", parent_id=main.pk)
        with pytest.raises(load.LoadConfigError):
            load.circuit_write(circuit=main, fields={"max_current": Decimal("16")})
        assert Circuit.objects.get(pk=main.pk).max_current == 32

    def test_unknown_chargers_leave_the_tree_as_it_was(self):
        make_charger("CP1")
        with pytest.raises(load.LoadConfigError) as error:
            load.circuit_write(
                circuit=None, fields={"name": "Main", "max_current": Decimal("32")}, chargers=["CP1", "NOPE"]
            )
        assert error.value.errors["chargers"] == ["unknown charger(s): NOPE"]
        assert not Circuit.objects.exists()
        assert Charger.objects.get(charger_id="CP1").circuit_id is None

    def test_three_phase_charger_on_a_single_phase_circuit_is_refused(self):
        site = circuit(phases=1, phase="L2")
        charger = make_charger("CP1")
        with pytest.raises(load.LoadConfigError) as error:
            attach(charger, site)
        assert "set the charger's phases to 1" in error.value.errors["phases"][0]
        attach(Charger.objects.get(charger_id="CP1"), site, phases=1)
        assert Charger.objects.get(charger_id="CP1").phase == "L2"  # the circuit's phase

    def test_a_circuit_with_sub_circuits_cannot_be_deleted_and_chargers_are_detached(self):
        main = circuit()
        feeder = circuit("Feeder", "16", parent_id=main.pk)
        attach(make_charger("CP1"), feeder)
        with pytest.raises(load.LoadConfigError):
            load.circuit_delete(circuit=main)
        assert load.circuit_delete(circuit=feeder) == 1
        assert Charger.objects.get(charger_id="CP1").circuit_id is None


class TestPlan:
    def three_on_32(self):
        site = circuit()
        sessions = []
        for index in range(3):
            charger = make_charger(f"CP{index}")
            attach(charger, site)
            sessions.append(make_session(charger, readings=0, start=timezone.now() - timedelta(minutes=10 - index)))
        return site, sessions

    def test_three_sessions_on_32_a_get_equal_tx_profiles_and_a_fail_safe_each(self):
        _, sessions = self.three_on_32()
        plan = load.load_plan()
        orders = orders_by_charger(plan)
        assert {orders[(f"CP{i}", load.TX)].limit for i in range(3)} == {Decimal("10.6")}
        # Fail-safe: every connector of the tree at once.
        assert {orders[(f"CP{i}", load.FAILSAFE)].limit for i in range(3)} == {Decimal("10.6")}
        payload = orders[("CP0", load.TX)].payload(now=timezone.now())
        profile = payload["csChargingProfiles"]
        assert profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["transactionId"] == sessions[0].pk
        assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 10.6, "numberPhases": 3}
        ]
        assert LoadAllocation.objects.filter(state=LoadAllocation.State.PENDING).count() == 3

    def test_once_applied_nothing_is_sent_again_until_something_changes(self):
        self.three_on_32()
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        assert load.load_plan().orders == []
        # The circuit lowered to 12 A: two sessions keep 6 A, the latest is paused.
        load.circuit_write(circuit=Circuit.objects.get(), fields={"max_current": Decimal("12")})
        orders = orders_by_charger(load.load_plan())
        assert (orders[("CP0", load.TX)].limit, orders[("CP1", load.TX)].limit) == (Decimal("6"), Decimal("6"))
        assert orders[("CP2", load.TX)].limit == 0
        assert all(order.decrease for order in orders.values())
        paused = LoadAllocation.objects.get(charger__charger_id="CP2")
        assert paused.reason == "paused"

    def test_an_ev_drawing_less_passes_its_share_on(self):
        _, sessions = self.three_on_32()
        # Accepted a while ago: the readings below come after the limits settled.
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted", now=timezone.now() - timedelta(seconds=10))
        current(sessions[0], 4.0)
        current(sessions[1], 10.5)
        current(sessions[2], 10.6)
        orders = orders_by_charger(load.load_plan())
        assert orders[("CP0", load.TX)].limit == Decimal("6")  # 4 A drawn + 2 A margin
        # The others' raise waits for OCPP_LOAD_MIN_INTERVAL after their last profile.
        assert ("CP1", load.TX) not in load.load_plan(now=timezone.now() - timedelta(seconds=8)).orders
        later = load.load_plan()
        raised = orders_by_charger(later)
        assert raised[("CP1", load.TX)].limit == raised[("CP2", load.TX)].limit == Decimal("13")
        assert not raised[("CP1", load.TX)].decrease

    def test_an_offline_charger_s_last_limit_counts_until_it_lapses_then_its_fail_safe(self, settings):
        _, sessions = self.three_on_32()
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        Charger.objects.filter(charger_id="CP2").update(connected=False)
        plan = load.load_plan()
        assert ("CP2", load.TX) not in orders_by_charger(plan)
        row = LoadAllocation.objects.get(charger__charger_id="CP2")
        assert (row.state, row.limit) == ("offline", Decimal("10.6"))
        lapsed = timezone.now() + timedelta(seconds=settings.OCPP_LOAD_PROFILE_DURATION + 1)
        load.load_plan(now=lapsed)
        assert LoadAllocation.objects.get(charger__charger_id="CP2").limit == Decimal("10.6")  # its fail-safe

    def test_a_charger_on_a_dead_node_counts_as_offline(self):
        self.three_on_32()
        Node.objects.create(node_id="gone", lease_expires_at=timezone.now() - timedelta(seconds=5))
        Charger.objects.filter(charger_id="CP1").update(node_id="gone")
        load.load_plan()
        assert LoadAllocation.objects.get(charger__charger_id="CP1").state == "offline"

    def test_a_charger_that_rejects_is_counted_at_its_maximum_and_flagged(self):
        _, sessions = self.three_on_32()
        orders = orders_by_charger(load.load_plan())
        load.load_applied(
            order=orders[("CP0", load.TX)], status="rejected", detail="SetChargingProfile answered Rejected"
        )
        charger = Charger.objects.get(charger_id="CP0")
        assert (charger.load_control, charger.load_control_detail) == (
            "rejected",
            "SetChargingProfile answered Rejected",
        )
        plan = orders_by_charger(load.load_plan())
        assert ("CP0", load.TX) not in plan
        # 32 A - its 32 A maximum: nothing left for the others' minimum.
        assert plan[("CP1", load.TX)].limit == plan[("CP2", load.TX)].limit == 0
        assert LoadAllocation.objects.get(charger=charger).state == "rejected"

    def test_a_charger_without_smart_charging_is_never_sent_profiles(self):
        site = circuit()
        charger = make_charger(
            "CP1", config={"configurationKey": {"SupportedFeatureProfiles": {"value": "Core", "readonly": True}}}
        )
        attach(charger, site, max_current=Decimal("16"))
        make_session(Charger.objects.get(charger_id="CP1"), readings=0)
        plan = load.load_plan()
        assert plan.orders == []
        row = LoadAllocation.objects.get()
        assert (row.reason, row.limit, row.state) == ("fixed", Decimal("16"), "unsupported")

    def test_power_only_chargers_get_watts(self):
        site = circuit()
        charger = make_charger(
            "CP1",
            config={"configurationKey": {"ChargingScheduleAllowedChargingRateUnit": {"value": "Power"}}},
        )
        attach(charger, site, max_current=Decimal("16"))
        make_session(Charger.objects.get(charger_id="CP1"), readings=0)
        order = orders_by_charger(load.load_plan())[("CP1", load.TX)]
        schedule = order.payload(now=timezone.now())["csChargingProfiles"]["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "W"
        # One phase's worth: a car may draw it all on one phase.
        assert schedule["chargingSchedulePeriod"][0]["limit"] == 16 * 230

    def test_a_detached_charger_gets_its_profiles_cleared(self):
        site, sessions = self.three_on_32()
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        load.charger_load_update(charger=Charger.objects.get(charger_id="CP0"), fields={"circuit": None})
        orders = orders_by_charger(load.load_plan())
        assert (("CP0", load.CLEAR_TX) in orders) and (("CP0", load.CLEAR_FAILSAFE) in orders)
        assert orders[("CP0", load.CLEAR_TX)].payload(now=timezone.now()) == {"id": 31001}
        for kind in (load.CLEAR_TX, load.CLEAR_FAILSAFE):
            load.load_applied(order=orders[("CP0", kind)], status="accepted")
        assert not LoadAllocation.objects.filter(charger__charger_id="CP0").exists()
        assert Charger.objects.get(charger_id="CP0").failsafe_limit is None

    def test_a_peak_hour_window_lowers_the_limit(self):
        site = circuit()
        now = timezone.localtime()
        start = (now - timedelta(minutes=5)).time()
        end = (now + timedelta(minutes=5)).time()
        if start > end:
            pytest.skip("around midnight")
        load.circuit_write(
            circuit=site,
            fields={},
            schedule=[{"days": "0,1,2,3,4,5,6", "start": start, "end": end, "max_current": Decimal("12")}],
        )
        assert load.limit_in_force(site, list(site.schedule.all()), timezone.now()) == 12
        with pytest.raises(load.LoadConfigError):
            load.circuit_write(
                circuit=site,
                fields={},
                schedule=[{"days": "7", "start": start, "end": end, "max_current": Decimal("40")}],
            )

    def test_samples_record_the_load_against_the_limit(self):
        site, _ = self.three_on_32()
        load.load_plan()
        assert load.load_sample() == 1
        sample = site.samples.get()
        assert (sample.limit, sample.allocated) == (Decimal("32"), Decimal("31.8"))


def test_a_charger_applying_more_than_it_accepted_is_said_so():
    site = circuit()
    charger = make_charger("CP1")
    attach(charger, site)
    tx = make_session(Charger.objects.get(charger_id="CP1"), readings=0)
    load.circuit_write(circuit=site, fields={"max_current": Decimal("16")})
    for order in load.load_plan().orders:
        load.load_applied(order=order, status="accepted")
    load.load_confirmed(transaction_id=tx.pk, limit=Decimal("32"))
    assert load.load_plan().orders == []  # nothing to resend: it accepted what it was told
    row = LoadAllocation.objects.get()
    assert row.confirmed_limit == 32 and "applies 32 A, above the 16.0 A" in row.detail


class TestWhatTheChargersDo:
    def test_a_cut_that_got_no_answer_counts_at_what_the_charger_still_applies(self):
        site = circuit()
        for charger_id in ("CP1", "CP2"):
            attach(make_charger(charger_id), site)
            make_session(Charger.objects.get(charger_id=charger_id), readings=0)
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        # Lowered to 20 A: both cut to 10 A, CP1's cut times out.
        load.circuit_write(circuit=Circuit.objects.get(), fields={"max_current": Decimal("20")})
        cuts = orders_by_charger(load.load_plan())
        load.load_applied(order=cuts[("CP1", load.TX)], status="failed", detail="timeout")
        load.load_applied(order=cuts[("CP2", load.TX)], status="accepted")
        row = LoadAllocation.objects.get(charger__charger_id="CP1")
        assert (row.state, row.sent_limit) == ("failed", Decimal("16.0"))
        plan = orders_by_charger(load.load_plan())
        # CP1 still applies 16 A: counted at it and asked again for its minimum;
        # the 4 A left are under CP2's minimum: CP2 is paused until CP1 takes a cut.
        assert plan[("CP1", load.TX)].limit == Decimal("6") and plan[("CP1", load.TX)].decrease
        assert plan[("CP2", load.TX)].limit == 0 and plan[("CP2", load.TX)].decrease
        assert LoadAllocation.objects.get(charger__charger_id="CP1").reason == "fixed"

    def test_an_offline_charger_s_idle_connectors_count_at_its_fail_safe(self):
        site = circuit()
        attach(make_charger("CP1", statuses=("Available", "Available")), site)
        attach(make_charger("CP2"), site)
        make_session(Charger.objects.get(charger_id="CP2"), readings=0)
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        assert Charger.objects.get(charger_id="CP1").failsafe_limit == Decimal("10.6")  # three connectors at once
        Charger.objects.filter(charger_id="CP1").update(connected=False)
        # CP1 may start two sessions of its own at 10.6 A each: CP2 keeps the rest.
        assert LoadAllocation.objects.get(charger__charger_id="CP2").limit == Decimal("32")
        plan = orders_by_charger(load.load_plan())
        assert plan[("CP2", load.TX)].limit == Decimal("10.8")

    def test_fail_safes_count_unsteerable_chargers_and_the_lowest_window(self):
        site = circuit()
        load.circuit_write(
            circuit=site,
            fields={},
            schedule=[{"days": "0", "start": "17:00", "end": "20:00", "max_current": Decimal("20")}],
        )
        attach(make_charger("CP1"), site)
        attach(
            make_charger(
                "NOSC", config={"configurationKey": {"SupportedFeatureProfiles": {"value": "Core", "readonly": True}}}
            ),
            site,
            max_current=Decimal("8"),
        )
        orders = orders_by_charger(load.load_plan())
        # 20 A (the lowest window) - the unsteerable charger's 8 A.
        assert orders[("CP1", load.FAILSAFE)].limit == Decimal("12")
        assert ("NOSC", load.FAILSAFE) not in orders

    def test_a_rejection_for_a_session_that_ended_meanwhile_flags_nothing(self):
        site = circuit()
        attach(make_charger("CP1"), site)
        tx = make_session(Charger.objects.get(charger_id="CP1"), readings=0)
        order = orders_by_charger(load.load_plan())[("CP1", load.TX)]
        tx.stop_time = timezone.now()
        tx.save()
        load.load_applied(order=order, status="rejected", detail="SetChargingProfile answered Rejected")
        assert Charger.objects.get(charger_id="CP1").load_control == ""

    def test_a_reading_from_before_the_limit_changed_is_not_a_draw(self):
        site = circuit()
        attach(make_charger("CP1"), site)
        attach(make_charger("CP2"), site)
        txs = [make_session(Charger.objects.get(charger_id=c), readings=0) for c in ("CP1", "CP2")]
        current(txs[0], 4.0)  # before any limit was sent
        for order in load.load_plan().orders:
            load.load_applied(order=order, status="accepted")
        # CP1's 4 A was read before its 16 A: no cut on it.
        assert ("CP1", load.TX) not in orders_by_charger(load.load_plan())

    def test_line_to_neutral_phases_are_read_and_line_to_line_ignored(self):
        site = circuit()
        attach(make_charger("CP1"), site, phases=1)
        tx = make_session(Charger.objects.get(charger_id="CP1"), readings=0)
        current(tx, None, phases={"L1-N": 7.0, "L1-L2": 30.0})
        load.load_plan()
        assert LoadAllocation.objects.get().measured == Decimal("7.0")
