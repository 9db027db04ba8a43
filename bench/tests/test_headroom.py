"""The arithmetic of the cluster target's headroom and scaling factor, from
sample counter readings."""

import pytest

from bench.headroom import (
    Reading,
    cpu_cost,
    headroom,
    node_counters,
    parse_info,
    parse_metrics,
    rate_of,
    saturated,
    scaling,
    server_commands,
)

INFO_BEFORE = """# Stats\r
total_connections_received:12\r
total_commands_processed:1000\r
instantaneous_ops_per_sec:37\r
instantaneous_input_kbps:1.25\r
\r
# Commandstats\r
cmdstat_zcount:calls=100,usec=300,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r
cmdstat_zrange:calls=10,usec=30,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r
cmdstat_info:calls=5,usec=500,usec_per_call=100.00,rejected_calls=0,failed_calls=0\r
"""

INFO_AFTER = """# Stats
total_connections_received:40
total_commands_processed:3020
instantaneous_ops_per_sec:250
# Commandstats
cmdstat_zcount:calls=400,usec=900,usec_per_call=3.00,rejected_calls=0,failed_calls=0
cmdstat_zrange:calls=110,usec=330,usec_per_call=3.00,rejected_calls=0,failed_calls=0
cmdstat_bzpopmin:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0
cmdstat_info:calls=25,usec=2500,usec_per_call=100.00,rejected_calls=0,failed_calls=0
"""

METRICS = """# HELP ocpp_messages_total OCPP CALLs by action
# TYPE ocpp_messages_total counter
ocpp_messages_total{action="Heartbeat",direction="in"} 1500.0
ocpp_messages_total{action="BootNotification",direction="in"} 500.0
ocpp_messages_total{action="Reset",direction="out"} 3.0
ocpp_chargers_connected 250.0
ocpp_group_commit_batch_size_bucket{le="1.0"} 3.0
ocpp_group_commit_batch_size_count 100.0
ocpp_group_commit_batch_size_sum 2000.0
ocpp_node_info{node_id="bench-cluster-2-1"} 1.0
"""


def test_it_reads_redis_stats_and_the_calls_of_each_command():
    info = parse_info(INFO_BEFORE)
    assert info["total_commands_processed"] == 1000
    assert info["instantaneous_ops_per_sec"] == 37
    assert info["instantaneous_input_kbps"] == 1.25
    assert info["commands"] == {"zcount": 100, "zrange": 10, "info": 5}
    # The bench's own readings are not the server's load.
    assert server_commands(info) == 995


def test_it_reads_a_node_s_calls_connections_and_batches_from_its_metrics():
    samples = parse_metrics(METRICS)
    assert ("ocpp_chargers_connected", {}, 250.0) in samples
    assert node_counters(METRICS) == {
        "node": "bench-cluster-2-1",
        "calls_in": 2000.0,
        "connected": 250.0,
        "batches": 100.0,
        "batched_calls": 2000.0,
    }
    assert node_counters("")["calls_in"] == 0.0


def readings() -> tuple[Reading, Reading, Reading]:
    before = Reading(
        at=100.0,
        redis=parse_info(INFO_BEFORE),
        postgres={"xact_commit": 1000, "tup_inserted": 5000, "tup_updated": 10},
        cpu={"server": 10.0, "client": 4.0, "redis": 1.0, "postgres": 2.0},
        workers_cpu={"w-1": 5.0, "w-2": 5.0},
        nodes=[
            {"node": "w-1", "calls_in": 100, "connected": 0, "batches": 10, "batched_calls": 100},
            {"node": "w-2", "calls_in": 0, "connected": 0, "batches": 0, "batched_calls": 0},
        ],
        machine_busy=50.0,
    )
    after = Reading(
        at=110.0,
        redis=parse_info(INFO_AFTER),
        # Not yet reported by the backends: the later reading counts.
        postgres={"xact_commit": 1100, "tup_inserted": 6000, "tup_updated": 10},
        cpu={"server": 25.0, "client": 13.5, "redis": 1.5, "postgres": 4.0},
        workers_cpu={"w-1": 12.0, "w-2": 13.0},
        nodes=[
            {"node": "w-1", "calls_in": 700, "connected": 60, "batches": 40, "batched_calls": 700},
            {"node": "w-2", "calls_in": 400, "connected": 40, "batches": 40, "batched_calls": 400},
        ],
        machine_busy=69.0,
    )
    late = Reading(at=121.0, postgres={"xact_commit": 1200, "tup_inserted": 9000, "tup_updated": 510})
    return before, after, late


def test_it_turns_counter_readings_into_rates_over_the_run():
    room = headroom(*readings(), cores=2)
    assert room["seconds"] == 10.0
    # 2020 commands less the 20 INFO the bench sent.
    assert room["redis_commands"] == 2000
    assert room["redis_ops_per_s"] == 200.0
    # 300 sends (ZCOUNT) and 100 group sends (ZRANGE).
    assert (room["layer_sends"], room["layer_group_sends"], room["layer_receives"]) == (300, 100, 7)
    assert room["layer_messages_per_s"] == 40.0
    assert "info" not in room["redis_top_commands"]
    assert list(room["redis_top_commands"]) == ["zcount", "zrange", "bzpopmin"]
    # 28 connections, 20 of them the bench's own readings (one INFO each).
    assert room["redis_connections"] == 8
    # PostgreSQL from the later reading, over the same 10 s.
    assert room["pg_commits"] == 200
    assert room["pg_commits_per_s"] == 20.0
    assert room["pg_inserts_per_s"] == 400.0
    assert room["pg_updates_per_s"] == 50.0


def test_it_splits_the_cpu_between_server_workers_client_and_the_rest_of_the_machine():
    room = headroom(*readings(), cores=2)
    assert room["cpu_percent"] == {
        "server": 150.0,
        "client": 95.0,
        "redis": 5.0,
        "postgres": 20.0,
        "machine": 190.0,
        # What the machine ran besides the run's own processes (never below zero).
        "other": 0.0,
    }
    assert room["cores_percent"] == 200
    assert room["workers_cpu_percent"] == {"w-1": 70.0, "w-2": 80.0}
    assert saturated(room["cpu_percent"])
    assert not saturated({"client": 89.9})


def test_it_reports_each_worker_s_share_of_the_calls_and_its_mean_batch():
    nodes = headroom(*readings())["nodes"]
    assert nodes == [
        {"node": "w-1", "calls_in": 600, "connected": 60, "mean_batch": 20.0, "share": 0.6},
        {"node": "w-2", "calls_in": 400, "connected": 40, "mean_batch": 10.0, "share": 0.4},
    ]


def test_it_counts_other_processes_cpu_as_what_the_machine_used_beyond_the_run():
    before, after, late = readings()
    after.machine_busy = 80.0  # 300 % over 10 s
    assert headroom(before, after, late)["cpu_percent"]["other"] == 30.0


@pytest.mark.parametrize(
    ("one", "two", "factor"),
    [
        ({"scenario": "heartbeat", "msg_per_s": 2000.0}, {"scenario": "heartbeat", "msg_per_s": 3000.0}, 1.5),
        # A storm by chargers answered per second: all 10 000 in 20 s against
        # 5 000 in the 40 s deadline.
        (
            {"scenario": "storm", "connected": 5000, "seconds": 40.0},
            {"scenario": "storm", "connected": 10_000, "seconds": 20.0},
            4.0,
        ),
        ({"scenario": "heartbeat", "msg_per_s": 2000.0}, None, None),
        ({"_error": "it failed"}, {"scenario": "heartbeat", "msg_per_s": 3000.0}, None),
        (
            {"scenario": "storm", "connected": 0, "seconds": 0},
            {"scenario": "storm", "connected": 9, "seconds": 1},
            None,
        ),
    ],
)
def test_it_computes_the_scaling_factor_of_two_worker_counts(one, two, factor):
    assert scaling(one, two) == factor


def test_a_storm_s_rate_is_its_answered_chargers_over_its_time():
    assert rate_of({"scenario": "storm", "connected": 300, "seconds": 2.0}) == 150.0
    assert rate_of({"scenario": "heartbeat", "msg_per_s": 12.5}) == 12.5


def test_it_prices_a_message_in_cpu_milliseconds_and_the_machine_s_ceiling():
    heartbeat = {
        "scenario": "heartbeat",
        "msg_per_s": 1000.0,
        "headroom": {"cpu_percent": {"server": 50.0, "postgres": 30.0, "redis": 0.0, "client": 20.0, "other": 90.0}},
    }
    assert cpu_cost(heartbeat, cores=2) == {
        "server_ms": 0.5,
        "postgres_ms": 0.3,
        "redis_ms": 0.0,
        "client_ms": 0.2,
        "total_ms": 1.0,
        "per_server_cpu_second": 2000.0,
        # 2 cores at 1 ms each, whatever else the machine ran meanwhile.
        "ceiling_per_s": 2000.0,
    }
    assert cpu_cost({"scenario": "heartbeat", "msg_per_s": 1000.0}) is None
