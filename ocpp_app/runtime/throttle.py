"""Back-off of failed Basic-auth attempts at the charger handshake.

Failures are counted per client address, per charger id and per (address,
charger id) pair. After OCPP_AUTH_THROTTLE_FREE failures the next try of
that key waits OCPP_AUTH_THROTTLE_BASE seconds after the last failure, then
twice as long for each further failure, up to OCPP_AUTH_THROTTLE_MAX; a key
quiet for OCPP_AUTH_THROTTLE_WINDOW seconds is forgotten.

Guessing must not lock the real charger out, even from many addresses. So
an address that authenticated as a charger within OCPP_AUTH_THROTTLE_TRUST
seconds is trusted for that charger: it waits only on the failures of its
own pair, never on the charger id's (an attacker elsewhere) nor on its
address's (a neighbour behind the same NAT with a wrong key). Everyone else
waits on the charger id's and the address's back-off, whichever is longer.

With REDIS_URL the counters live in Redis, shared by every process; a
failure is one Lua script (atomic). Redis trouble never blocks a handshake
and never lifts the back-off: while Redis does not answer (away, or slow
under a reconnect storm) each process counts in its own memory instead, with
a warning. Without Redis they live in this process's memory, in bounded
least-recently-used tables. One process talks to Redis over at most
REDIS_CONNECTIONS connections: a storm of handshakes queues for them rather
than opening one each.
"""

import asyncio
import hashlib
import logging
import threading
import time
from collections import OrderedDict

from django.conf import settings

from ocpp_app.runtime.loop_local import LoopLocal

logger = logging.getLogger("ocpp_app.throttle")

# In-memory tables hold at most this many keys each (a flood of random ids
# evicts the oldest, never grows memory).
MEMORY_MAX_KEYS = 100_000
# Redis calls give up after this long: a slow Redis must not stall handshakes.
REDIS_TIMEOUT = 0.5
# Connections to Redis per process (and event loop).
REDIS_CONNECTIONS = 32
_PREFIX = "ocpp:auth:"
_WARN_EVERY = 60.0


async def auth_wait(*, source: str, charger_id: str) -> float:
    """Seconds still to wait before this address may try this charger id's
    password again; 0.0 means go on."""
    if not settings.OCPP_AUTH_THROTTLE:
        return 0.0
    keys = _Keys(source, charger_id)
    try:
        trusted, failures = await _store().read(keys)
    except Exception as error:  # Redis away: this process's own counts still hold
        _warn(error)
        trusted, failures = await _memory.read(keys)
    now = time.time()
    if trusted:
        return _wait(failures[keys.pair], now)
    return max(_wait(failures[keys.source], now), _wait(failures[keys.charger], now))


async def auth_failed(*, source: str, charger_id: str) -> None:
    """Count a failed password check (an HTTP 401)."""
    if not settings.OCPP_AUTH_THROTTLE:
        return
    keys = _Keys(source, charger_id)
    now = time.time()
    try:
        await _store().fail(keys, now)
    except Exception as error:
        _warn(error)
        await _memory.fail(keys, now)


async def auth_succeeded(*, source: str, charger_id: str) -> None:
    """A password check passed: trust this address for this charger id."""
    if not settings.OCPP_AUTH_THROTTLE:
        return
    keys = _Keys(source, charger_id)
    try:
        await _store().succeed(keys)
    except Exception as error:
        _warn(error)
        await _memory.succeed(keys)


def _wait(failure: tuple[int, float] | None, now: float) -> float:
    if failure is None:
        return 0.0
    count, last = failure
    if now - last >= settings.OCPP_AUTH_THROTTLE_WINDOW:
        return 0.0  # forgotten (Redis expires whole seconds later)
    # After FREE failures (at least one) the next try waits BASE, then twice
    # as long for each further failure.
    over = count - max(1, settings.OCPP_AUTH_THROTTLE_FREE)
    if over < 0:
        return 0.0
    delay = min(settings.OCPP_AUTH_THROTTLE_MAX, settings.OCPP_AUTH_THROTTLE_BASE * 2.0 ** min(over, 64))
    return max(0.0, last + delay - now)


class _Keys:
    """The three failure counters and the trust mark of one attempt. Ids and
    addresses are hashed: any text makes a short, safe key."""

    def __init__(self, source: str, charger_id: str) -> None:
        src = _digest(source)
        cid = _digest(charger_id)
        self.source = f"{_PREFIX}src:{src}"
        self.charger = f"{_PREFIX}id:{cid}"
        self.pair = f"{_PREFIX}pair:{cid}:{src}"
        self.trust = f"{_PREFIX}trust:{cid}:{src}"

    @property
    def counters(self) -> tuple[str, str, str]:
        return (self.source, self.charger, self.pair)


def _digest(text: str) -> str:
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:32]


_last_warning = 0.0


def _warn(error: BaseException) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY:
        _last_warning = now
        logger.warning("auth throttle: Redis unavailable, counting failures in this process meanwhile: %r", error)


# -- in memory ----------------------------------------------------------------------


class MemoryStore:
    def __init__(self, max_keys: int = MEMORY_MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._trusted: OrderedDict[str, float] = OrderedDict()  # key -> expiry (time.time())
        self._lock = threading.Lock()

    async def read(self, keys: _Keys) -> tuple[bool, dict[str, tuple[int, float] | None]]:
        now = time.time()
        with self._lock:
            expiry = self._trusted.get(keys.trust)
            trusted = expiry is not None and expiry > now
            failures = {key: self._live(key, now) for key in keys.counters}
        return trusted, failures

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        failure = self._failures.get(key)
        if failure is not None and now - failure[1] >= settings.OCPP_AUTH_THROTTLE_WINDOW:
            del self._failures[key]
            return None
        return failure

    async def fail(self, keys: _Keys, now: float) -> None:
        with self._lock:
            for key in keys.counters:
                failure = self._live(key, now)
                self._failures[key] = ((failure[0] if failure else 0) + 1, now)
                self._failures.move_to_end(key)
            _bound(self._failures, self.max_keys)

    async def succeed(self, keys: _Keys) -> None:
        with self._lock:
            self._failures.pop(keys.pair, None)
            self._trusted[keys.trust] = time.time() + settings.OCPP_AUTH_THROTTLE_TRUST
            self._trusted.move_to_end(keys.trust)
            _bound(self._trusted, self.max_keys)

    def __len__(self) -> int:
        return len(self._failures) + len(self._trusted)


def _bound(table: OrderedDict, max_keys: int) -> None:
    while len(table) > max_keys:
        table.popitem(last=False)


# -- in Redis ----------------------------------------------------------------------------

# KEYS: the counters; ARGV: now, window (whole seconds). Count and time of the
# last failure in one hash per key, expiring with the window.
_FAIL_SCRIPT = """
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 't', ARGV[1])
  redis.call('EXPIRE', key, ARGV[2])
end
return 1
"""


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        pool = redis.BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_TIMEOUT,  # waiting for a free connection
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one try: the caller falls back at once
        )
        self._redis = redis.Redis(connection_pool=pool)
        self._fail = self._redis.register_script(_FAIL_SCRIPT)

    async def read(self, keys: _Keys) -> tuple[bool, dict[str, tuple[int, float] | None]]:
        async with asyncio.timeout(REDIS_TIMEOUT * 2):
            pipe = self._redis.pipeline(transaction=False)
            pipe.exists(keys.trust)
            for key in keys.counters:
                pipe.hmget(key, "n", "t")
            trusted, *rows = await pipe.execute()
        failures = {}
        for key, (count, last) in zip(keys.counters, rows, strict=True):
            failures[key] = None if count is None or last is None else (int(count), float(last))
        return bool(trusted), failures

    async def fail(self, keys: _Keys, now: float) -> None:
        window = max(1, int(settings.OCPP_AUTH_THROTTLE_WINDOW + 0.999))
        async with asyncio.timeout(REDIS_TIMEOUT * 2):
            await self._fail(keys=list(keys.counters), args=[repr(now), window])

    async def succeed(self, keys: _Keys) -> None:
        trust = max(1, int(settings.OCPP_AUTH_THROTTLE_TRUST))
        async with asyncio.timeout(REDIS_TIMEOUT * 2):
            pipe = self._redis.pipeline(transaction=True)
            pipe.set(keys.trust, 1, ex=trust)
            pipe.delete(keys.pair)
            await pipe.execute()


_memory = MemoryStore()
# A Redis client's connections belong to the event loop that made them.
_redis_stores: LoopLocal[dict[str, RedisStore]] = LoopLocal(dict)


def _store() -> MemoryStore | RedisStore:
    url = settings.REDIS_URL
    if not url:
        return _memory
    stores = _redis_stores.get()
    store = stores.get(url)
    if store is None:
        store = stores[url] = RedisStore(url)
    return store
