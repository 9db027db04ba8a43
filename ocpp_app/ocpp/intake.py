"""A charger's frame on its way in: the per-frame limits of the settings, and
large frames parsed and validated off the event loop.

Every charger of a process shares one event loop. Parsing and validating a
frame costs in proportion to its size, and a schema error in a big payload
costs far more (the library's pure-Python validator names it): inline, one
charger's large frame would delay every other charger's answers and
keepalives. So a frame from OFFLOAD_CHARS up is parsed and, for a CALL,
validated on one worker thread while the loop serves the others; a smaller
frame stays inline, where it costs less than the thread hop would.

The caller awaits the worker, so one charger's frames are still handled one
after another, in order. The schema verdict is kept with the CALL and raised
where an inline one would be (`validate_call`, after the action was looked
up), so the CALLERROR code and the message log are the same either way.
"""

import asyncio
import concurrent.futures

from django.conf import settings
from ocpp.messages import Call, CallError, CallResult, MessageType

from ocpp_app.ocpp import framing

# Frames from this many characters up go to the worker thread.
OFFLOAD_CHARS = 64 * 1024

# One worker: under the GIL a second one would not parse any faster, and the
# loop keeps its share of the interpreter (the GIL changes hands every few
# milliseconds). Large frames of several chargers wait for it in turn.
_worker: concurrent.futures.ThreadPoolExecutor | None = None


class CheckedCall(Call):
    """A CALL whose payload was validated against its schema off the loop."""

    def __init__(self, call: Call, schema_error: BaseException | None) -> None:
        super().__init__(call.unique_id, call.action, call.payload)
        self.schema_error = schema_error


async def parse_frame(raw: str) -> Call | CallResult | CallError:
    """framing.parse_frame with the sampled-value limit of the settings, off
    the event loop for a large frame. Raises as framing.parse_frame does."""
    limit = settings.OCPP_MAX_SAMPLED_VALUES
    if len(raw) < OFFLOAD_CHARS:
        return framing.parse_frame(raw, max_sampled_values=limit)
    return await asyncio.get_running_loop().run_in_executor(_executor(), _parse_and_validate, raw, limit)


def validate_call(msg: Call) -> None:
    """framing.validate for an incoming CALL: the verdict reached on the
    worker thread for a large frame, the inline one for any other."""
    if isinstance(msg, CheckedCall):
        if msg.schema_error is not None:
            raise msg.schema_error
        return
    framing.validate(MessageType.Call, msg.action, msg.payload)


def _parse_and_validate(raw: str, limit: int) -> Call | CallResult | CallError:
    msg = framing.parse_frame(raw, max_sampled_values=limit)
    if not isinstance(msg, Call):
        return msg
    try:
        framing.validate(MessageType.Call, msg.action, msg.payload)
    except Exception as error:  # raised later, by validate_call, as inline
        return CheckedCall(msg, error)
    return CheckedCall(msg, None)


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _worker
    if _worker is None:
        _worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocpp-large-frames")
    return _worker
