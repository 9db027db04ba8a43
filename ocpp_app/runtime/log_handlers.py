"""A rotating log file written from a background thread.

logging's RotatingFileHandler stats and writes its file for every record, on
whatever thread logs: for the OCPP server that is the event loop serving
every charger (8 % of a reconnect storm's time). Here the event loop only
formats the record into a queue; a listener thread does the file work.
"""

import atexit
import logging
import logging.handlers
import queue


class BackgroundRotatingFileHandler(logging.handlers.QueueHandler):
    def __init__(self, filename: str, maxBytes: int = 0, backupCount: int = 0, encoding: str = "utf-8", delay=True):
        super().__init__(queue.SimpleQueue())
        self.target = logging.handlers.RotatingFileHandler(
            filename, maxBytes=maxBytes, backupCount=backupCount, encoding=encoding, delay=delay
        )
        self._listener = logging.handlers.QueueListener(self.queue, self.target)
        self._listener.start()
        atexit.register(self._stop)

    def _stop(self) -> None:
        if self._listener._thread is not None:  # stop() twice would raise
            self._listener.stop()

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        # The queue carries the bare message; the file's formatter adds time,
        # level and logger name once, on the listener thread.
        self.target.setFormatter(fmt)

    def flush(self) -> None:
        """Wait until every record queued so far is written (tests)."""
        self._stop()
        self.target.flush()
        self._listener.start()

    def close(self) -> None:
        self._stop()
        self.target.close()
        super().close()
