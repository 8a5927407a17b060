from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from live.coalesce import coalescer
from live.hub import hub
from live.routing import websocket_urlpatterns
from live.threads import close_room_connections
from tests.helpers import EVENT_WAIT
from tests.live.factories import LiveSessionFactory

ROUTER = URLRouter(websocket_urlpatterns)


@pytest.fixture(autouse=True)
def _close_thread_connections() -> Iterator[None]:
    """Async tests reach the database through asgiref's one sync thread; its connection is
    closed after each test, or PostgreSQL refuses to drop the test database at the end."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=EVENT_WAIT)
    close_room_connections()  # the room's own threads (live/threads.py)


@pytest.fixture(autouse=True)
def _fast_live(settings: Any) -> None:
    """Coalesced broadcasts after 50 ms instead of 250, so tests wait less."""
    settings.LIVE_COALESCE_SECONDS = 0.05
    settings.LIVE_PRESENCE_SECONDS = 0.05


@pytest.fixture
def live_session(cohort: Any, trainer: Any) -> Any:
    """A session of `cohort`, running now, taught by `trainer`."""
    return LiveSessionFactory(cohort=cohort, created_by=trainer)


class Socket:
    """A WebSocket into a room, as a page holds one, read with timeouts."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.state: dict[str, Any] = {}

    async def send(self, **payload: Any) -> None:
        await self.communicator.send_json_to(payload)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = EVENT_WAIT) -> dict[str, Any]:
        return await self.communicator.receive_json_from(timeout=timeout)  # type: ignore[no-any-return]

    async def receive_type(self, kind: str, timeout: float = EVENT_WAIT) -> dict[str, Any]:
        """The next event of `kind`, skipping others (presence refreshes and the like)."""
        while True:
            message = await self.receive(timeout)
            if message["type"] == kind:
                return message

    async def nothing(self, timeout: float = 0.2) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_socket(
    user: Any, session_id: int, headers: list[Any] | None = None
) -> tuple[WebsocketCommunicator, bool, Any]:
    communicator = WebsocketCommunicator(ROUTER, f"/ws/live/{session_id}/", headers=headers or [])
    communicator.scope["user"] = user
    connected, code = await communicator.connect(timeout=EVENT_WAIT)
    return communicator, connected, code


@pytest.fixture
async def join() -> AsyncIterator[Callable[..., Any]]:
    """`await join(user, session)`: a socket in the room, its state snapshot already read."""
    opened: list[Socket] = []

    async def make(user: Any, session: Any) -> Socket:
        communicator, connected, _ = await open_socket(user, session.pk)
        assert connected
        socket = Socket(communicator)
        socket.state = await socket.receive()
        assert socket.state["type"] == "state", socket.state
        opened.append(socket)
        return socket

    yield make
    for socket in opened:
        # A socket the server already closed (or a test that failed half-way) has nothing
        # left to disconnect.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await socket.communicator.disconnect()
    await coalescer().drain()
    await hub().shutdown()


@pytest.fixture
def classmate(cohort: Any) -> Any:
    """A second learner of `cohort` (`other_learner` is in another cohort)."""
    from delivery.roles import Role
    from delivery.services import enrol_learner
    from tests.factories import UserFactory

    user = UserFactory(username="cleo", first_name="Cleo", last_name="Park", roles=[Role.LEARNER])
    enrol_learner(user, cohort)
    return user


async def refusal_code(user: Any, session_id: int, headers: list[Any] | None = None) -> int | None:
    """The close code a socket gets; None when the handshake itself was refused."""
    communicator, connected, _code = await open_socket(user, session_id, headers)
    if not connected:
        return None
    output = await communicator.receive_output(timeout=EVENT_WAIT)
    assert output["type"] == "websocket.close", output
    return output.get("code")


def marks(html: str, question_id: int) -> dict[str, bool]:
    """The states of the upvote control one question's item carries (docs/live-protocol.md,
    "Your questions"), each shown (True) or hidden (False)."""
    item = re.search(rf'<li [^>]*id="question-{question_id}".*?</li>', html, re.DOTALL)
    assert item, f"question {question_id} is not in the list"
    return {
        mark: "hidden" not in attributes
        for mark, attributes in re.findall(r'data-question-mark="(\w+)"([^>]*)>', item.group())
    }
