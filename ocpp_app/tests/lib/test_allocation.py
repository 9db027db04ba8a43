"""The load allocator, by its properties on random trees and sessions, and by
the cases an operator would check by hand."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from ocpp_app.lib.allocation import (
    DRAW,
    FIXED,
    MAXIMUM,
    PAUSED,
    PHASES,
    SHARE,
    Circuit,
    Demand,
    allocate,
    circuit_loads,
    demand_cap,
    path_to_root,
)

STEP = 0.1
TOLERANCE = 1e-6


@st.composite
def trees(draw):
    count = draw(st.integers(1, 6))
    circuits = []
    for index in range(count):
        parent = None if index == 0 else draw(st.integers(0, index - 1))
        parent_phases = PHASES if parent is None else circuits[parent].phases
        if len(parent_phases) == 3 and draw(st.booleans()):
            phases = PHASES
        else:
            phases = (draw(st.sampled_from(parent_phases)),)
        limit = draw(st.integers(0, 800)) / 10
        circuits.append(Circuit(id=index, parent=parent, limit=limit, phases=phases))
    return circuits


@st.composite
def scenarios(draw):
    circuits = draw(trees())
    demands = []
    for key in range(draw(st.integers(0, 12))):
        circuit = draw(st.sampled_from(circuits))
        if len(circuit.phases) == 3 and draw(st.booleans()):
            phases = PHASES
        else:
            phases = (draw(st.sampled_from(circuit.phases)),)
        minimum = draw(st.sampled_from([0.0, 6.0, 6.0, 8.0]))
        maximum = draw(st.integers(int(minimum * 10), 640)) / 10
        drawn = draw(st.none() | st.integers(0, 640).map(lambda v: v / 10))
        previous = draw(st.none() | st.integers(0, 640).map(lambda v: v / 10))
        fixed = draw(st.none() | st.integers(0, 160).map(lambda v: v / 10)) if draw(st.integers(0, 5)) == 0 else None
        demands.append(
            Demand(
                key=key,
                circuit=circuit.id,
                phases=phases,
                minimum=minimum,
                maximum=maximum,
                priority=draw(st.sampled_from([0, 0, 0, 1])),
                order=(draw(st.integers(0, 5)), key),
                draw=drawn,
                previous=previous,
                fixed=fixed,
            )
        )
    return circuits, demands


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_no_circuit_is_ever_above_its_limit_on_any_phase(scenario):
    circuits, demands = scenario
    grants = allocate(circuits, demands, step=STEP)
    controllable = {d.key: grants[d.key].limit for d in demands if d.fixed is None}
    fixed = {d.key: d.fixed for d in demands if d.fixed is not None}
    steered = circuit_loads(circuits, demands, controllable)
    unsteered = circuit_loads(circuits, demands, fixed)
    for circuit in circuits:
        for phase in circuit.phases:
            if unsteered[circuit.id][phase] > circuit.limit:
                # Fixed loads alone break the limit: nothing steerable is added there.
                assert steered[circuit.id][phase] == 0
            else:
                assert steered[circuit.id][phase] + unsteered[circuit.id][phase] <= circuit.limit + TOLERANCE


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_a_session_gets_its_minimum_or_nothing_and_never_more_than_its_maximum(scenario):
    circuits, demands = scenario
    grants = allocate(circuits, demands, step=STEP)
    assert set(grants) == {d.key for d in demands}
    for d in demands:
        grant = grants[d.key]
        if d.fixed is not None:
            assert grant.reason == FIXED
            continue
        assert grant.limit == 0 or grant.limit >= d.minimum - TOLERANCE
        assert grant.limit <= d.maximum + TOLERANCE
        assert (grant.limit == 0) == (grant.reason == PAUSED) or d.minimum == 0


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.randoms())
def test_it_is_deterministic_and_does_not_depend_on_input_order(scenario, rng):
    circuits, demands = scenario
    first = allocate(circuits, demands, step=STEP)
    shuffled = list(demands)
    rng.shuffle(shuffled)
    shuffled_circuits = list(circuits)
    rng.shuffle(shuffled_circuits)
    assert allocate(shuffled_circuits, shuffled, step=STEP) == first
    assert allocate(circuits, demands, step=STEP) == first


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_shares_are_fair_and_no_capacity_is_left_that_someone_could_use(scenario):
    """Max-min fairness: a session below its cap is bound by a full circuit on
    its path, and on that circuit no session of its priority that is also
    bound there got more than one rounding step above it (or its own minimum)."""
    circuits, demands = scenario
    grants = allocate(circuits, demands, step=STEP)
    tree = {c.id: c for c in circuits}
    fixed = {d.key: d.fixed for d in demands if d.fixed is not None}
    limits = {d.key: grants[d.key].limit for d in demands if d.fixed is None}
    loads = circuit_loads(circuits, demands, {**limits, **fixed})
    steerable = [d for d in demands if d.fixed is None and grants[d.key].reason != PAUSED]
    count = max(1, len(steerable))
    for d in steerable:
        grant = grants[d.key]
        cap, _ = demand_cap(d, 2.0)
        if grant.limit >= cap - STEP - TOLERANCE:
            continue
        assert grant.reason == SHARE
        bottleneck = tree[grant.bottleneck]
        assert grant.bottleneck in path_to_root(tree, d.circuit)
        slack = min(bottleneck.limit - loads[bottleneck.id][p] for p in d.phases if p in bottleneck.phases)
        assert slack <= STEP * count + TOLERANCE  # full but for rounding
        for other in steerable:
            same_place = other.phases == d.phases and grants[other.key].bottleneck == grant.bottleneck
            if other.priority == d.priority and same_place:
                # Above this one's share only by its own minimum (a floor, not a share).
                assert grants[other.key].limit <= max(grant.limit + STEP, other.minimum) + TOLERANCE


def three_phase(limit, parent=None, id=0):
    return Circuit(id=id, parent=parent, limit=limit, phases=PHASES)


def session(key, circuit=0, *, phases=PHASES, minimum=6.0, maximum=32.0, **kw):
    return Demand(key=key, circuit=circuit, phases=phases, minimum=minimum, maximum=maximum, order=(key,), **kw)


def test_three_sessions_share_a_32_a_circuit_equally():
    grants = allocate([three_phase(32)], [session(1), session(2), session(3)])
    assert [grants[k].limit for k in (1, 2, 3)] == [10.6, 10.6, 10.6]
    assert {grants[k].reason for k in (1, 2, 3)} == {SHARE}


def test_at_8_a_one_session_charges_and_the_later_ones_are_paused_in_start_order():
    grants = allocate([three_phase(8)], [session(3), session(1), session(2)])
    assert (grants[1].limit, grants[2].limit, grants[3].limit) == (8.0, 0.0, 0.0)
    assert grants[2].reason == grants[3].reason == PAUSED
    assert grants[2].bottleneck == 0
    # The same input again: the same sessions stay paused.
    assert allocate([three_phase(8)], [session(1), session(2), session(3)]) == grants


def test_a_higher_priority_session_is_filled_first():
    grants = allocate([three_phase(32)], [session(1), session(2, priority=1)])
    assert (grants[1].limit, grants[2].limit) == (6.0, 26.0)


def test_an_ev_drawing_well_below_its_limit_passes_the_rest_on_and_gets_it_back_when_it_draws_again():
    tree = [three_phase(32)]
    low = allocate(tree, [session(1, draw=4.0, previous=16.0), session(2, previous=16.0, draw=15.9)])
    assert low[1].limit == 6.0 and low[1].reason == DRAW  # 4 A drawn + 2 A margin
    assert low[2].limit == 26.0
    # Drawing its cap again: it asks for more and gets its share back.
    back = allocate(tree, [session(1, draw=5.8, previous=6.0), session(2, previous=26.0, draw=25.9)])
    assert back[1].limit == back[2].limit == 16.0
    # In between (under previous - margin/2 but not under previous - margin): held.
    held = allocate(tree, [session(1, draw=9.5, previous=11.0), session(2, previous=21.0, draw=21.0)])
    assert held[1].limit == 11.0 and held[1].reason == DRAW


def test_the_ev_s_own_maximum_leaves_the_rest_to_others():
    grants = allocate([three_phase(32)], [session(1, maximum=10), session(2)])
    assert (grants[1].limit, grants[1].reason) == (10.0, MAXIMUM)
    assert grants[2].limit == 22.0


def test_single_phase_sessions_on_different_phases_do_not_share():
    grants = allocate(
        [three_phase(16)],
        [session(1, phases=("L1",)), session(2, phases=("L1",)), session(3, phases=("L2",))],
    )
    assert (grants[1].limit, grants[2].limit, grants[3].limit) == (8.0, 8.0, 16.0)


def test_every_circuit_on_the_path_holds_a_feeder_below_the_main():
    tree = [three_phase(40, id=0), three_phase(16, parent=0, id=1)]
    grants = allocate(tree, [session(1, circuit=1), session(2, circuit=1), session(3, circuit=0)])
    assert (grants[1].limit, grants[2].limit) == (8.0, 8.0)
    assert grants[1].bottleneck == 1
    assert grants[3].limit == 24.0


def test_a_charger_it_cannot_steer_counts_as_fixed():
    grants = allocate([three_phase(32)], [session(1, fixed=16.0), session(2)])
    assert (grants[1].limit, grants[1].reason) == (16.0, FIXED)
    assert grants[2].limit == 16.0


def test_thirds_round_down_never_up():
    grants = allocate([three_phase(20)], [session(k) for k in range(3)])
    assert all(grant.limit == 6.6 for grant in grants.values())
    assert sum(grant.limit for grant in grants.values()) <= 20


def test_large_random_input_terminates_and_holds():
    rng = random.Random(7)
    tree = [three_phase(400, id=0)] + [three_phase(rng.randint(20, 120), parent=0, id=i) for i in range(1, 30)]
    demands = [session(k, circuit=rng.randint(0, 29), maximum=rng.choice([16, 32])) for k in range(500)]
    grants = allocate(tree, demands)
    loads = circuit_loads(tree, demands, {k: g.limit for k, g in grants.items()})
    assert all(loads[c.id][p] <= c.limit + TOLERANCE for c in tree for p in c.phases)
