"""One object per event loop: the writers and the publisher are shared by
everything on a loop, and never handed to another loop."""

import asyncio
import gc

import pytest

from ocpp_app.runtime import events, group_commit, message_log
from ocpp_app.runtime.loop_local import LoopLocal


class Thing:
    pass


def test_it_gives_one_object_per_loop():
    local = LoopLocal(Thing)

    async def twice():
        return local.get(), local.get()

    first, again = asyncio.run(twice())
    other, _ = asyncio.run(twice())
    assert first is again
    assert other is not first


def test_a_closed_loops_object_goes_with_it():
    local = LoopLocal(Thing)

    async def make():
        return id(local.get())

    asyncio.run(make())
    gc.collect()
    assert len(local._objects) == 0


def test_it_needs_a_running_loop():
    with pytest.raises(RuntimeError):
        LoopLocal(Thing).get()


def test_the_writers_and_the_publisher_are_per_loop():
    async def objects():
        return group_commit.get_committer(), message_log.get_writer(), events._publishers.get()

    async def same_loop():
        return await objects(), await objects()

    (a, b) = asyncio.run(same_loop())
    c = asyncio.run(objects())
    assert all(x is y for x, y in zip(a, b, strict=True))
    assert all(x is not z for x, z in zip(a, c, strict=True))
