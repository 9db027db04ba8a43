"""Per-charger log files, appended by a background writer."""

from ocpp_app.runtime.charger_log import charger_log, flush_charger_logs, log_file_name


def test_it_appends_every_line_of_a_charger_in_order(settings, tmp_path):
    settings.LOG_DIR = tmp_path
    for n in range(300):
        charger_log("ORDER1", f"line {n}")
        charger_log("OTHER #2", f"other {n}")
    flush_charger_logs()
    lines = (tmp_path / "charger.ORDER1.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [f"line {n}" for n in range(300)]
    other = (tmp_path / log_file_name("OTHER #2")).read_text().splitlines()
    assert len(other) == 300


def test_it_names_a_charger_log_file_safely():
    name = log_file_name("../évil id")
    assert "/" not in name and name.startswith("charger.") and name.endswith(".log")


def test_it_keeps_ids_that_sanitise_alike_in_different_log_files():
    assert log_file_name("CP 1") != log_file_name("CP_1") != log_file_name("CP?1")


def test_it_keeps_a_plain_id_as_the_log_file_name():
    assert log_file_name("CP-001.a") == "charger.CP-001.a.log"
