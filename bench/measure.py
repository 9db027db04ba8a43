"""What the benchmark measures: latencies and errors of the client, RSS and
CPU of the server process, and the deadline every scenario runs under."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Recorder:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def ok(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def fail(self, error: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{type(error).__name__}: {error}"[:200])

    def summary(self) -> dict:
        end = self.finished or time.perf_counter()
        lat = sorted(self.latencies)
        elapsed = max(1e-9, end - self.started)

        def pct(p: float) -> float:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else 0.0

        return {
            "messages": len(lat),
            "errors": self.errors,
            "seconds": round(elapsed, 2),
            "msg_per_s": round(len(lat) / elapsed, 1),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else 0.0,
            "error_samples": self.error_samples,
        }


class ServerProbe:
    """RSS and CPU of the server process (psutil), when its pid is known."""

    def __init__(self, pid: int | None) -> None:
        self.proc = None
        if pid:
            import psutil

            self.proc = psutil.Process(pid)
        self._mark = self._cpu()

    def _cpu(self) -> tuple[float, float]:
        if self.proc is None:
            return (0.0, time.monotonic())
        try:
            times = self.proc.cpu_times()
        except Exception:  # the server died: report zeros, not a traceback
            return (0.0, time.monotonic())
        return (times.user + times.system, time.monotonic())

    def rss(self) -> int:
        if self.proc is None:
            return 0
        try:
            return self.proc.memory_info().rss
        except Exception:
            return 0

    def mark(self) -> None:
        self._mark = self._cpu()

    def cpu_percent(self) -> float:
        """Percent of one core used since mark()."""
        cpu, wall = self._cpu()
        return round(100 * (cpu - self._mark[0]) / max(1e-9, wall - self._mark[1]), 1)


async def bounded(coros, timeout: float, rec: Recorder | None, what: str) -> int:
    """Run coroutines, cancelling those still running after `timeout`
    seconds (counted as errors): every scenario stops by itself."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    if not tasks:
        return 0
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        if rec is not None:
            rec.errors += len(pending)
            rec.error_samples.append(f"{len(pending)} {what} cancelled after {timeout:.0f} s")
    return len(pending)


def format_result(r: dict) -> str:
    keys = [
        "msg_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "connected",
        "failures",
        "scheduled",
        "answered",
        "dropped",
        "seconds",
        "connect_ms",
        "cpu_percent",
        "idle_cpu_percent",
        "rss_mib",
        "rss_kib_per_charger",
        "sessions_per_s",
    ]
    parts = [f"{r['scenario']} x{r['chargers']}"] + [f"{k}={r[k]}" for k in keys if k in r]
    if r.get("error_samples"):
        parts.append(f"first errors: {r['error_samples'][:2]}")
    return "  ".join(parts)
