"""ASGI entry point: HTTP through Django, WebSockets through the `live` routes.

Served by daphne (`daphne config.asgi:application`).
"""

from __future__ import annotations

import os

from config.env import exit_on_env_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

with exit_on_env_error():
    from django.core.asgi import get_asgi_application

    # Django must be set up before anything imports models (consumers, auth middleware).
    django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from live.auth import RoomAuthMiddlewareStack
from live.routing import websocket_urlpatterns

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            RoomAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
