"""WebSocket edge: handshake, identity, subprotocol, auth, registry, frames.

Thin by design: no ORM and no OCPP logic here; the database is reached
through services, the protocol through CentralSystem.
"""

import asyncio
import base64
import binascii
import json
import logging
import math
import uuid

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from ocpp_app.models import RegistrationStatus
from ocpp_app.ocpp.charge_point import CallErrorReceived, CallNotSent, CentralSystem, InvalidResponse
from ocpp_app.ocpp.connection import ConsumerConnection
from ocpp_app.ocpp.identity import BadChargerId, parse_identity
from ocpp_app.ocpp.transport import transport_facts
from ocpp_app.runtime import events, metrics, throttle
from ocpp_app.runtime.charger_log import charger_log
from ocpp_app.runtime.group_commit import run as commit
from ocpp_app.runtime.loop_local import LoopLocal
from ocpp_app.runtime.mailbox import get_mailbox
from ocpp_app.services import chargers
from ocpp_app.services.secrets import secret_hash, secret_needs_rehash, secret_verify
from ocpp_app.services.security_profiles import security_event_record

logger = logging.getLogger("ocpp_app.consumers")
SUBPROTOCOL = "ocpp1.6"
# Seconds past the ping time-out a process holding the old socket has to say so.
PROBE_REPLY_MARGIN = 2.0
# Waits between attempts to answer through a channel layer that is away.
REPLY_RETRY = (0.2, 0.5, 1.0, 1.0, 2.0)


class LayerUnavailable(Exception):
    """The channel layer (Redis) cannot be reached."""


# Live connections of this process, by charger id. The database records which
# chargers are connected anywhere (Charger.connected / channel_name).
LIVE: dict[str, "OCPPConsumer"] = {}


def basic_credentials(headers: list[tuple[bytes, bytes]]) -> tuple[str, str] | None:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, encoded = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            user, sep, password = decoded.partition(":")
            return (user, password) if sep else None
    return None


def _new_handshake_slots() -> asyncio.Semaphore:
    return asyncio.Semaphore(settings.OCPP_HANDSHAKE_CONCURRENCY)


_handshake_slots: LoopLocal[asyncio.Semaphore] = LoopLocal(_new_handshake_slots)


def handshake_slot() -> asyncio.Semaphore:
    """Admission control for reconnect storms: at most
    OCPP_HANDSHAKE_CONCURRENCY handshakes of this process in the database
    stage at once. Without it 10 000 chargers arriving together all move
    through handshake, boot and status side by side and all finish at the
    end; with it they go through in waves, and the first are answered early."""
    return _handshake_slots.get()


class OCPPConsumer(AsyncWebsocketConsumer):
    """One charge point connection."""

    charger_id: str | None = None
    cp: CentralSystem | None = None
    accepted = False
    tasks: set[asyncio.Task] | None = None  # made on first use (_spawn)
    source = ""  # the client's address, once the handshake has read it

    async def __call__(self, scope, receive, send) -> None:
        """Channels' version gives every socket a channel of its own and, for
        each frame, a wait() over the socket and that channel. Here the
        socket is read directly, and messages for this charger reach it
        through the process's one channel (runtime/mailbox.py)."""
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = await get_mailbox().address(deliver) if self.channel_layer is not None else ""
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            if self.accepted:
                # Left without its disconnect (an error, or the server gave
                # up on the socket): the clean-up still runs, or the charger
                # would read connected until its node's next start.
                await self.disconnect(1006)

    async def dispatch(self, message) -> None:
        # channels (4.2+) runs close_old_connections() on the database thread
        # before every handler: one more thread hop per frame, queued behind
        # the group-commit writer. This consumer never touches the ORM itself;
        # group commit does, with database_sync_to_async's own housekeeping.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_connect(self, message) -> None:
        self.connection_id = uuid.uuid4().hex
        try:
            identity = parse_identity(
                path=self.scope.get("path", ""),
                raw_path=self.scope.get("raw_path"),
                query_string=self.scope.get("query_string", b""),
            )
        except BadChargerId as exc:
            # Strangers' refusals go to the project log only: a file per
            # charger exists only for chargers in the database.
            logger.warning("refused %r: %s (400)", self.scope.get("path", ""), exc)
            await self.deny(400, f"Bad charger id: {exc}")
            return
        charger_id = identity.charger_id

        offered = list(self.scope.get("subprotocols") or [])
        if offered and SUBPROTOCOL not in offered:
            # Refused before the upgrade: completing it only to close at once
            # (1002) told the client less, and cost a socket.
            logger.warning("charger %s: refused: unsupported subprotocols %s (400)", charger_id, offered[:8])
            await self.deny(400, f"Unsupported subprotocol: this central system speaks {SUBPROTOCOL}")
            return
        subprotocol = SUBPROTOCOL if offered else None
        facts = transport_facts(self.scope)
        self.source = facts.source

        credentials = basic_credentials(self.scope.get("headers", []))
        offered_password = credentials[1] if credentials is not None and credentials[0] == charger_id else None
        if offered_password is not None:
            # Before any password check: a guessing client learns nothing.
            wait = await throttle.auth_wait(source=facts.source, charger_id=charger_id)
            if wait > 0:
                logger.warning("charger %s: refused %s: too many failed attempts (429)", charger_id, facts.source)
                retry = str(max(1, math.ceil(wait))).encode()
                await self.deny(429, "Too many failed attempts", [(b"retry-after", retry)])
                return

        # The service decides; this edge only turns its outcome into HTTP.
        admit = {
            "charger_id": charger_id,
            "path": identity.path,
            "connection_id": self.connection_id,
            "channel_name": self.channel_name,
            "subprotocol": subprotocol or "",
            "unknown_policy": settings.OCPP_UNKNOWN_CHARGERS,
            "require_auth": settings.OCPP_REQUIRE_AUTH,
            "tls": facts.tls,
            "certificate": facts.certificate,
            "certificate_problem": facts.certificate_problem,
        }
        async with handshake_slot():
            admission = await commit(chargers.charger_admit, **admit, password=offered_password)
        if admission.outcome == "authenticate":
            if await self._legacy_password_matches(offered_password, admission.password_hash):
                admit["password_checked"] = True
                admit["password_rehash"] = (
                    (admission.password_hash, secret_hash(offered_password))
                    if secret_needs_rehash(admission.password_hash)
                    else None
                )
                admission = await commit(chargers.charger_admit, **admit)
            else:
                admission = chargers.Admission("refused", known=admission.known)
        if admission.outcome == "occupied":
            try:
                answers = await self._previous_answers(charger_id, admission.previous_channel)
            except LayerUnavailable:
                # Whether the live socket still answers cannot be told: no
                # takeover without credentials on a guess.
                await self._refuse(
                    charger_id,
                    True,
                    503,
                    "Refused: the node holding the live connection cannot be asked now (503)",
                    "Try again later",
                    [(b"retry-after", b"5")],
                )
                return
            if answers:
                reason = (
                    f"a live connection still answers; one without credentials from {facts.source} cannot replace it"
                )
                await commit(security_event_record, charger_id=charger_id, status="TakeoverRefused", reason=reason)
                await self._refuse(charger_id, True, 409, f"Refused: {reason} (409)", "The charger is connected")
                return
            admission = await commit(chargers.charger_admit, **admit, takeover_checked=True)
        if admission.outcome == "refused":
            await throttle.auth_failed(source=facts.source, charger_id=charger_id)
            await self._refuse(
                charger_id,
                admission.known,
                401,
                "Refused: missing or wrong credentials (401)",
                "Authentication required",
                [(b"www-authenticate", b'Basic realm="OCPP"')],
            )
            return
        if admission.outcome == "forbidden":
            await self._refuse(
                charger_id,
                admission.known,
                admission.status,
                f"Refused: {admission.reason} ({admission.status})",
                "The connection does not meet this charger's security profile",
            )
            return
        if admission.outcome == "unknown":
            await self._refuse(charger_id, False, 404, "Refused: unknown charger (404)", "Unknown charger")
            return
        connected = admission.result
        if admission.authenticated:
            await throttle.auth_succeeded(source=facts.source, charger_id=charger_id)

        # One live connection per charger: the newest admitted one wins (a
        # newcomer without credentials only once the old socket stopped
        # answering). The database already names this connection, so the
        # old socket's clean-up (compare-and-set on connection_id) leaves it alone.
        previous = LIVE.get(charger_id)
        LIVE[charger_id] = self
        self.charger_id = charger_id
        if previous is not None:
            charger_log(charger_id, "Replacing the previous connection")
            await previous.close_replaced()
        if previous is None and connected.previous_channel and connected.previous_channel != self.channel_name:
            # The old socket may live in another worker process: tell it.
            # With the channel layer away (a Redis restart) it is not told,
            # and closes when its charger notices; the database already
            # names this connection, so its clean-up leaves this one alone.
            try:
                await self.channel_layer.send(
                    connected.previous_channel,
                    {"type": "ocpp.replaced", "charger_id": charger_id, "connection_id": self.connection_id},
                )
            except Exception as error:
                charger_log(charger_id, f"Could not tell the replaced connection's node: {error!r}", logging.WARNING)
        self.cp = CentralSystem(
            charger_id,
            ConsumerConnection(self),
            response_timeout=settings.OCPP_CALL_TIMEOUT,
            registration_status=connected.registration_status,
        )
        self.accepted = True
        try:
            await self.accept(subprotocol)
        except Exception:
            # The client left during the handshake: unregister what was
            # registered above, as a disconnect would.
            await self.disconnect(1006)
            raise StopConsumer() from None
        transport = "wss" if facts.tls else "ws"
        via = f" via proxy {self.scope['client'][0]}" if facts.via_proxy else ""
        cert = facts.certificate
        presented = f" client certificate CN={cert.common_name} serial={cert.serial or '?'}" if cert else ""
        charger_log(
            charger_id,
            f"Connected (subprotocol={subprotocol or 'none'}) path={identity.path} {transport} "
            f"from {facts.source}{via}{presented}",
        )
        await events.publish(charger_id, "connected")

    async def _refuse(
        self,
        charger_id: str,
        known: bool,
        status: int,
        line: str,
        body: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Refuse before the upgrade; say why in the charger's own log when
        the charger is in the database, else in the project log only (a
        stranger cycling random ids must not create files). Either way the
        client's address is in the line."""
        if self.source:
            line = f"{line} from {self.source}"
        if known:
            charger_log(charger_id, line, logging.WARNING)
        else:
            logger.warning("charger %s: %s", charger_id, line)
        await self.deny(status, body, headers)

    async def _previous_answers(self, charger_id: str, channel: str) -> bool:
        """Whether the connection the database names for this charger still
        answers a WebSocket ping within OCPP_TAKEOVER_PING_TIMEOUT, in this
        process or, through its mailbox channel, in another one. No answer in
        time (a half-open socket, a dead process) means it may be replaced."""
        timeout = settings.OCPP_TAKEOVER_PING_TIMEOUT
        local = LIVE.get(charger_id)
        if local is not None:
            return await local.answers_ping(timeout)
        if not channel or channel == self.channel_name or self.channel_layer is None:
            return False  # recorded here, but closed since
        reply_channel = await self.channel_layer.new_channel()
        try:
            await self.channel_layer.send(
                channel,
                {"type": "ocpp.probe", "charger_id": charger_id, "timeout": timeout, "reply_channel": reply_channel},
            )
            async with asyncio.timeout(timeout + PROBE_REPLY_MARGIN):
                reply = await self.channel_layer.receive(reply_channel)
        except TimeoutError:
            return False
        except Exception as error:
            raise LayerUnavailable() from error
        return bool(reply.get("alive"))

    async def answers_ping(self, timeout: float) -> bool:
        if not self.accepted:
            return False
        probe = ((self.scope.get("extensions") or {}).get("ocpp.ping") or {}).get("probe")
        if probe is None:
            # A server without our protocol (runserver's daphne) cannot ping
            # from the application: an open socket counts as live.
            return True
        return await probe(timeout)

    async def _legacy_password_matches(self, password: str | None, password_hash: str) -> bool:
        """charger_admit checks passwords stored in the fast form itself; what
        it hands back here is a legacy Django hash, slow on purpose: checked
        off the event loop and off the database thread (and migrated once it
        matched)."""
        if password is None or not password_hash:
            return False
        return await sync_to_async(secret_verify, thread_sensitive=False)(
            password=password, password_hash=password_hash
        )

    async def deny(self, status: int, reason: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Refuse before the upgrade with a real HTTP status where the server
        supports the ASGI denial-response extension (uvicorn); daphne can only
        answer 403."""
        if "websocket.http.response" in (self.scope.get("extensions") or {}):
            body = (reason + "\n").encode("utf-8")
            await self.base_send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), *(headers or [])],
                }
            )
            await self.base_send({"type": "websocket.http.response.body", "body": body})
        else:
            await self.close()

    async def close_replaced(self) -> None:
        charger_log(self.charger_id, "Closing: replaced by a newer connection")
        try:
            await self.close(code=1000, reason="Replaced by a newer connection")
        except Exception:
            # The old socket may already be gone; that must never fail the
            # connection that replaces it.
            logger.info("charger %s: the replaced socket was already closed", self.charger_id)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.cp is None:
            return
        if text_data is None:
            # OCPP-J uses text frames; accept UTF-8 binary ones, ignore the rest.
            try:
                text_data = (bytes_data or b"").decode("utf-8")
            except UnicodeDecodeError:
                logger.warning("charger %s: ignoring a binary frame", self.charger_id)
                return
        limit = settings.OCPP_MAX_FRAME_BYTES
        if len(text_data) > limit or (len(text_data) * 4 > limit and len(text_data.encode("utf-8", "replace")) > limit):
            charger_log(self.charger_id, f"Closing: frame over {limit} bytes (1009)", logging.WARNING)
            await self.close(code=1009)
            return
        try:
            await self.cp.route_message(text_data, pipelined=self._pipelined())
        except ConnectionError:
            # The charger left before its answer was written: its disconnect
            # is next in the queue, and runs the clean-up.
            charger_log(self.charger_id, "Gone before its answer could be sent")

    def _pipelined(self) -> bool:
        """Did this frame come before the answer to the last one? Told by the
        frames still waiting behind it (runtime/ws_protocol.py); a server
        that cannot tell (daphne) counts every frame as pipelined."""
        flow = (self.scope.get("extensions") or {}).get("ocpp.flow")
        return flow is None or flow["queued"]() > 0

    async def websocket_disconnect(self, message) -> None:
        # channels' own version runs disconnect() and then hops to the database
        # thread for close_old_connections(): a hop per disconnect, queued
        # behind the writer, that this consumer never needs (it has no groups).
        try:
            await self.disconnect(message.get("code"))
        finally:
            raise StopConsumer()

    async def disconnect(self, code) -> None:
        # The connection's tasks (operator CALLs, probes) are not cancelled:
        # cancel_pending() below fails the CALL still open and every CALL
        # queued behind it with "not connected" at once, while a CALL whose
        # answer came with the close (a Reset answered Accepted, then the
        # reboot) still reports that answer. Cancelling lost it.
        if not self.accepted or self.charger_id is None:
            return
        self.accepted = False
        # Compare-and-delete: only the live connection unregisters itself.
        if LIVE.get(self.charger_id) is self:
            del LIVE[self.charger_id]
        if self.cp is not None:
            self.cp.cancel_pending()
            try:
                await self.cp._log.flush()
            except Exception:
                # The log is best effort; unregistering below must still happen
                # (websocket_disconnect's StopConsumer would hide this error).
                logger.exception("charger %s: could not flush the message log", self.charger_id)
        await commit(chargers.charger_disconnected, charger_id=self.charger_id, connection_id=self.connection_id)
        charger_log(self.charger_id, f"Disconnected (code={code})")
        await events.publish(self.charger_id, "disconnected")

    # -- commands from operators, through the channel layer ------------------

    async def ocpp_call(self, event: dict) -> None:
        """An operator's CALL for this charger (ocpp_app/ocpp/commands.py).

        Never await the charger's answer here: Channels handles one event at a
        time per consumer, so the reply frame could never be read. Spawn a task.
        """
        self._spawn(self._run_call(event))

    async def _run_call(self, event: dict) -> None:
        reply: dict = {"type": "ocpp.reply", "request_id": event.get("request_id")}
        # The CALL's unique id goes back with every answer to a CALL that was
        # sent, so the command record names the frames of the message log.
        message_id = str(uuid.uuid4())
        try:
            if self.cp is None or not self.accepted:
                raise ConnectionError("charger not connected")
            reply["payload"] = await self.cp.call_action(
                event["action"],
                event.get("payload") or {},
                timeout=event.get("timeout"),
                deadline=event.get("deadline"),
                message_id=message_id,
                command_id=event.get("command_id") if isinstance(event.get("command_id"), int) else None,
            )
            reply.update(status="ok", message_id=message_id)
        except (CallErrorReceived, InvalidResponse) as error:
            reply.update(
                status="call_error" if isinstance(error, CallErrorReceived) else "invalid_response",
                message_id=message_id,
                error_code=error.code,
                error_description=error.description,
                error_details=error.details,
            )
        except CallNotSent:
            reply.update(status="timeout")
        except TimeoutError:
            reply.update(status="timeout", message_id=message_id)
        except (ConnectionError, asyncio.CancelledError):
            reply.update(status="not_connected")
        except Exception as error:  # a schema violation before sending, ...
            code = getattr(error, "code", "InternalError")
            reply.update(status="invalid", error_code=code, error_description=getattr(error, "description", str(error)))
        if event.get("reply_channel"):
            # Keep the reply JSON-safe for the Redis layer (msgpack).
            await send_reply(event["reply_channel"], json.loads(json.dumps(reply, default=str)))

    async def ocpp_probe(self, event: dict) -> None:
        """A newcomer in another process asks whether this socket still
        answers (the takeover rule): pinged in a task of its own."""
        self._spawn(_answer_probe(self, event))

    def _spawn(self, coro) -> None:
        """A task of this connection (kept referenced until it ends; each
        one is bounded by its own time-out). The set is made on first use:
        most chargers never get a command, and an empty set per idle socket
        is 216 bytes."""
        task = asyncio.get_running_loop().create_task(coro)
        if self.tasks is None:
            self.tasks = set()
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def ocpp_registration(self, event: dict) -> None:
        """An operator changed this charger's registration status (on any
        process): it holds from the charger's next CALL on. A Rejected charger
        gets SecurityError for every CALL but BootNotification."""
        status = event.get("registration_status")
        if self.cp is not None and status in RegistrationStatus.values and status != self.cp.registration_status:
            self.cp.registration_status = status
            charger_log(self.charger_id, f"Registration status set to {status} by an operator")

    async def ocpp_replaced(self, event: dict) -> None:
        """Another process accepted a newer connection for this charger."""
        if LIVE.get(self.charger_id) is self and event.get("connection_id") != self.connection_id:
            del LIVE[self.charger_id]
            await self.close_replaced()


async def deliver(message: dict) -> None:
    """A message on the process's channel, to the socket of its charger: an
    operator's CALL (`ocpp.call`) or a replacement notice (`ocpp.replaced`)."""
    consumer = LIVE.get(message.get("charger_id") or "")
    kind = message.get("type")
    if consumer is None:
        if kind == "ocpp.call" and message.get("reply_channel"):
            # Its socket closed since the command looked it up: say so at once
            # rather than let the operator wait for the time-out.
            reply = {"type": "ocpp.reply", "request_id": message.get("request_id"), "status": "not_connected"}
            await send_reply(message["reply_channel"], reply)
        elif kind == "ocpp.probe" and message.get("reply_channel"):
            await send_reply(message["reply_channel"], {"type": "ocpp.probed", "alive": False})
        return
    if kind == "ocpp.call":
        await consumer.ocpp_call(message)
    elif kind == "ocpp.probe":
        await consumer.ocpp_probe(message)
    elif kind == "ocpp.registration":
        await consumer.ocpp_registration(message)
    elif kind == "ocpp.replaced":
        await consumer.ocpp_replaced(message)
    else:
        logger.warning("charger %s: ignoring a %r message", consumer.charger_id, kind)


async def _answer_probe(consumer: OCPPConsumer, event: dict) -> None:
    try:
        timeout = min(float(event.get("timeout") or 0), 30.0)
    except (TypeError, ValueError):
        timeout = 0.0
    alive = await consumer.answers_ping(timeout)
    if event.get("reply_channel"):
        await send_reply(event["reply_channel"], {"type": "ocpp.probed", "alive": alive})


async def send_reply(channel: str, reply: dict) -> None:
    """Answer a command or a probe through the channel layer, retrying for a
    few seconds while it is away (a Redis restart): the operator waiting on
    the other end keeps waiting that long anyway."""
    for delay in REPLY_RETRY:
        try:
            await get_channel_layer().send(channel, reply)
            return
        except Exception:
            metrics.layer_error("send")
            await asyncio.sleep(delay)
    logger.warning("could not send a %s: the channel layer is unreachable", reply.get("type"))


class SinkConsumer(AsyncWebsocketConsumer):
    """/ws/sink/: answers every CALL with an empty CALLRESULT, stores nothing."""

    async def connect(self) -> None:
        offered = self.scope.get("subprotocols") or []
        await self.accept(SUBPROTOCOL if SUBPROTOCOL in offered else None)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = json.loads(text_data or (bytes_data or b"").decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            return
        if isinstance(frame, list) and len(frame) >= 3 and frame[0] == 2 and isinstance(frame[1], str):
            await self.send(text_data=json.dumps([3, frame[1], {}]))


metrics.track_connected(lambda: len(LIVE))
