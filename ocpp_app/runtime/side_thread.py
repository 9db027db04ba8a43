"""Rare database work beside the hot path: on a worker thread of its own,
never on the group-commit writer's thread (whose queue holds the chargers'
answers), with the thread's connection closed afterwards, so that it never
keeps a connection of the HTTP pool or a broken one."""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection


def _closing(fn: Callable, kwargs: dict) -> Any:
    close_old_connections()
    try:
        return fn(**kwargs)
    finally:
        connection.close()


async def run_aside(fn: Callable, /, **kwargs: Any) -> Any:
    """`await run_aside(service, **kwargs)`: the service's result, or what it raised."""
    return await sync_to_async(_closing, thread_sensitive=False)(fn, kwargs)
