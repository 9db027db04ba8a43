"""WebSocket routes: reserved paths first, then every other path is a charger."""

from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.urls import path, re_path

from ocpp_app.consumers import OCPPConsumer, SinkConsumer
from ocpp_app.web.dashboard import DashboardConsumer


class SameOriginValidator:
    """Browser sockets only from pages of this very site: the Origin must name
    the host the browser connected to. AllowedHostsOriginValidator alone lets
    every web page through when ALLOWED_HOSTS is "*" (the default), so any
    site a staff member visits could open the live dashboard socket."""

    def __init__(self, application) -> None:
        self.application = application

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if not origin or not host or urlsplit(origin).netloc.lower() != host:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


# Browser-facing sockets (dashboard) are added here by the web layer, wrapped in
# AllowedHostsOriginValidator + AuthMiddlewareStack. The OCPP route must never
# be wrapped in the origin validator: chargers send no Origin header.
browser_websocket_urlpatterns: list = [
    path(
        "ws/dashboard/",
        AllowedHostsOriginValidator(SameOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi()))),
    ),
]

websocket_urlpatterns = [
    path("ws/sink/", SinkConsumer.as_asgi()),
    *browser_websocket_urlpatterns,
    re_path(r"", OCPPConsumer.as_asgi()),
]
