"""A profile of the server during each scenario: `py-spy record` attached to
the server process, summarised as a small text file (the functions with the
largest inclusive and self share of the samples).

py-spy runs with `--nonblocking`: it reads the server's stacks without
pausing it, so the figures measured at the same time are not slowed by the
profiler (a paused server would add its pauses to every latency). The cost
is an occasional torn stack, harmless in a summary of thousands of samples.
The raw samples (collapsed stacks, the input of flamegraph tools) are kept
beside the summaries in a `raw/` folder that git ignores: they are too big
for the repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

#: Where `make bench` keeps the summaries (docs/profiles/<backend>-<scenario>.txt).
PROFILES_DIR = Path(__file__).resolve().parent.parent / "docs" / "profiles"
TOP = 25


def py_spy() -> str | None:
    """The py-spy next to this Python (the venv's, from requirements-dev.txt), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def parse_folded(text: str) -> list[tuple[list[str], int]]:
    """py-spy's raw format: one line per distinct stack, `root;...;leaf count`."""
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarize(text: str, *, title: str, seconds: float, rate: int, top: int = TOP) -> str:
    """The top functions by inclusive share (the sample is anywhere in the
    function or what it calls; a recursive function counts once per sample)
    and by self share (the sample is in the function itself)."""
    stacks = parse_folded(text)
    total = sum(count for _, count in stacks)
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    possible = max(1, round(seconds * rate))
    lines = [
        title,
        f"{total} thread samples in {seconds:.1f} s at {rate} Hz: on average {total / possible:.2f} threads"
        " were running Python (py-spy leaves idle threads out)",
        "",
    ]
    for name, counter in (("inclusive", inclusive), ("self", own)):
        lines += [f"top {top} by {name} share", f"{'share':>7}  {'samples':>8}  function (file)"]
        for frame, count in counter.most_common(top):
            lines.append(f"{100 * count / max(1, total):6.1f}%  {count:>8}  {frame}")
        lines.append("")
    return "\n".join(lines)


class Profiler:
    """Records the server with py-spy while a scenario runs; one summary per
    scenario. Disabled (a no-op) when there is no pid, no py-spy, or no dir."""

    def __init__(self, pid: int | None, backend: str, out_dir: Path | None, rate: int = 100) -> None:
        self.pid = pid
        self.backend = backend
        self.out_dir = out_dir
        self.rate = rate
        self.tool = py_spy() if pid and out_dir else None
        #: scenario -> path of its summary
        self.written: dict[str, Path] = {}
        if pid and out_dir and self.tool is None:
            print("py-spy not found (pip install -r requirements-dev.txt): no profiles", file=sys.stderr)

    @contextlib.asynccontextmanager
    async def during(self, scenario: str) -> AsyncIterator[None]:
        if self.tool is None:
            yield
            return
        raw_dir = self.out_dir / "raw"
        raw_dir.mkdir(parents=True, exist_ok=True)
        raw = raw_dir / f"{self.backend}-{scenario}.folded"
        log = raw_dir / f"{self.backend}-{scenario}.log"
        raw.unlink(missing_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [self.tool, "record", "--pid", str(self.pid), "--format", "raw", "--nolineno", "--nonblocking"]
                + ["--rate", str(self.rate), "--output", str(raw)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # Measure only once py-spy is attached (it says so), at most 5 s later.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None and b"Sampling" not in log.read_bytes():
            await asyncio.sleep(0.05)
        started = time.monotonic()
        try:
            yield
        finally:
            seconds = time.monotonic() - started
            self._stop(proc)
            if raw.exists():
                title = f"py-spy profile of the server ({self.backend}) during the {scenario} scenario"
                summary = summarize(raw.read_text(errors="replace"), title=title, seconds=seconds, rate=self.rate)
                path = self.out_dir / f"{self.backend}-{scenario}.txt"
                path.write_text(summary + "\n")
                self.written[scenario] = path
            else:
                print(
                    f"py-spy wrote no profile for {scenario}: {log.read_text(errors='replace')[-500:]}", file=sys.stderr
                )

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        """Ctrl-C is how py-spy is told to write its samples out."""
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
