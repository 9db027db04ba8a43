"""How many CALLs one charger connection may send: a token bucket.

A real charger sends a few messages a minute, and a burst when it replays
an offline queue; a flood of pipelined frames costs the database, the log
and every other charger's latency. Each connection may send `rate` CALLs a
second on average and `burst` at once; the excess is refused. Refusals are
also counted in a bucket that drains at `rate`: once it holds more than
`close_after`, the charger is flooding far beyond the limit, and its
connection should be closed.

Only pipelined CALLs take a token (a CALL sent before the answer to the
previous one, seen by the frames queued behind it): a charger that waits for
each answer, as OCPP-J asks, is never refused, however fast it replays.
"""

import time


class RateLimiter:
    __slots__ = ("rate", "burst", "close_after", "_tokens", "_excess", "_stamp")

    def __init__(self, *, rate: float, burst: int, close_after: int) -> None:
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.close_after = max(1, int(close_after))
        self._tokens = float(self.burst)
        self._excess = 0.0
        self._stamp = time.monotonic()

    def allow(self) -> bool:
        """Take one CALL's token: False when the connection is over its limit."""
        now = time.monotonic()
        elapsed = now - self._stamp
        self._stamp = now
        refill = elapsed * self.rate
        self._tokens = min(float(self.burst), self._tokens + refill)
        self._excess = max(0.0, self._excess - refill)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self._excess += 1.0
        return False

    @property
    def flooding(self) -> bool:
        """Refused far beyond the limit: close the connection."""
        return self._excess > self.close_after


def rate_limiter(*, rate: float, burst: int, close_after: int) -> RateLimiter | None:
    """The limiter of one connection; None when `rate` is 0 (no limit)."""
    if rate <= 0:
        return None
    return RateLimiter(rate=rate, burst=burst, close_after=close_after)
