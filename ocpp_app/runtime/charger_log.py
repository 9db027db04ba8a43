"""logs/charger.<ID>.log: connection events per charger, with a file name that is
safe for any charger id.

The lines are appended by one background thread: opening, appending to and
closing a file for every connect and disconnect on the event loop cost a
fifth of a connection's server time in a reconnect storm. Lines of one
charger keep their order (one writer, FIFO), and the project log line is
written at once.
"""

import atexit
import hashlib
import logging
import queue
import re
import threading
from datetime import UTC, datetime

from django.conf import settings

logger = logging.getLogger("ocpp_app.connections")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_lines: "queue.SimpleQueue[tuple[str, str] | None]" = queue.SimpleQueue()
_writer: threading.Thread | None = None
_writer_lock = threading.Lock()


def log_file_name(charger_id: str) -> str:
    safe = _UNSAFE.sub("_", charger_id).strip(".") or "_"
    if safe != charger_id:
        # Two ids that sanitise alike must not share a file.
        safe = f"{safe}-{hashlib.sha256(charger_id.encode('utf-8', 'replace')).hexdigest()[:8]}"
    return f"charger.{safe}.log"


def charger_log(charger_id: str, message: str, level: int = logging.INFO) -> None:
    """Write one line to the charger's own log and to the project log."""
    logger.log(level, "charger %s: %s", charger_id, message)
    line = f"{datetime.now(UTC).isoformat(timespec='milliseconds')} {message}\n"
    _ensure_writer()
    _lines.put((str(settings.LOG_DIR / log_file_name(charger_id)), line))


def flush_charger_logs(timeout: float = 5.0) -> None:
    """Block until every line queued so far is on disk (tests, shutdown)."""
    done = threading.Event()
    _ensure_writer()
    _lines.put(("", done))  # type: ignore[arg-type]
    done.wait(timeout)


def _ensure_writer() -> None:
    global _writer
    if _writer is not None and _writer.is_alive():
        return
    with _writer_lock:
        if _writer is None or not _writer.is_alive():
            _writer = threading.Thread(target=_write_forever, name="charger-logs", daemon=True)
            _writer.start()


def _write_forever() -> None:
    while True:
        item = _lines.get()
        if item is None:
            return
        batch = [item]
        while True:  # take what else is queued: one open per file per batch
            try:
                more = _lines.get_nowait()
            except queue.Empty:
                break
            if more is None:
                _write_batch(batch)
                return
            batch.append(more)
        _write_batch(batch)


def _write_batch(batch: list) -> None:
    by_file: dict[str, list[str]] = {}
    waiters = []
    for path, line in batch:
        if isinstance(line, threading.Event):
            waiters.append(line)
        else:
            by_file.setdefault(path, []).append(line)
    for path, lines in by_file.items():
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.writelines(lines)
        except OSError:
            logger.exception("cannot write %s", path)
    for waiter in waiters:
        waiter.set()


atexit.register(flush_charger_logs, 2.0)
