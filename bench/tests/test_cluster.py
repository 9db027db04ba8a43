"""The cluster target's scenarios, run against a small local server standing
in for the cluster: the same warm-up, storm and closed loops as the
single-process targets, each with its headroom readings."""

import argparse
import contextlib
import gc
import json

import pytest
from websockets.asyncio.server import serve

from bench import cluster, phases


class Central:
    """Answers every CALL, a StartTransaction with a transaction id of its
    own; records (charger, action, payload) in the order received."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.transactions = 0

    async def handler(self, ws) -> None:
        cp_id = ws.request.path.rsplit("/", 1)[-1]
        with contextlib.suppress(Exception):
            async for raw in ws:
                _, msg_id, action, payload = json.loads(raw)
                self.calls.append((cp_id, action, payload))
                answer = {}
                if action == "StartTransaction":
                    self.transactions += 1
                    answer = {"transactionId": self.transactions, "idTagInfo": {"status": "Accepted"}}
                await ws.send(json.dumps([3, msg_id, answer]))


class NoRedis:
    """A Redis that was never started: no process, nothing to read."""

    proc = None

    def info(self) -> dict:
        return {}


class StandIn:
    """The cluster target's interface over the local server: no server
    process, database or Redis to read counters of."""

    name = "cluster-1"
    workers = 1
    db_name = "ocpp_bench_none"
    # Nothing listens on port 1: psql fails at once, and PostgreSQL's figures are empty.
    pg_admin_url = "postgres://bench@127.0.0.1:1/postgres"
    redis = NoRedis()

    def __init__(self, url: str) -> None:
        self.url = url

    def processes(self) -> list:
        return []

    def nodes(self) -> list[dict]:
        return []


@pytest.fixture
def unfreeze():
    yield
    gc.unfreeze()  # the storm freezes the heap, as in a real run


def arguments(**changes) -> argparse.Namespace:
    """A small run: the single-process storm of 8 chargers, the cluster's of 6."""
    return argparse.Namespace(
        **{
            "first_contact": 3,
            "storm": 8,
            "cluster_storm": 6,
            "storm_deadline": 10,
            "closed": 4,
            "closed_duration": 0.3,
            "pg_stats_lag": 0,
            **changes,
        }
    )


async def run(central: Central, args: argparse.Namespace, probe: bool) -> dict:
    async with serve(central.handler, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        port = server.sockets[0].getsockname()[1]
        return await cluster.run_cluster_target(StandIn(f"ws://127.0.0.1:{port}/ocpp/"), args, probe)


async def test_it_runs_the_warm_up_the_storm_and_every_closed_loop_of_the_single_process_targets(unfreeze):
    central = Central()
    results = await run(central, arguments(), probe=True)

    loops = [loop.name for loop in phases.CLOSED_LOOPS]
    assert loops == ["heartbeat", "metervalues"]
    assert [name for name in results if name != "workers"] == ["first_contact", "storm", *loops, "storm_limit"]
    storm = results["storm"]
    assert (storm["chargers"], storm["connected"], storm["failures"], storm["deadline"]) == (6, 6, 0, 10)
    # Last, the single-process targets' storm, its chargers booted anew.
    limit = results["storm_limit"]
    assert (limit["chargers"], limit["connected"], limit["failures"]) == (8, 8, 0)
    boots = [cp for cp, action, _ in central.calls if action == "BootNotification" and cp.startswith("STORM")]
    assert boots[6:] and sorted(boots[6:]) == [f"{phases.STORM_PREFIX}{i:05d}" for i in range(8)]
    for name in ["storm", *loops, "storm_limit"]:
        room = results[name]["headroom"]
        assert {"redis_ops_per_s", "layer_messages_per_s", "pg_commits_per_s", "pg_inserts_per_s"} <= set(room)
        assert "other" in room["cpu_percent"]
    for name in loops:
        assert results[name]["chargers"] == 4
        assert results[name]["messages"] > 0 and results[name]["errors"] == 0

    # The loops ran on the first 4 storm chargers by id: Heartbeats, then one
    # StartTransaction each, then MeterValues of 4 sampled values in it.
    keep = {f"{phases.STORM_PREFIX}{i:05d}" for i in range(4)}
    looped = [
        (cp, action, payload)
        for cp, action, payload in central.calls
        if action not in {"BootNotification", "StatusNotification"}
    ]
    assert {cp for cp, _, _ in looped} == keep
    actions = [action for _, action, _ in looped]
    first_start, last_start = (
        actions.index("StartTransaction"),
        len(actions) - 1 - actions[::-1].index("StartTransaction"),
    )
    assert set(actions[:first_start]) == {"Heartbeat"}
    assert actions[first_start : last_start + 1] == ["StartTransaction"] * 4
    assert actions[last_start + 1 :] and set(actions[last_start + 1 :]) == {"MeterValues"}
    started = {cp: n for n, (cp, _, _) in enumerate((c for c in looped if c[1] == "StartTransaction"), 1)}
    for cp, action, payload in looped:
        if action == "MeterValues":
            assert payload["transactionId"] == started[cp]
            assert len(payload["meterValue"][0]["sampledValue"]) == 4


@pytest.mark.parametrize(
    ("changes", "probe"),
    [({}, False), ({"cluster_storm": 8}, True), ({"storm": 5}, True)],
    ids=["not the reference worker count", "the cluster's storm is the single-process one", "a smaller --storm"],
)
async def test_the_larger_storm_runs_only_on_the_reference_worker_count_when_it_is_larger(unfreeze, changes, probe):
    central = Central()
    args = arguments(**changes)
    results = await run(central, args, probe)
    assert "storm_limit" not in results
    assert results["storm"]["chargers"] == min(args.storm, args.cluster_storm)
