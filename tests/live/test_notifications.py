from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser

from config.asgi import application
from live.consumers import NotificationConsumer
from tests.helpers import EVENT_WAIT, notify_from_thread


@pytest.mark.django_db(transaction=True)
async def test_it_delivers_a_notice_to_the_users_open_page(learner: Any) -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = learner
    connected, _ = await communicator.connect(timeout=EVENT_WAIT)
    assert connected

    await sync_to_async(notify_from_thread)(learner.pk, "Your credential is ready", level="success")
    message = await communicator.receive_json_from(timeout=EVENT_WAIT)
    assert message["type"] == "notification"
    assert message["level"] == "success"
    assert "Your credential is ready" in message["html"]
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_it_does_not_deliver_to_another_user(learner: Any, other_learner: Any) -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = other_learner
    await communicator.connect(timeout=EVENT_WAIT)
    await sync_to_async(notify_from_thread)(learner.pk, "For Lena only")
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


@pytest.mark.django_db  # the sync consumer's disconnect handler runs through the DB wrapper
async def test_it_refuses_an_anonymous_socket() -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = AnonymousUser()
    connected, code = await communicator.connect(timeout=EVENT_WAIT)
    assert not connected
    assert code == 4401
    # The consumer runs until the socket's disconnect reaches it; end it here, not by having
    # the test loop cancel it in the middle of a channel-layer receive.
    await communicator.disconnect()


async def test_the_asgi_app_refuses_a_foreign_origin() -> None:
    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect(timeout=EVENT_WAIT)
    assert not connected


@pytest.mark.django_db(transaction=True)
async def test_it_answers_but_ignores_messages_from_the_page(learner: Any) -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = learner
    await communicator.connect(timeout=EVENT_WAIT)
    await communicator.send_json_to({"type": "notification", "message": "spoof"})
    assert await communicator.receive_json_from(timeout=EVENT_WAIT) == {
        "type": "error",
        "error": "read_only_channel",
    }
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "frame",
    [{"text_data": "not json"}, {"text_data": '{"type": "x"}'}, {"bytes_data": b"\x00\xff"}],
)
async def test_anything_sent_up_is_answered_and_the_page_still_hears(
    learner: Any, frame: dict[str, Any]
) -> None:
    communicator = WebsocketCommunicator(NotificationConsumer.as_asgi(), "/ws/notifications/")
    communicator.scope["user"] = learner
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_to(**frame)
    assert await communicator.receive_json_from(timeout=10) == {
        "type": "error",
        "error": "read_only_channel",
    }
    await sync_to_async(notify_from_thread)(learner.pk, "Still here")
    assert "Still here" in (await communicator.receive_json_from(timeout=10))["html"]
    await communicator.disconnect()
