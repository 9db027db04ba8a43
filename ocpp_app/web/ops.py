"""Endpoints for the machines around a node: readiness for load balancers and
Prometheus metrics for the scraper (liveness, /ocpp/health/, is in views.py)."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from ocpp_app.runtime import metrics
from ocpp_app.runtime.readiness import readiness
from ocpp_app.services import roles


@never_cache
async def ready(request):
    """200 while the database and the channel layer answer, else 503 naming
    the part that does not."""
    state = await readiness()
    response = JsonResponse(state, status=200 if state["ready"] else 503)
    # readiness() logs a change of state; Django's request logger would add
    # an error line for every probe a balancer sends while a part is down.
    response._has_been_logged = True
    return response


def _refused(status: int, detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


def _token_matches(credentials: str) -> bool:
    token = settings.OCPP_METRICS_TOKEN
    # Compared in constant time, as bytes (compare_digest takes only ASCII str).
    return bool(token) and hmac.compare_digest(credentials.encode(), token.encode())


@never_cache
def metrics_text(request):
    """This node's metrics (Prometheus text) for `Authorization: Bearer
    <OCPP_METRICS_TOKEN>` or the session of a viewer (services/roles.py)."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        if not _token_matches(credentials.strip()):
            return _refused(401, "Invalid metrics token.")
    elif not request.user.is_authenticated:
        return _refused(401, "Sign in as a viewer, or send Authorization: Bearer <metrics token>.")
    elif not roles.can_view(request.user):
        return _refused(403, roles.refusal(roles.Role.VIEWER))
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
