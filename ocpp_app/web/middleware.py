"""While the database is unreachable, a request that needed it is answered
503 with `Retry-After` (JSON for the REST API and the machine endpoints, a
small page for the pages: the rule of errors.py), not a 500 with a traceback
per request.

What counts as unreachable: Django's OperationalError and InterfaceError (the
server is down, refuses connections, or dropped one), and psycopg's pool
finding no connection in time (PoolTimeout). DRF leaves these to Django (its
exception handler answers only its own exceptions and re-raises the rest), so
one middleware serves the API and the pages alike.

An outage is logged as one warning without a traceback, then at most once a
minute with the number of requests answered 503 since.
"""

import logging
import math
import threading
import time

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from psycopg_pool import PoolTimeout

from ocpp_app.web.errors import wants_json

logger = logging.getLogger("ocpp_app.web")
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER = 5  # seconds
LOG_EVERY = 60.0  # seconds between two warnings of one outage

_lock = threading.Lock()
_logged_at = -math.inf
_unlogged = 0


def _log(request, error: Exception) -> None:
    global _logged_at, _unlogged
    with _lock:
        now = time.monotonic()
        if now - _logged_at < LOG_EVERY:
            _unlogged += 1
            return
        unlogged, _unlogged, _logged_at = _unlogged, 0, now
    lines = str(error).strip().splitlines()
    logger.warning(
        "database unavailable: %s %s answered 503 (%s%s)%s",
        request.method,
        request.path,
        type(error).__name__,
        f": {lines[0][:200]}" if lines else "",
        f"; {unlogged} more request(s) answered 503 since the last warning" if unlogged else "",
    )


class DatabaseUnavailableMiddleware(MiddlewareMixin):
    def process_exception(self, request, exception):
        if not isinstance(exception, UNAVAILABLE):
            return None
        _log(request, exception)
        if wants_json(request):
            response = JsonResponse({"detail": "database unavailable", "retry_after": RETRY_AFTER}, status=503)
        else:
            response = HttpResponse(render_to_string("ocpp/unavailable.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER)
        # Logged above, once for the outage: Django's request logger would add
        # an error line for every 503.
        response._has_been_logged = True
        return response
