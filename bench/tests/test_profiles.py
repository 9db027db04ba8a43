"""The profile summaries: shares from py-spy's collapsed stacks, and a real
recording of a busy process."""

import asyncio
import os
import subprocess
import sys

import pytest

from bench.profiles import Profiler, py_spy, summarize

FOLDED = "\n".join(
    [
        "main (app.py);walk (app.py);walk (app.py);leaf (app.py) 6",
        "main (app.py);other (app.py) 4",
        "not a stack line",
    ]
)


def shares(summary: str, section: str) -> dict[str, str]:
    block = summary.split(f"by {section} share\n", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return {line.split(None, 2)[2]: line.split()[0] for line in block}


def test_it_counts_a_recursive_function_once_per_sample_in_its_inclusive_share():
    summary = summarize(FOLDED, title="t", seconds=1.0, rate=10)
    assert shares(summary, "inclusive") == {
        "main (app.py)": "100.0%",
        "walk (app.py)": "60.0%",
        "leaf (app.py)": "60.0%",
        "other (app.py)": "40.0%",
    }
    assert shares(summary, "self") == {"leaf (app.py)": "60.0%", "other (app.py)": "40.0%"}
    assert "10 thread samples in 1.0 s at 10 Hz: on average 1.00 threads" in summary


async def test_it_does_nothing_without_a_folder_for_its_profiles():
    profiler = Profiler(os.getpid(), "sqlite", None)
    async with profiler.during("storm"):
        pass
    assert profiler.written == {}


BUSY = """
import time
def spin_for_the_profiler():
    end = time.monotonic() + 30
    while time.monotonic() < end:
        sum(range(1000))
print("ready", flush=True)
spin_for_the_profiler()
"""


async def test_it_records_a_running_process_into_a_summary(tmp_path):
    if py_spy() is None:
        if os.environ.get("CI"):
            pytest.fail("py-spy (requirements-dev.txt) is required in CI")
        pytest.skip("py-spy is not installed")
    busy = subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE)
    try:
        busy.stdout.readline()
        profiler = Profiler(busy.pid, "sqlite", tmp_path, rate=50)
        async with profiler.during("heartbeat"):
            await asyncio.sleep(1)
    finally:
        busy.kill()
        busy.wait()
    summary = (tmp_path / "sqlite-heartbeat.txt").read_text()
    assert profiler.written == {"heartbeat": tmp_path / "sqlite-heartbeat.txt"}
    assert "spin_for_the_profiler (<string>)" in shares(summary, "inclusive")
    assert (tmp_path / "raw" / "sqlite-heartbeat.folded").exists()
