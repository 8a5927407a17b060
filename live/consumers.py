from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import JsonWebsocketConsumer
from django.template.loader import render_to_string

from delivery.notifications import user_group


class NotificationConsumer(JsonWebsocketConsumer):
    """Each signed-in page holds one of these; notices for its user arrive rendered."""

    def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            self.close(code=4401)
            return
        self.group = user_group(user.pk)
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The channel only talks server to client; anything sent up is answered, not acted on.
        self.send_json({"type": "error", "error": "read_only_channel"})

    def notification(self, event: dict[str, Any]) -> None:
        html = render_to_string("live/_notification.html", event)
        self.send_json({"type": "notification", "level": event["level"], "html": html})
