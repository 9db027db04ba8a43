"""What the tests share: users, chargers, Basic-auth headers, and charge points
that speak OCPP to the central system (in process through the ASGI
application, or over a real socket to a server process)."""

import base64
import contextlib
import json

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from ocpp_app import consumers
from ocpp_app.models import Charger, MessageLog
from ocpp_app.runtime.message_log import get_writer
from ocpp_app.services.chargers import charger_set_password

TIMEOUT = 5  # generous: only ever reached when a test is failing
BOOT = {"chargePointVendor": "ACME", "chargePointModel": "Volt"}
START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 1000, "timestamp": "2024-05-01T12:00:00Z"}
PASSWORD = "correct-horse-battery"


# -- credentials ------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    """The HTTP Basic `Authorization` header of a charger (or any client)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


# -- chargers -----------------------------------------------------------------------------------


def create_charger(charger_id: str = "CP1", password: str | None = None, **fields) -> Charger:
    charger = Charger.objects.create(charger_id=charger_id, **fields)
    if password:
        charger_set_password(charger_id=charger_id, password=password)
    return charger


acreate_charger = database_sync_to_async(create_charger)


@database_sync_to_async
def aget_charger(charger_id: str = "CP1") -> Charger:
    return Charger.objects.get(charger_id=charger_id)


@database_sync_to_async
def acount(model, **filters) -> int:
    return model.objects.filter(**filters).count()


# -- the message log ----------------------------------------------------------------------------


@database_sync_to_async
def alog_rows(**filters) -> list[MessageLog]:
    return list(MessageLog.objects.filter(**filters).order_by("id"))


async def flushed_log_rows(**filters) -> list[MessageLog]:
    await get_writer().flush()
    return await alog_rows(**filters)


def strings(value):
    """Every string (keys too) inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# -- a charger in process: the ASGI application under WebsocketCommunicator -------------------


def communicator(
    path: str = "/ocpp/CP1",
    *,
    subprotocols: list[str] | None = None,
    headers: dict[str, str] | None = None,
    raw_path: bytes | None = None,
) -> WebsocketCommunicator:
    """A charger's socket to the real ASGI application, not yet connected."""
    comm = WebsocketCommunicator(
        application,
        path,
        headers=[(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()],
        subprotocols=["ocpp1.6"] if subprotocols is None else subprotocols,
    )
    # Servers pass the path as sent; the communicator only gives the decoded one.
    # (The application task has not run yet, so the scope can still change.)
    comm.scope["raw_path"] = raw_path if raw_path is not None else path.split("?", 1)[0].encode()
    return comm


@contextlib.asynccontextmanager
async def charger_socket(path: str = "/ocpp/CP1", **kw):
    """A connected charger's socket, disconnected on the way out."""
    comm = communicator(path, **kw)
    connected, _ = await comm.connect(timeout=TIMEOUT)
    assert connected
    try:
        yield comm
    finally:
        await comm.disconnect(timeout=TIMEOUT)


async def reply(comm: WebsocketCommunicator) -> list:
    return json.loads(await comm.receive_from(timeout=TIMEOUT))


async def call(comm: WebsocketCommunicator, action: str, payload: dict, message_id: str = "m1") -> list:
    await comm.send_to(text_data=json.dumps([2, message_id, action, payload]))
    return await reply(comm)


async def raw(comm: WebsocketCommunicator, text: str) -> list:
    await comm.send_to(text_data=text)
    return await reply(comm)


async def error_code(comm: WebsocketCommunicator, action: str, payload: dict) -> str:
    answer = await call(comm, action, payload)
    assert answer[:2] == [4, "m1"], answer
    return answer[2]


async def heartbeat_still_answered(comm: WebsocketCommunicator) -> bool:
    answer = await call(comm, "Heartbeat", {}, message_id="hb")
    return answer[:2] == [3, "hb"]


async def answer_next_call(comm: WebsocketCommunicator, frame_for) -> None:
    """Answer the next CALL the central system sends with `frame_for(message_id)`."""
    sent = await reply(comm)
    await comm.send_to(text_data=json.dumps(frame_for(sent[1])))


async def operator_call(action: str, payload: dict, timeout: float = TIMEOUT, charger_id: str = "CP1") -> str:
    """Send an operator's CALL to the consumer holding the charger's socket, as
    the command service does; returns the channel its answer comes back on."""
    layer = get_channel_layer()
    reply_channel = await layer.new_channel()
    await layer.send(
        consumers.LIVE[charger_id].channel_name,
        {
            "type": "ocpp.call",
            "action": action,
            "payload": payload,
            "request_id": "r1",
            "reply_channel": reply_channel,
            "timeout": timeout,
        },
    )
    return reply_channel
