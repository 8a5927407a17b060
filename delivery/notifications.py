"""Push a short notice to a signed-in user's open pages, over the channel layer.

Any app may notify (it sits in the bottom layer); the `live` app's NotificationConsumer holds
each user's sockets in the group named here and renders what arrives.
"""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

_pending: set[asyncio.Task[None]] = set()


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def notify_user(user_id: int, message: str, *, level: str = "info", url: str = "") -> None:
    """Send after the current transaction commits, so nobody hears of a change that rolled back."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        group = user_group(user_id)
        event = {"type": "notification", "message": message, "level": level, "url": url}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the usual case: plain synchronous code
            async_to_sync(layer.group_send)(group, event)
        else:  # sync code called from a thread running an event loop: hand it the send
            task = loop.create_task(layer.group_send(group, event))
            _pending.add(task)  # held until done, or the loop could drop it unfinished
            task.add_done_callback(_pending.discard)

    transaction.on_commit(send)
