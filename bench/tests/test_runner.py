"""The runner's command line: which targets a run takes."""

import pytest

from bench.runner import TARGETS, parse_args, target_names


def test_a_plain_run_takes_every_target_the_cluster_last():
    assert target_names(parse_args([]).targets) == ["baseline", "sqlite", "postgres", "cluster"]
    assert list(TARGETS) == ["baseline", "sqlite", "postgres", "cluster"]


def test_targets_runs_a_part_in_the_order_given_each_once():
    assert target_names(parse_args(["--targets", "cluster"]).targets) == ["cluster"]
    assert target_names(parse_args(["--targets", "postgres, baseline,postgres"]).targets) == ["postgres", "baseline"]


@pytest.mark.parametrize("text", ["mysql", "baseline,clusters", ","])
def test_an_unknown_or_empty_target_list_stops_the_run_naming_it(text):
    with pytest.raises(SystemExit, match="--targets"):
        target_names(text)


def test_a_quick_run_waits_less_for_postgresql_s_counters_unless_told():
    assert parse_args([]).pg_stats_lag == 11.0
    assert parse_args(["--quick"]).pg_stats_lag == 1
    assert parse_args(["--quick", "--pg-stats-lag", "3"]).pg_stats_lag == 3.0
