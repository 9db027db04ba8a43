"""The targets `make bench` judges: thresholds, populations, the floor's ratio."""

import pytest

from bench.verdicts import ROWS, postgres_vs_sqlite, ratio, verdict

ROW = {row.scenario: row for row in ROWS}


def judged(scenario: str, floor: dict | None, server: dict) -> bool | None:
    results = {"baseline": {scenario: floor} if floor else {}, "sqlite": {scenario: server}}
    return verdict(ROW[scenario], results, "sqlite")


@pytest.mark.parametrize(
    ("scenario", "needed"),
    [("heartbeat", 0.35), ("metervalues", 0.25)],
)
def test_it_meets_a_closed_loop_target_at_its_ratio_of_the_floor_with_1000_chargers(scenario, needed):
    floor = {"msg_per_s": 10_000.0, "chargers": 1000}
    assert judged(scenario, floor, {"msg_per_s": 10_000 * needed, "chargers": 1000}) is True
    assert judged(scenario, floor, {"msg_per_s": 10_000 * needed - 1, "chargers": 1000}) is False
    # A scaled-down run never meets a target.
    assert judged(scenario, floor, {"msg_per_s": 10_000.0, "chargers": 999}) is False
    # Without the floor there is no ratio, so nothing is met.
    assert judged(scenario, None, {"msg_per_s": 10_000.0, "chargers": 1000}) is False


def test_it_holds_idle_chargers_to_24_kib_each_and_under_2_percent_cpu():
    good = {"chargers": 10_000, "rss_kib_per_charger": 24.0, "idle_cpu_percent": 1.9}
    assert judged("idle", None, good) is True
    assert judged("idle", None, {**good, "rss_kib_per_charger": 24.1}) is False
    assert judged("idle", None, {**good, "idle_cpu_percent": 2.0}) is False
    assert judged("idle", None, {**good, "chargers": 9_999}) is False


def test_it_gives_the_storm_three_times_the_floors_time_and_no_failure():
    floor = {"seconds": 4.0}
    good = {"chargers": 10_000, "connected": 10_000, "failures": 0, "seconds": 12.0}
    assert judged("storm", floor, good) is True
    assert ratio(ROW["storm"], {"baseline": {"storm": floor}, "sqlite": {"storm": good}}, "sqlite") == 3.0
    assert judged("storm", floor, {**good, "seconds": 12.1}) is False
    assert judged("storm", floor, {**good, "failures": 1}) is False


def test_it_wants_the_backlog_stored_in_order_at_a_twentieth_of_the_floors_rate():
    floor = {"msg_per_s": 6000.0}
    good = {"messages_sent": 1000, "errors": 0, "stored": 998, "expected": 998, "in_order": True, "msg_per_s": 300.0}
    assert judged("backlog", floor, good) is True
    assert judged("backlog", floor, {**good, "msg_per_s": 299.0}) is False
    assert judged("backlog", floor, {**good, "in_order": False}) is False
    assert judged("backlog", floor, {**good, "stored": 997}) is False


def test_it_fails_the_mixed_load_for_a_single_dropped_message():
    good = {"chargers": 10_000, "rate": 2000, "p99_ms": 49.9, "dropped": 0, "errors": 0}
    assert judged("mixed", None, good) is True
    assert judged("mixed", None, {**good, "dropped": 1}) is False
    assert judged("mixed", None, {**good, "p99_ms": 50.0}) is False
    assert judged("mixed", None, {**good, "rate": 1000}) is False


def test_it_wants_the_first_call_of_an_idle_server_under_a_millisecond_at_p50():
    good = {"messages": 20, "errors": 0, "p50_ms": 0.9, "p99_ms": 7.0}
    assert judged("first_call", None, good) is True
    assert judged("first_call", None, {**good, "p50_ms": 1.0}) is False
    assert judged("first_call", None, {**good, "messages": 19}) is False


def test_it_has_no_verdict_without_a_result():
    assert verdict(ROW["heartbeat"], {"sqlite": {"_error": "did not start"}}, "sqlite") is None


def test_it_compares_postgresql_with_sqlite_on_the_throughput_rows_only():
    results = {"sqlite": {"heartbeat": {"msg_per_s": 1000.0}}, "postgres": {"heartbeat": {"msg_per_s": 800.0}}}
    assert postgres_vs_sqlite(ROW["heartbeat"], results) == 0.8
    assert {row.scenario for row in ROWS if row.throughput} == {"heartbeat", "metervalues", "backlog"}
    assert postgres_vs_sqlite(ROW["idle"], results) is None
