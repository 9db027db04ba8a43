"""logs/charger.<ID>.log: connection events per charger, with a file name that is
safe for any charger id."""

import hashlib
import logging
import re
from datetime import UTC, datetime

from django.conf import settings

logger = logging.getLogger("ocpp_app.connections")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


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
    try:
        with open(settings.LOG_DIR / log_file_name(charger_id), "a", encoding="utf-8") as handle:
            handle.write(line)
    except OSError:
        logger.exception("cannot write the log file of charger %s", charger_id)
