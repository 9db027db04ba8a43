"""What a benchmark report records about its run: the server's commit, the
versions of what it ran on, the machine."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path


def server_commit(path: Path) -> str:
    def git(*cmd: str) -> str:
        return subprocess.run(["git", *cmd], cwd=path, capture_output=True, text=True).stdout.strip()

    if (path / "COMMIT").exists():  # an exported tree (git archive) names its commit
        return (path / "COMMIT").read_text().strip()
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "ocpp_app", "config")
    return commit + (" (with uncommitted changes)" if dirty else "")


def versions(databases: dict[str, str]) -> dict:
    """Versions of Python, the main packages and the databases; `databases`
    maps a vendor ("sqlite", "postgresql") to the version its server reported
    (manage.py bench_db version), so the bench never queries a database itself."""
    out = {"python": platform.python_version()}
    for package in ("Django", "channels", "uvicorn", "websockets", "ocpp", "psycopg"):
        try:
            out[package] = version(package)
        except Exception:
            out[package] = "?"
    for vendor in ("postgresql", "sqlite"):
        out[vendor] = databases.get(vendor, "?")
    return out


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} CPU ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"
