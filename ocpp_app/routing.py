"""WebSocket routes: reserved paths first, then every other path is a charger."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path, re_path

from .consumers import OCPPConsumer, SinkConsumer
from .dashboard import DashboardConsumer

# Browser-facing sockets (dashboard) are added here by the web layer, wrapped in
# AllowedHostsOriginValidator + AuthMiddlewareStack. The OCPP route must never
# be wrapped in the origin validator: chargers send no Origin header.
browser_websocket_urlpatterns: list = [
    path("ws/dashboard/", AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi()))),
]

websocket_urlpatterns = [
    path("ws/sink/", SinkConsumer.as_asgi()),
    *browser_websocket_urlpatterns,
    re_path(r"", OCPPConsumer.as_asgi()),
]
