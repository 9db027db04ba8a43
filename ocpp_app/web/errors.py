"""Error answers (400, 403, 404, 500): a page in the site's layout for the
pages, JSON like DRF's own errors (`{"detail": ...}`) for the REST API and
the machine endpoints. `config/urls.py` names these as Django's handlers; the
503 of a database outage (middleware.py) asks the same `wants_json`.

Which requests are the API is read from the URL config, not listed here: the
API's roots are the first path segment of every route a DRF view serves
(`/ocpp/chargers/`, `/ocpp/rfids/`, `/ocpp/api/`, ...). A path no route
matches is judged by the nearest route above it inside its root:
`/ocpp/chargers/X/nope/` lies under the API's `/ocpp/chargers/X/`,
`/ocpp/chargers/X/view/nope/` under the charger page, `/ocpp/api/nope/` under
nothing but the root. Anything else answers JSON only when the client prefers
JSON to HTML (`Accept: application/json`)."""

import functools

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseServerError, JsonResponse
from django.template.loader import render_to_string
from django.urls import URLResolver, get_resolver
from django.urls.exceptions import Resolver404
from django.urls.resolvers import ResolverMatch, RoutePattern
from django.utils.encoding import escape_uri_path, uri_to_iri
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import APIView

# The views outside DRF that answer JSON (or plain text to a machine):
# liveness, readiness, metrics, the charger page's chart data.
JSON_VIEWS = frozenset({"health", "health-ready", "metrics", "charger-chart"})
# Public pages: their 404 shows nothing of the operator side.
PUBLIC_VIEWS = frozenset({"landing", "qr-png", "qr-svg", "firmware"})
NO_PAGE = "There is no page at this address."


def _is_api_view(func) -> bool:
    view_class = getattr(func, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def _is_named(match: ResolverMatch, names: frozenset[str]) -> bool:
    return match.url_name in names and "ocpp" in match.namespaces


@functools.lru_cache(maxsize=4)
def api_roots(resolver: URLResolver) -> tuple[str, ...]:
    """The first path segment of every route served by a DRF view, under the
    prefixes its URL config is included at: ('/ocpp/api/', '/ocpp/chargers/', ...)."""
    roots: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if not isinstance(entry.pattern, RoutePattern):
                continue  # a regex route has no literal prefix to read
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + route)
            elif _is_api_view(entry.callback):
                first = route.split("/", 1)[0]
                if first and "<" not in first:
                    roots.add(f"/{prefix}{first}/")

    walk(resolver.url_patterns, "")
    return tuple(sorted(roots))


def _ancestors(path: str):
    """'/a/b/c/' -> '/a/b/', '/a/', '/'."""
    trimmed = path.rstrip("/")
    while trimmed:
        trimmed = trimmed.rsplit("/", 1)[0]
        yield trimmed + "/"


def _route_of(request: HttpRequest) -> tuple[ResolverMatch | None, bool]:
    """The route the request is for (its own, or for a path no route matched
    the nearest one above it within its API root), and whether the path lies
    under an API root."""
    path = request.path_info
    resolver = get_resolver(getattr(request, "urlconf", None))
    root = next((r for r in api_roots(resolver) if (path + "/").startswith(r)), None)
    if request.resolver_match is not None:
        return request.resolver_match, root is not None
    floor = len(root) if root else 0
    for ancestor in _ancestors(path):
        if len(ancestor) < floor:
            break
        try:
            return resolver.resolve(ancestor), root is not None
        except Resolver404:
            continue
    return None, root is not None


def _answers_json(request: HttpRequest, match: ResolverMatch | None, under_api: bool) -> bool:
    if match is not None:
        if _is_api_view(match.func) or _is_named(match, JSON_VIEWS):
            return True
    elif under_api:
        return True
    # No Accept header reads as */*: a page. A client that does not take
    # HTML at all (a metrics scraper) gets JSON too.
    return request.get_preferred_type(["text/html", "application/json"]) != "text/html"


def wants_json(request: HttpRequest) -> bool:
    """Whether an error for this request is answered JSON rather than a page."""
    return _answers_json(request, *_route_of(request))


def _message(exception: Exception | None) -> str | None:
    """The words an `Http404("No charger ...")` was raised with; None for the
    resolver's own 404, whose argument is the list of routes tried."""
    args = getattr(exception, "args", ())
    return args[0] if args and isinstance(args[0], str) and args[0] else None


def _json(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    match, under_api = _route_of(request)
    what = _message(exception)
    if _answers_json(request, match, under_api):
        return _json(404, what or str(exceptions.NotFound.default_detail))
    context = {
        "what": what or NO_PAGE,
        # As an address bar shows it: letters readable, control characters escaped.
        "path": uri_to_iri(escape_uri_path(request.path)),
        "public": match is not None and _is_named(match, PUBLIC_VIEWS),
    }
    return HttpResponseNotFound(render_to_string("404.html", context, request))


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return _json(500, str(exceptions.APIException.default_detail))
    # No request context: whatever failed (the database, the session) is not
    # asked again to draw the error page.
    return HttpResponseServerError(render_to_string("500.html"))


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return _json(400, str(exceptions.ParseError.default_detail))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        # The refusal's own words when it has them (the role it needs).
        detail = str(exception) if exception is not None and exception.args else ""
        return _json(403, detail or str(exceptions.PermissionDenied.default_detail))
    return defaults.permission_denied(request, exception)
