"""ASGI entry point: HTTP to Django, WebSocket to the OCPP consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware  # noqa: E402

from ocpp_app.routing import websocket_urlpatterns  # noqa: E402

# Pages and the API see the client's address and scheme from X-Forwarded-For
# and X-Forwarded-Proto only when a proxy of OCPP_TRUSTED_PROXIES sent them.
# Charger sockets judge those headers themselves (ocpp_app/ocpp/transport.py),
# with the same list, because the security profile depends on them.
http_app = (
    ProxyHeadersMiddleware(django_asgi_app, trusted_hosts=settings.OCPP_TRUSTED_PROXIES)
    if settings.OCPP_TRUSTED_PROXIES
    else django_asgi_app
)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
