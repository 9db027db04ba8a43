"""One channel-layer channel per process for every charger socket it holds.

Channels gives each consumer a channel of its own and keeps a task per
socket waiting on it, plus a `wait()` over both the socket and that channel
for every frame: memory for each idle charger and work for each frame, for
messages (operator commands, replacement notices) that almost never come.
Here the process has ONE channel, stored on each charger row it holds
(`Charger.channel_name`), and one task that receives from it and hands each
message to the process's delivery function, which finds the socket by
charger id. Same reach as before: a message sent to that channel from any
process (Redis) arrives here.

The channel is made on first use, one per event loop (a test's loop, or the
server's), and the receiving task survives a channel-layer outage (a Redis
restart): it waits and receives again.
"""

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable

from channels.layers import get_channel_layer

from ocpp_app.runtime import metrics
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.runtime.outage import Outage

logger = logging.getLogger(__name__)
RETRY_AFTER = (0.1, 0.5, 1.0, 2.0)  # seconds, after successive receive failures


class Mailbox:
    def __init__(self) -> None:
        self.name = ""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None  # strong reference: the loop keeps only weak ones

    async def address(self, deliver: Callable[[dict], Awaitable[None]]) -> str:
        """The process's channel name; the first caller starts the receiver,
        which passes every message to `deliver`."""
        if self.name:
            return self.name
        async with self._lock:
            if not self.name:
                layer = get_channel_layer()
                # The layer's default prefix: channels_redis reads all of a
                # process's channels through one Redis list per prefix, and
                # whichever receive() holds its lock reads only its own
                # prefix's list, so a second prefix would starve the replies.
                name = await layer.new_channel()
                # A fresh context: the receiver must not inherit the first
                # connection's (or an HTTP request's) context.
                self._task = asyncio.get_running_loop().create_task(
                    self._receive_forever(layer, name, deliver), context=contextvars.Context()
                )
                self.name = name
        return self.name

    async def _receive_forever(self, layer, name: str, deliver: Callable[[dict], Awaitable[None]]) -> None:
        outage = Outage(logger, "channel layer receive")
        while True:
            try:
                message = await layer.receive(name)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                metrics.layer_error("receive")
                delay = RETRY_AFTER[min(outage.failures, len(RETRY_AFTER) - 1)]
                outage.failed(error)
                await asyncio.sleep(delay)
                continue
            outage.ok()
            try:
                await deliver(message)
            except Exception:
                logger.exception("could not deliver a %s message", message.get("type"))


_mailboxes: LoopLocal[Mailbox] = LoopLocal(Mailbox)


def get_mailbox() -> Mailbox:
    """The mailbox of the running event loop."""
    return _mailboxes.get()
