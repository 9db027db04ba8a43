"""Adapter that gives the `ocpp` library the send()/recv() it expects, on top of
a Channels consumer.

The consumer routes each received frame straight into the charge point
(`route_message`), so frames of one charger are handled in order with no
extra queue hop; recv() exists for code that drives the library's own
`start()` loop.
"""

import asyncio


class ConsumerConnection:
    __slots__ = ("_consumer", "_inbox")

    def __init__(self, consumer) -> None:
        self._consumer = consumer
        self._inbox: asyncio.Queue[str] | None = None  # made on first use: most connections never need it

    async def send(self, text: str) -> None:
        await self._consumer.send(text_data=text)

    def _queue(self) -> asyncio.Queue[str]:
        if self._inbox is None:
            self._inbox = asyncio.Queue()
        return self._inbox

    async def recv(self) -> str:
        return await self._queue().get()

    def feed(self, text: str) -> None:
        self._queue().put_nowait(text)
