"""The simulated car (simulator/ev.py): what it draws of what it is offered,
and how the cars on one charger share a ChargePointMaxProfile."""

import pytest

from simulator.ev import EV, MIN_CURRENT, share


def test_the_car_draws_the_offer_up_to_its_own_maximum():
    car = EV(max_current=16)
    assert car.draw(10) == 10
    assert car.draw(32) == 16


def test_under_6_a_offered_the_car_draws_nothing():
    car = EV(max_current=32)
    assert MIN_CURRENT == 6
    assert car.draw(5.9) == 0
    assert car.draw(6) == 6


def test_the_draw_tapers_above_80_percent_down_to_a_tenth_at_100():
    car = EV(max_current=32, soc=80)
    assert car.wanted == 32
    car.soc = 90
    assert car.wanted == pytest.approx(32 * 0.55)
    car.soc = 99.999
    assert car.wanted == pytest.approx(3.2, abs=0.01)
    car.soc = 100
    assert car.full and car.wanted == 0


def test_charging_fills_the_battery():
    car = EV(battery_kwh=50, soc=20)
    car.charge(5000)
    assert car.soc == pytest.approx(30)
    car.charge(10**6)
    assert car.soc == 100


def test_a_paused_car_draws_nothing():
    car = EV()
    car.paused = True
    assert car.draw(16) == 0


def test_the_car_pauses_by_itself_once_after_pause_after_seconds():
    car = EV(pause_after=30)
    car.plug_in(40, now=1000)
    car.tick(1029)
    assert not car.paused
    car.tick(1030)
    assert car.paused
    car.paused = False  # resumed by the operator: it does not pause again
    car.tick(2000)
    assert not car.paused
    car.plug_in(40, now=3000)  # the next session pauses again
    car.tick(3030)
    assert car.paused and car.soc == 40


def test_without_a_cap_each_connector_is_offered_its_own_limit():
    assert share(None, {1: 16, 2: 10}, {1: 16, 2: 10}) == {1: 16, 2: 10}


def test_a_single_connector_is_offered_at_most_the_cap_even_when_its_car_wants_less():
    assert share(10, {1: 16}, {1: 8}) == {1: 10}


def test_the_cap_is_water_filled_between_the_cars():
    # Car 1 wants 8 A, car 2 all it can: car 2 gets what car 1 leaves.
    assert share(32, {1: 32, 2: 32}, {1: 8, 2: 32}) == {1: 8, 2: 24}
    assert share(20, {1: 16, 2: 16}, {1: 16, 2: 16}) == {1: 10, 2: 10}


def test_a_paused_car_is_offered_what_the_others_leave():
    assert share(20, {1: 16, 2: 16}, {1: 0, 2: 16}) == {1: 4, 2: 16}


def test_under_the_minimum_the_last_connectors_are_left_out_so_the_others_charge():
    offered = share(10, {1: 16, 2: 16}, {1: 16, 2: 16})  # 5 A each would charge neither
    assert offered == {1: 10, 2: 0}
    assert share(5, {1: 16}, {1: 16}) == {1: 5}  # under 6 A: the car will draw nothing
