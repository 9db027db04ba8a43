"""The send() that CentralSystem writes its frames through, on top of the
charger's Channels consumer.

The consumer hands each received frame straight to the charge point
(`CentralSystem.route_message`), so frames of one charger are handled in
order with no queue between them; the library's own `start()`/`recv()` loop
is not used.
"""


class ConsumerConnection:
    __slots__ = ("_consumer",)

    def __init__(self, consumer) -> None:
        self._consumer = consumer

    async def send(self, text: str) -> None:
        try:
            await self._consumer.send(text_data=text)
        except ConnectionError:
            raise
        except OSError as error:
            # The server's own "client disconnected" (uvicorn's
            # ClientDisconnected): one kind of error for a socket that is gone.
            raise ConnectionError("charger disconnected") from error

    async def close(self, *, code: int, reason: str = "") -> None:
        """Close the charger's socket (e.g. 1008 for a flood)."""
        await self._consumer.close(code=code, reason=reason or None)
