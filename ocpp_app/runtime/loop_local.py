"""One object per running event loop.

The group-commit writer, the message-log writer and the dashboard event
publisher each hold futures and tasks, which belong to one event loop. A
process-wide singleton would hand a test's (or a thread's) new loop objects
of a loop that is closed; keying by loop gives every loop its own, and the
weak reference lets a closed loop's object go with it.
"""

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._objects: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        """The running loop's object, made on first use (needs a running loop)."""
        loop = asyncio.get_running_loop()
        obj = self._objects.get(loop)
        if obj is None:
            obj = self._objects[loop] = self._factory()
        return obj
