"""Readiness: can this node serve right now? The database answers a
`SELECT 1` and the channel layer carries a message (a send to a fresh
channel of this process and its receive), each within TIMEOUT seconds.

Liveness (/ocpp/health/) says the process runs; readiness says whether a load
balancer should send it traffic. A probe that fails is logged when the state
changes, not on every probe: a balancer asks every few seconds.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)
TIMEOUT = 2.0  # seconds, for each part
OK, UNAVAILABLE = "ok", "unavailable"
_last: dict[str, str] = {}


def _select_one() -> None:
    # On a thread of the pool (not the thread-sensitive one, which a stuck
    # database would block for every other request): its connection is
    # handed back before the thread is.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def _database() -> None:
    await sync_to_async(_select_one, thread_sensitive=False)()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    name = await layer.new_channel()
    await layer.send(name, {"type": "ocpp.ready"})
    await layer.receive(name)


def _reason(error: Exception) -> str:
    """The error's type and the first line of its message (the drivers name
    the host and port there)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


async def _probe(part: str, check) -> str:
    try:
        async with asyncio.timeout(TIMEOUT):
            await check()
    except Exception as error:
        state, reason = UNAVAILABLE, _reason(error)
    else:
        state, reason = OK, ""
    if _last.get(part, OK) != state:
        if state == OK:
            logger.info("readiness: the %s is available again", part.replace("_", " "))
        else:
            logger.warning("readiness: the %s is unavailable (%s)", part.replace("_", " "), reason)
    _last[part] = state
    return state


async def readiness() -> dict:
    """{"ready", "database", "channel_layer", "node"}: ready when both parts
    are "ok"; a part that failed or took longer than TIMEOUT is "unavailable"."""
    database, layer = await asyncio.gather(_probe("database", _database), _probe("channel_layer", _channel_layer))
    return {
        "ready": database == OK and layer == OK,
        "database": database,
        "channel_layer": layer,
        "node": settings.OCPP_NODE_ID,
    }
