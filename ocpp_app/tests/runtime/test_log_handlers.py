"""The project log file, written by a background thread."""

import logging

from ocpp_app.runtime.log_handlers import BackgroundRotatingFileHandler


def test_it_writes_formatted_records_in_order_from_the_background(tmp_path):
    handler = BackgroundRotatingFileHandler(str(tmp_path / "ocpp.log"), maxBytes=10_000_000, backupCount=1)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("test.background")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for n in range(200):
            log.info("line %d of %s", n, "CP1")
        handler.flush()
        lines = (tmp_path / "ocpp.log").read_text().splitlines()
        assert lines == [f"INFO test.background line {n} of CP1" for n in range(200)]
    finally:
        log.removeHandler(handler)
        handler.close()
