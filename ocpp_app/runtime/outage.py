"""One warning per outage of a shared service (Redis, the database), not one
per failed attempt: the first failure says what broke, without a traceback
when it is the expected kind (a refused or dropped connection); the attempts
after it are quiet until one works, which says how long it lasted."""

import logging
import time

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# The database cannot be reached (down, restarting, failing over), as
# opposed to refusing a statement: nothing is wrong with the data.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
EXPECTED = (OSError, RedisConnectionError, RedisTimeoutError, *DATABASE_UNREACHABLE)


class Outage:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.since: float | None = None
        self.failures = 0

    def failed(self, error: BaseException) -> None:
        self.failures += 1
        if self.since is not None:
            return
        self.since = time.monotonic()
        self.logger.warning(
            "%s failed (%s: %s); retrying until it works again",
            self.what,
            type(error).__name__,
            error,
            exc_info=not isinstance(error, EXPECTED),
        )

    def ok(self) -> None:
        if self.since is None:
            return
        self.logger.warning(
            "%s works again after %.1f s (%d failed attempt(s))",
            self.what,
            time.monotonic() - self.since,
            self.failures,
        )
        self.since = None
        self.failures = 0
