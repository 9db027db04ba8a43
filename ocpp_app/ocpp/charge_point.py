"""The central system's side of one charger connection.

`CentralSystem` uses the `ocpp` library by composition: its 1.6 schemas (via
framing.py and schemas.py), its `@on` routing marks, enums and call_result
dataclasses, but not its ChargePoint, whose routing drops unreadable frames,
answers with the wrong 1.6 codes and costs a route map per connection. Every
frame is parsed defensively (framing.py), every error gets its OCPP-J 1.6
code, a malformed frame never kills the connection, every frame in and out
goes to the message log, and an outgoing CALL surfaces its CALLERROR or
time-out to the caller.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from ocpp.exceptions import (
    FormationViolationError,
    GenericError,
    InternalError,
    NotSupportedError,
    OCPPError,
    SecurityError,
)
from ocpp.exceptions import (
    NotImplementedError as OCPPNotImplemented,
)
from ocpp.messages import Call, CallError, CallResult, MessageType

from ocpp_app.lib import jsontext
from ocpp_app.models import Direction, RegistrationStatus
from ocpp_app.ocpp import framing, intake
from ocpp_app.ocpp.profiles.core import CoreHandlers
from ocpp_app.ocpp.profiles.firmware import FirmwareHandlers
from ocpp_app.ocpp.profiles.security import SecurityHandlers
from ocpp_app.runtime import metrics
from ocpp_app.runtime.charger_log import charger_log
from ocpp_app.runtime.group_commit import run as commit
from ocpp_app.runtime.message_log import cut, get_writer
from ocpp_app.runtime.outage import DATABASE_UNREACHABLE
from ocpp_app.runtime.rate_limit import rate_limiter
from ocpp_app.services.commands.lifecycle import command_answered_late
from ocpp_app.services.secrets import redact, redact_details

logger = logging.getLogger("ocpp_app.ocpp")
# Seconds kept in hand before an operator's deadline, for the reply's way back.
DEADLINE_MARGIN = 1.0


# The action under which a reply that answers no open CALL is logged, and how
# much of its text is kept.
UNSOLICITED = "unsolicited"
UNSOLICITED_HEAD_CHARS = 200


def _unsolicited_note(raw_msg: str, msg: CallResult | CallError) -> dict:
    """A late reply may be a timed-out GetConfiguration's, holding the
    AuthorizationKey: the key is redacted before anything of it is kept."""
    if isinstance(msg, CallResult):
        shown = redact("GetConfiguration", msg.payload)
        redacted = shown is not msg.payload
    else:
        shown = redact_details("GetConfiguration", msg.error_details)
        redacted = shown is not msg.error_details
    head = framing.loggable(raw_msg, raw_msg[:UNSOLICITED_HEAD_CHARS])
    text = framing.loggable(raw_msg, jsontext.dumps(shown)) if redacted else head
    note = cut(text, head=UNSOLICITED_HEAD_CHARS, unsolicited=True)
    note["bytes"] = len(raw_msg.encode("utf-8", "replace"))
    return note


# How long, and how many, timed-out operator CALLs of one connection wait for
# a late answer.
LATE_ANSWER_WINDOW = 600.0
LATE_CALLS_MAX = 8


@dataclass
class LateCall:
    message_id: str
    action: str
    payload: dict  # as sent, secrets included: in memory only
    command_id: int
    expires: float = field(default_factory=lambda: time.monotonic() + LATE_ANSWER_WINDOW)


class CallNotSent(TimeoutError):
    """The operator's deadline passed while the CALL waited its turn: it was
    never sent."""


class CallErrorReceived(OCPPError):
    """The charger answered our CALL with a CALLERROR."""

    def __init__(self, code: str, description: str, details: dict | None = None) -> None:
        super().__init__(description=description, details=details or {})
        self.code = code


class InvalidResponse(OCPPError):
    """The charger's CALLRESULT does not match the response schema."""

    code = "InvalidResponse"


class CentralSystem(CoreHandlers, FirmwareHandlers, SecurityHandlers):
    def __init__(
        self,
        charger_id: str,
        connection: Any,
        *,
        response_timeout: float = 30,
        registration_status: str = RegistrationStatus.ACCEPTED,
    ) -> None:
        # The handler table is computed once per class (handler_names), not
        # per connection as the library's create_route_map() does: that was an
        # eighth of a reconnect storm.
        self.id = charger_id
        self._response_timeout = response_timeout
        self._connection = connection
        self._call_lock = asyncio.Lock()
        # No _response_queue: replies resolve the pending CALL's future
        # directly (route_message), and an idle charger costs less memory.
        self.registration_status = registration_status
        # The one outgoing CALL in flight: (message id, action, future).
        self._pending: tuple[str, str, asyncio.Future] | None = None
        # Operator CALLs that timed out, whose answer is still applied when
        # it comes (command_answered_late): message id -> LateCall.
        # Containers an idle charger never needs are made on first use.
        self._late: dict[str, LateCall] | None = None
        self._log = get_writer()
        # CALLs per second this connection may send (runtime/rate_limit.py);
        # None: no limit. `_refusing`: the last CALL was refused (only the
        # first refusal of a streak is logged); `_closing`: closed for flooding.
        self._limiter = rate_limiter(
            rate=settings.OCPP_RATE_LIMIT, burst=settings.OCPP_RATE_BURST, close_after=settings.OCPP_RATE_CLOSE_AFTER
        )
        self._refusing = False
        self._closing = False
        self._gone = False  # the socket closed (cancel_pending)
        # Work a handler asked for once its answer is sent (after_answer), and
        # the tasks running it (kept, so none is collected mid-way).
        self._after_answer: tuple[Callable[[], Awaitable[None]], ...] = ()
        self._tasks: set[asyncio.Task] | None = None

    # -- incoming ---------------------------------------------------------------

    async def route_message(self, raw_msg: str, *, pipelined: bool = True) -> None:
        """Handle one frame. `pipelined`: it was sent before our answer to the
        charger's previous one; only such CALLs count against the rate limit,
        so a charger replaying its offline queue one CALL at a time, however
        fast, is never refused, and a flood is refused as soon as it outruns
        the server."""
        if self._closing:
            return  # frames still in flight from a charger closed for flooding
        try:
            msg = await intake.parse_frame(raw_msg)
        except framing.UnreadableFrame as exc:
            logger.warning("charger %s: ignoring unreadable frame: %s", self.id, exc)
            self._log_in(None, "", "", framing.raw_for_log(raw_msg))
            return
        except OCPPError as error:
            message_id = getattr(error, "message_id", "")
            self._log_in(MessageType.Call, "", message_id, framing.raw_for_log(raw_msg))
            await self._send_frame(MessageType.CallError, message_id, "", error=error)
            return

        if isinstance(msg, Call):
            metrics.call_received(msg.action)
            if pipelined and self._limiter is not None and not self._limiter.allow():
                await self._refuse_flood(msg)
                return
            self._refusing = False
            # Logged as parsed: parse_frame refused a CALL holding anything a
            # log cannot store, so scanning its text again (loggable) would
            # only cost time on the loop, a lot for a large frame.
            self._log_in(MessageType.Call, msg.action, msg.unique_id, msg.payload)
            await self._answer_call(msg)
            return

        pending = self._pending
        answered = pending is not None and pending[0] == msg.unique_id and not pending[2].done()
        late = (
            None
            if answered or not isinstance(msg, CallResult) or not self._late
            else self._late.pop(msg.unique_id, None)
        )
        if late is not None and late.expires > time.monotonic():
            await self._answered_late(raw_msg, msg, late)
            return
        if not answered:
            # A reply that answers nothing is dropped (memory stays bounded)
            # and only noted in the log: whole, a flood of large ones would
            # fill the disk. It takes a token like a CALL: beyond the limit
            # it is not even noted.
            if pipelined and self._limiter is not None and not self._limiter.allow():
                if self._limiter.flooding:
                    await self._close_flooding()
                return
            self._log_in(msg.message_type_id, UNSOLICITED, msg.unique_id, _unsolicited_note(raw_msg, msg))
            logger.info("charger %s: dropping reply %s that answers no open CALL", self.id, msg.unique_id)
            return
        action = pending[1]
        if isinstance(msg, CallResult):
            # The Basic-auth key never goes to the log (services/secrets.py).
            logged = redact(action, framing.loggable(raw_msg, msg.payload))
            self._log_in(MessageType.CallResult, action, msg.unique_id, logged)
        else:
            self._log_in(
                MessageType.CallError,
                action,
                msg.unique_id,
                framing.loggable(
                    raw_msg,
                    {
                        "errorCode": msg.error_code,
                        "errorDescription": msg.error_description,
                        "errorDetails": msg.error_details,
                    },
                ),
            )
        pending[2].set_result(msg)

    def after_answer(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` as a task of this connection once the answer to the CALL
        being handled has been sent (never when it is answered with a
        CALLERROR): e.g. a CALL of ours that the charger must only see after
        our answer. The charger's next frames are handled meanwhile."""
        self._after_answer = (*self._after_answer, job)

    def _start_after_answer(self) -> None:
        jobs, self._after_answer = self._after_answer, ()
        for job in jobs:
            task = asyncio.get_running_loop().create_task(self._run_after_answer(job))
            if self._tasks is None:
                self._tasks = set()
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run_after_answer(self, job: Callable[[], Awaitable[None]]) -> None:
        try:
            await job()
        except Exception:
            logger.exception("charger %s: work after an answer failed", self.id)

    async def _refuse_flood(self, msg: Call) -> None:
        """A CALL over the connection's rate limit: answered GenericError
        (OCPP 1.6 has no code of its own for it) without running its handler.
        Only the first refusal of a streak is logged, so a flood cannot fill
        the log; a charger far beyond the limit is closed (1008)."""
        first = not self._refusing
        self._refusing = True
        if first:
            self._log_in(MessageType.Call, msg.action, msg.unique_id, msg.payload)
            charger_log(
                self.id, f"Rate limit exceeded ({settings.OCPP_RATE_LIMIT:g} CALLs/s): refusing", logging.WARNING
            )
        error = GenericError(
            description=f"Rate limit exceeded: at most {settings.OCPP_RATE_LIMIT:g} CALLs per second "
            f"(bursts of {settings.OCPP_RATE_BURST}); send this message again later"
        )
        await self._send_frame(MessageType.CallError, msg.unique_id, msg.action, error=error, log=first)
        if self._limiter is not None and self._limiter.flooding:
            await self._close_flooding()

    async def _close_flooding(self) -> None:
        if self._closing:
            return
        self._closing = True
        charger_log(self.id, "Closed (1008): flooding far beyond the rate limit", logging.WARNING)
        close = getattr(self._connection, "close", None)
        if close is not None:
            await close(code=1008, reason="Rate limit exceeded")

    async def _answer_call(self, msg: Call) -> None:
        self._after_answer = ()
        try:
            payload = await self._dispatch(msg)
        except OCPPError as error:
            await self._send_frame(MessageType.CallError, msg.unique_id, msg.action, error=error)
        except RecursionError:
            await self._send_frame(
                MessageType.CallError,
                msg.unique_id,
                msg.action,
                error=FormationViolationError(description="Payload nested too deeply"),
            )
        except Exception as error:
            if isinstance(error, DATABASE_UNREACHABLE):
                # Nothing was stored: the CALLERROR makes the charger send it again.
                logger.warning(
                    "charger %s: %s not stored, the database is unreachable (%s); answered InternalError",
                    self.id,
                    msg.action,
                    error,
                )
            else:
                logger.exception("charger %s: handler for %s failed", self.id, msg.action)
            await self._send_frame(
                MessageType.CallError,
                msg.unique_id,
                msg.action,
                error=InternalError(description="The central system could not process this message"),
            )
        else:
            await self._send_frame(MessageType.CallResult, msg.unique_id, msg.action, payload=payload)
            self._start_after_answer()
            return
        self._after_answer = ()

    @classmethod
    def handler_names(cls) -> dict[str, str]:
        """Action -> name of its @on handler, computed once per class."""
        names = cls.__dict__.get("_handler_names")
        if names is None:
            names = {}
            for name in dir(cls):
                action = getattr(getattr(cls, name, None), "_on_action", None)
                if action is not None:
                    names[str(action)] = name
            cls._handler_names = names
        return names

    async def _dispatch(self, msg: Call) -> dict:
        name = self.handler_names().get(msg.action)
        if name is None:
            if msg.action in framing.V16_ACTIONS:
                # A real 1.6 action, but not one a charger sends to a CSMS.
                raise NotSupportedError(description=f"{msg.action} is not supported by this central system")
            raise OCPPNotImplemented(description=f"Unknown action {msg.action!r}"[:255])
        intake.validate_call(msg)
        if self.registration_status == RegistrationStatus.REJECTED and msg.action != "BootNotification":
            raise SecurityError(description="This charger's registration was rejected")
        response = await getattr(self, name)(**framing.snake_payload(msg.payload))
        return framing.wire_payload(response)

    # -- outgoing ---------------------------------------------------------------

    async def call_action(
        self,
        action: str,
        payload: dict,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
        message_id: str | None = None,
        command_id: int | None = None,
    ) -> dict:
        """Send one CALL (camelCase payload as on the wire) and return the
        charger's CALLRESULT payload.

        Raises an OCPPError for a payload that fails the schema (before anything
        is sent), CallErrorReceived for a CALLERROR answer, InvalidResponse for
        an answer that fails the schema, asyncio.TimeoutError when no answer
        comes in time. At most one CALL is in flight per charger (OCPP-J §4.1.1).

        `deadline` (epoch seconds) is when the operator stops waiting: a CALL
        still queued behind another one by then is never sent, so a charger
        never executes a command its operator was told had timed out
        (CallNotSent, a TimeoutError). `message_id` is the CALL's unique id
        when the caller needs to know it (default: a fresh UUID).
        """
        framing.validate(MessageType.Call, action, payload)
        timeout = timeout or self._response_timeout
        async with self._call_lock:
            if self._gone:
                raise ConnectionError("charger disconnected")
            if deadline is not None:
                remaining = deadline - time.time() - DEADLINE_MARGIN
                if remaining <= 0:
                    raise CallNotSent(f"{action} not sent: its operator stopped waiting")
                timeout = min(timeout, remaining)
            message_id = message_id or str(uuid.uuid4())
            future = asyncio.get_running_loop().create_future()
            self._pending = (message_id, action, future)
            try:
                await self._send_frame(MessageType.Call, message_id, action, payload=payload)
                try:
                    response = await asyncio.wait_for(future, timeout)
                except TimeoutError:
                    if command_id is not None:
                        self._remember_late(LateCall(message_id, action, payload, command_id))
                    raise
            finally:
                self._pending = None
        if isinstance(response, CallError):
            raise CallErrorReceived(response.error_code, response.error_description, response.error_details)
        try:
            framing.validate(MessageType.CallResult, action, response.payload)
        except OCPPError as error:
            raise InvalidResponse(
                description=f"Charger answered {action} with an invalid payload: {error.description}",
                details={"response": response.payload},
            ) from None
        return response.payload

    def _remember_late(self, call: LateCall) -> None:
        if self._late is None:
            self._late = {}
        now = time.monotonic()
        for message_id in [key for key, kept in self._late.items() if kept.expires <= now]:
            del self._late[message_id]
        while len(self._late) >= LATE_CALLS_MAX:
            del self._late[next(iter(self._late))]
        self._late[call.message_id] = call

    async def _answered_late(self, raw_msg: str, msg: CallResult, late: "LateCall") -> None:
        """The answer to an operator's CALL that timed out: logged like any
        answer, and applied once it passes the schema."""
        self._log_in(MessageType.CallResult, late.action, msg.unique_id, redact(late.action, msg.payload))
        try:
            framing.validate(MessageType.CallResult, late.action, msg.payload)
        except OCPPError as error:
            logger.warning("charger %s: late answer to %s fails the schema: %s", self.id, late.action, error)
            return
        applied = await commit(
            command_answered_late,
            command_id=late.command_id,
            message_id=late.message_id,
            payload=late.payload,
            response=msg.payload,
        )
        logger.info("charger %s: late answer to %s %s applied=%s", self.id, late.action, late.message_id, applied)

    def cancel_pending(self) -> None:
        """The socket closed: the CALL still open fails, and so does every
        CALL queued behind it, at once (not after its time-out)."""
        self._gone = True
        if self._pending is not None and not self._pending[2].done():
            self._pending[2].set_exception(ConnectionError("charger disconnected"))

    # -- framing and logging -----------------------------------------------------

    async def _send_frame(
        self,
        message_type: int,
        message_id: str,
        action: str,
        *,
        payload: dict | None = None,
        error: OCPPError | None = None,
        log: bool = True,
    ) -> None:
        if message_type == MessageType.CallError:
            code, description, details = framing.error_fields(error)
            metrics.callerror_sent(code)
            text = framing.encode([MessageType.CallError, message_id, code, description, details])
            logged = {"errorCode": code, "errorDescription": description, "errorDetails": details}
        elif message_type == MessageType.Call:
            text = framing.call_frame(message_id, action, payload)
            metrics.call_sent(action)
            logged = redact(action, payload)
        else:
            text = framing.result_frame(message_id, payload)
            logged = payload
        if log:
            self._log_frame(Direction.OUT, message_type, action, message_id, logged)
        await self._connection.send(text)

    def _log_in(self, message_type: int | None, action: str, message_id: str, payload: Any) -> None:
        self._log_frame(Direction.IN, message_type, action, message_id, payload)

    def _log_frame(self, direction: str, message_type: int | None, action: str, message_id: str, payload: Any) -> None:
        self._log.add(
            charger_id=self.id,
            direction=direction,
            message_type=message_type,
            action=action,
            message_id=message_id,
            payload=payload,
        )
