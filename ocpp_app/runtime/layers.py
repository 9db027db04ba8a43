"""An in-memory channel layer that scales to thousands of consumers.

channels' InMemoryChannelLayer runs `_clean_expired()` on every send, receive
and group_send, and that walks every channel of the process: with 10 000
connected chargers each new connection and each published event scanned
10 000 queues (a reconnect storm became O(N^2)). Expiry is housekeeping
(messages left for consumers that are gone, group memberships older than a
day), so here it runs at most once per CLEAN_EVERY seconds: once a second it
still cost ~10 % of a server holding 10 000 chargers.
"""

import time

from channels.layers import InMemoryChannelLayer as _InMemoryChannelLayer

CLEAN_EVERY = 30.0


class InMemoryChannelLayer(_InMemoryChannelLayer):
    _last_clean = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._last_clean < CLEAN_EVERY:
            return
        self._last_clean = now
        super()._clean_expired()
