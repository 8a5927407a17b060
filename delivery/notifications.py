"""Push a short notice to a signed-in user's open pages, over the channel layer.

Any app may notify (it sits in the bottom layer); the `live` app's NotificationConsumer holds
each user's sockets in the group named here and renders what arrives.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def notify_user(user_id: int, message: str, *, level: str = "info", url: str = "") -> None:
    """Send after the current transaction commits, so nobody hears of a change that rolled back."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(
            user_group(user_id),
            {"type": "notification", "message": message, "level": level, "url": url},
        )

    transaction.on_commit(send)
