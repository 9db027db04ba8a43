"""The cluster section of docs/benchmarks.md and its README line: figures,
scaling factor and headroom; a cluster-only run changes nothing else."""

from pathlib import Path

from bench import cluster_report
from bench.report import README_END, README_START, readme_write, render
from bench.tests.test_report import META, results

ROOM = {
    "seconds": 10.0,
    "redis_ops_per_s": 200.0,
    "layer_messages_per_s": 40.0,
    "layer_sends": 300,
    "layer_group_sends": 100,
    "layer_receives": 7,
    "redis_top_commands": {"zcount": 300},
    "pg_commits_per_s": 20.0,
    "pg_inserts_per_s": 400.0,
    "cpu_percent": {"server": 150.0, "client": 95.0, "redis": 5.0, "postgres": 20.0, "machine": 190.0, "other": 0.0},
    "cores_percent": 200,
    "workers_cpu_percent": {"w-1": 70.0, "w-2": 80.0},
    "nodes": [{"node": "w-1", "calls_in": 600, "share": 0.6, "mean_batch": 20.0}],
    "load": [3.1, 2.0, 1.5],
}


def cluster(heartbeat_two: float = 3000.0, other: float = 0.0) -> dict:
    def storm(connected: int, seconds: float) -> dict:
        return {
            "scenario": "storm",
            "chargers": 10_000,
            "connected": connected,
            "failures": 10_000 - connected,
            "deadline": 40,
            "seconds": seconds,
            "p99_ms": 9.0,
        }

    def metervalues(rate: float, other: float) -> dict:
        room = {**ROOM, "cpu_percent": {**ROOM["cpu_percent"], "other": other}}
        return {"scenario": "metervalues", "chargers": 1000, "msg_per_s": rate, "p99_ms": 900.0, "headroom": room}

    return {
        "redis": "7.0.15",
        "date": "2026-01-01 00:05 UTC",
        "seconds": 420,
        "load_before": [1.0, 1.1, 1.2],
        "load_after": [2.0, 2.1, 2.2],
        "runs": {
            "1": {
                "heartbeat": {"scenario": "heartbeat", "chargers": 1000, "msg_per_s": 2000.0, "p99_ms": 800.0},
                "metervalues": metervalues(800.0, 4.0),
                "storm": storm(5000, 40.0),
            },
            "2": {
                "heartbeat": {
                    "scenario": "heartbeat",
                    "chargers": 1000,
                    "msg_per_s": heartbeat_two,
                    "p99_ms": 500.0,
                    "headroom": ROOM,
                    "peaks": {"client_cpu_percent": 99.0, "redis_ops_per_s": 300.0},
                },
                "metervalues": metervalues(1000.0, other),
                "storm": storm(10_000, 20.0),
            },
        },
    }


def cells(text: str, title: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {title}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_it_reports_both_worker_counts_and_the_scaling_factor():
    text = "\n".join(cluster_report.cluster_section(META, cluster()))
    assert cells(text, "Heartbeat closed loop") == [
        "Heartbeat closed loop, 1,000 chargers",
        "2,000.0 msg/s (p99 800.0 ms)",
        "3,000.0 msg/s (p99 500.0 ms)",
        "1.50x",
    ]
    assert cells(text, "storm")[1:] == [
        "5,000/10,000 in 40.00 s (125.0 chargers/s, p99 9.0 ms)",
        "10,000/10,000 in 20.00 s (500.0 chargers/s, p99 9.0 ms)",
        "4.00x",
    ]
    assert cells(text, "MeterValues (4 sampled values) closed loop") == [
        "MeterValues (4 sampled values) closed loop, 1,000 chargers",
        "800.0 msg/s (p99 900.0 ms)",
        "1,000.0 msg/s (p99 900.0 ms)",
        "1.25x",
    ]
    assert "| 1 worker | 2 workers | 2 workers / 1 worker |" in text
    assert f"`{META['command']}`" in text
    # The cluster's own time, not the whole run's (META's).
    assert "- date: 2026-01-01 00:05 UTC, duration 420 s; server code at commit abc1234" in text


def test_it_says_how_many_chargers_a_storm_that_ran_out_of_time_got_answered():
    text = "\n".join(cluster_report.cluster_section(META, cluster()))
    assert (
        "- storm, 1 worker: 5,000 of 10,000 chargers answered within the 40 s deadline (125.0 chargers/s);"
        " the client gave up on the other 5,000."
    ) in text
    assert "- storm, 2 workers:" not in text


def test_it_states_what_the_rest_of_the_machine_ran_and_whether_it_was_quiet():
    quiet = "\n".join(cluster_report.cluster_section(META, cluster(other=2.0)))
    line = next(line for line in quiet.splitlines() if line.startswith("- the rest of the machine"))
    assert line == (
        "- the rest of the machine: load average [1.0, 1.1, 1.2] before the cluster runs, [2.0, 2.1, 2.2]"
        " after them; other processes used 0.0-4.0 % of a core during the measured scenarios (mean 2.0 %,"
        " the others' CPU column below)."
    )
    busy = "\n".join(cluster_report.cluster_section(META, cluster(other=60.0)))
    assert "used 0.0-60.0 % of a core" in busy
    assert "the machine was not quiet" in busy and "lower bounds" in busy
    assert "not quiet" not in quiet


def test_it_shows_the_headroom_and_says_when_the_client_saturates_a_core():
    text = "\n".join(cluster_report.cluster_section(META, cluster()))
    row = cells(text, "heartbeat | 2")
    assert row[2:8] == ["200.0 (300.0)", "40.0", "20.0", "400.0", "150.0 (70.0 + 80.0)", "95.0 (99.0)"]
    assert row[10:] == ["190.0 of 200", "0.0", "3.10 / 2.00 / 1.50"]
    assert "it saturates a core" in text
    # 150 % of a core over 3000 msg/s is 0.5 ms each; 0.9 ms in all, on 2 cores.
    assert cells(text, "heartbeat | 2 | 0.500")[2:] == [
        "0.500",
        "0.067",
        "0.017",
        "0.317",
        "0.900",
        "2,000.0",
        "2,222.2/s on 2 cores",
    ]
    assert "w-1 600 CALLs (60 %), mean batch 20.0" in text


def test_a_cluster_only_run_replaces_only_the_cluster_section(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text(render(META, results(tmp_path), previous=out, out=out))
    whole = out.read_text().replace("(analysis goes here)", "why it is slow")
    out.write_text(whole)
    first = render(META, {"cluster": cluster()}, previous=out, out=out)
    assert first.count(cluster_report.START) == 1
    assert first.index(cluster_report.END) < first.index("## Analysis")
    # The single-process figures and the analysis stay as they were.
    assert first.replace("\n".join(cluster_report.cluster_section(META, cluster())) + "\n\n", "") == whole
    out.write_text(first)
    second = render(META, {"cluster": cluster(heartbeat_two=4000.0)}, previous=out, out=out)
    assert "2.00x" in second and "1.50x" not in second
    assert second.count(cluster_report.START) == 1
    assert "<!-- findings -->\nwhy it is slow\n<!-- /findings -->" in second


def test_a_run_without_the_cluster_keeps_its_section(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text(render(META, {**results(tmp_path), "cluster": cluster()}, previous=out, out=out))
    again = render(META, results(tmp_path), previous=out, out=out)
    section = "\n".join(cluster_report.cluster_section(META, cluster()))
    assert section in again
    assert "## Targets" in again


def test_the_readme_gets_one_cluster_line_and_keeps_its_table(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\nold figures\n{README_END}\n\n## Next\n")
    assert readme_write(readme, META, results(tmp_path))
    table = readme.read_text()
    assert cluster_report.README_PREFIX not in table
    assert readme_write(readme, META, {"cluster": cluster()})
    text = readme.read_text()
    line = cluster_report.readme_line(META, cluster())
    assert "heartbeat 3,000.0 msg/s with 2 vs 2,000.0 with 1 (1.50x)" in line
    assert "metervalues 1,000.0 msg/s with 2 vs 800.0 with 1 (1.25x)" in line
    assert "storm 500.0 chargers/s with 2 vs 125.0 with 1 (4.00x)" in line
    assert text == table.replace(f"\n\n{README_END}", f"\n\n{line}\n\n{README_END}")
    # Again: the line is replaced, not added; a full run without the cluster keeps it.
    assert readme_write(readme, META, {"cluster": cluster(heartbeat_two=4000.0)})
    assert readme.read_text().count(cluster_report.README_PREFIX) == 1
    assert readme_write(readme, META, results(tmp_path))
    assert "(2.00x)" in readme.read_text()
    assert readme.read_text().count(cluster_report.README_PREFIX) == 1


def with_limit(connected: int) -> dict:
    """A cluster storm of 3 000 on both counts, and the single-process
    storm of 10 000 run last with one worker."""
    data = cluster()
    for run in data["runs"].values():
        run["storm"] = {**run["storm"], "chargers": 3000, "connected": 3000, "failures": 0}
    # 1 500 chargers/s at 150 % of a core: 1 ms of server CPU each.
    data["runs"]["1"]["storm"].update(seconds=2.0, headroom=ROOM)
    data["runs"]["2"]["storm"].update(seconds=1.0)
    data["runs"]["1"]["storm_limit"] = {
        "scenario": "storm_limit",
        "chargers": 10_000,
        "connected": 3600,
        "failures": 6400,
        "deadline": 40,
        "seconds": 40.0,
        "cpu_percent": 62.5,
        "headroom": {"cpu_percent": {"server": 62.5, "other": 100.0}},
    }
    return data


def test_it_says_why_the_cluster_s_storm_is_smaller_with_the_limit_measured():
    meta = {**META, "args": {"storm": 10_000, "storm_deadline": 40}}
    text = "\n".join(cluster_report.cluster_section(meta, with_limit(3600)))
    assert (
        "- parameters: storm 3,000 chargers (Basic auth, deadline 40 s; the single-process targets' storm of 10,000 runs last, with the first worker count), closed loops"
        in text
    )
    assert (
        "- storm scale: 3,000 chargers (`--cluster-storm`), not the single-process targets' 10,000, because one"
        " worker does not get 10,000 answered within the 40 s deadline on this machine. Measured in this run, last,"
        " with 1 worker: 3,600 of 10,000 answered within 40 s (90.0 chargers/s, server 62.5 % of a core, others"
        " 100.0 %); the client gave up on the other 6,400. At the 3,000-charger storm's 1.00 ms of server CPU per"
        " charger, one worker with a whole core to itself would answer at most 40,000 in 40 s."
    ) in text
    # The scaling factor and headroom are the cluster storm's, on both counts.
    assert cells(text, "storm: 3,000 known chargers")[3] == "2.00x"
    assert "storm_limit" not in text


def test_it_says_when_one_worker_got_the_whole_single_process_storm_answered():
    data = with_limit(10_000)
    data["runs"]["1"]["storm_limit"].update(connected=10_000, failures=0, seconds=30.0)
    text = "\n".join(cluster_report.cluster_section(META, data))
    assert "all 10,000 answered in 30.00 s: the cluster's storm could run at it (`--cluster-storm 10,000`)" in text
    assert "- storm scale:" not in text
