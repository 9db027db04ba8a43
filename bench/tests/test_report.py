"""docs/benchmarks.md and the README's performance section, from the same figures."""

from pathlib import Path

from bench.report import README_END, README_START, readme_section, readme_update, render

META = {
    "date": "2026-01-01 00:00 UTC",
    "seconds": 1,
    "commit": "abc1234",
    "machine": "test",
    "load_before": [0, 0, 0],
    "load_after": [0, 0, 0],
    "versions": {"python": "3.11"},
    "args": {"storm": 10_000},
    "command": "make bench",
}


def results(tmp_path: Path) -> dict:
    profile = tmp_path / "docs" / "profiles" / "sqlite-heartbeat.txt"
    return {
        "baseline": {"heartbeat": {"chargers": 1000, "msg_per_s": 10_000.0, "p99_ms": 5.0}},
        "sqlite": {
            "heartbeat": {"chargers": 1000, "msg_per_s": 4000.0, "p99_ms": 50.0},
            "_profiles": {"heartbeat": str(profile)},
        },
        "postgres": {"heartbeat": {"chargers": 1000, "msg_per_s": 3000.0, "p99_ms": 60.0}},
    }


def row(text: str, title: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {title}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_it_judges_each_database_and_postgresql_against_sqlite(tmp_path):
    out = tmp_path / "docs" / "benchmarks.md"
    text = render(META, results(tmp_path), previous=out, out=out)
    cells = row(text, "Heartbeat closed loop")
    # floor, SQLite, PostgreSQL figures; ratios; verdicts; PostgreSQL/SQLite.
    assert cells[5:] == ["0.40", "0.30", "**met**", "not met", "0.75 (not met)"]
    assert "[heartbeat](profiles/sqlite-heartbeat.txt)" in text
    assert row(text, "idle: 10,000 chargers held")[2:] == ["–"] * 8


def test_it_keeps_the_hand_written_analysis(tmp_path):
    out = tmp_path / "benchmarks.md"
    out.write_text("old\n<!-- findings -->\nwhy it is slow\n<!-- /findings -->\nold tail\n")
    text = render(META, results(tmp_path), previous=out, out=out)
    assert "<!-- findings -->\nwhy it is slow\n<!-- /findings -->" in text
    assert "old tail" not in text


def test_it_rewrites_only_the_marked_section_of_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\nold figures\n{README_END}\n\n## Next\n")
    assert readme_update(readme, readme_section(META, results(tmp_path)))
    text = readme.read_text()
    assert text.startswith("# Title\n\n" + README_START)
    assert text.endswith(README_END + "\n\n## Next\n")
    assert "old figures" not in text
    assert "4,000.0 msg/s (p99 50.0 ms); 0.40: **met**" in text


def test_it_leaves_a_readme_without_markers_alone(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n")
    assert not readme_update(readme, readme_section(META, results(tmp_path)))
    assert readme.read_text() == "# Title\n"
