from __future__ import annotations

from django.urls import path

from live import consumers

websocket_urlpatterns = [
    path("ws/notifications/", consumers.NotificationConsumer.as_asgi()),
    path("ws/live/<id:session_id>/", consumers.LiveRoomConsumer.as_asgi()),
]
