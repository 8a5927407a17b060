"""The live room's WebSocket messages, fuzzed like every URL (tests/test_fuzz.py): every message
type with every field of every command set to hostile JSON (numbers no bigint holds, Unicode
digits, control characters, nesting thousands deep, long strings), and frames that are not
messages at all. The consumer answers each or ignores it; it never raises, and the socket
stays open."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from hypothesis import given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st

from live.routing import websocket_urlpatterns
from tests.live.factories import LiveSessionFactory
from tests.test_fuzz import FUZZ, hostile

ROUTER = URLRouter(websocket_urlpatterns)


@pytest.mark.timeout(300)
@pytest.mark.django_db(transaction=True)
def test_it_never_crashes_on_hostile_messages(
    cohort: Any, learner: Any, trainer: Any, settings: Any
) -> None:
    """Every message type of the room, and frames that are not messages at all, from the
    trainer (who may send every type) and a learner: each gets an answer and the socket stays
    open; none raises in the consumer."""
    from delivery.services import enrol_learner
    from live.consumers import CLOSE_ENDED, COMMANDS
    from live.models import LiveSession

    settings.LIVE_MESSAGES_PER_SECOND = 10_000
    settings.LIVE_MESSAGE_BURST = 10_000
    settings.LIVE_COALESCE_SECONDS = 0.01
    settings.LIVE_PRESENCE_SECONDS = 0.01
    enrol_learner(learner, cohort)
    session = LiveSessionFactory(cohort=cohort, created_by=trainer)
    # Ending the session closes every socket, by design, so a fuzzed "end" would end every
    # example after it; it is fuzzed on its own below, last.
    kinds = sorted(kind for kind in COMMANDS if kind != "end")
    field_names = sorted(
        {name for command in COMMANDS.values() for name in command.form.base_fields}
        | {"ref", "options", "question", "text"}
    )
    json_value = st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(min_value=-(2**70), max_value=2**70),
            st.floats(allow_nan=False, allow_infinity=False),
            hostile.map(lambda v: v[:3000]),
        ),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=8,
    )
    message = st.fixed_dictionaries(
        {"type": st.sampled_from(kinds)},
        optional=dict.fromkeys(field_names, json_value),
    )
    # Every field of every command at least once with a number no bigint holds.
    targeted = [
        json.dumps({"type": kind, **dict.fromkeys(command.form.base_fields, 2**64), "ref": 1})
        for kind, command in sorted(COMMANDS.items())
        if kind in kinds
    ]
    frame = st.one_of(
        st.sampled_from(targeted),
        message.map(json.dumps),
        message.map(json.dumps),
        st.sampled_from(["[" * 4000, '{"type":' * 2000, "{}", "[]", "null", '"x"', "\x00"]),
        st.text(min_size=1, max_size=100),  # the test communicator sends no empty frame
    )

    async def run(frames: list[str]) -> None:
        sockets = []
        for user in (trainer, learner):
            communicator = WebsocketCommunicator(ROUTER, f"/ws/live/{session.pk}/")
            communicator.scope["user"] = user
            connected, _ = await communicator.connect(timeout=30)
            assert connected
            assert json.loads(await communicator.receive_from(timeout=30))["type"] == "state"
            sockets.append(communicator)
        try:
            for index, text in enumerate(frames):
                communicator = sockets[index % 2]
                await communicator.send_to(text_data=text)
                # Whatever comes back, something comes back unless the message was an ack
                # or a valid command whose only answer is a broadcast; a crash closes the
                # socket, which the next send or the final sync shows.
            for communicator in sockets:
                await communicator.send_to(text_data=json.dumps({"type": "sync", "ref": "end"}))
                while True:
                    answer = json.loads(await communicator.receive_from(timeout=30))
                    if answer.get("type") == "state" or answer.get("ref") == "end":
                        break
        finally:
            for communicator in sockets:
                await communicator.disconnect()

    asyncio.run(run(targeted))

    @fuzz_settings(FUZZ, max_examples=12)
    @given(frames=st.lists(frame, min_size=1, max_size=12))
    def probe(frames: list[str]) -> None:
        asyncio.run(run(frames))

    probe()

    async def end_with_hostile_fields() -> None:
        sockets = []
        for user in (trainer, learner):
            communicator = WebsocketCommunicator(ROUTER, f"/ws/live/{session.pk}/")
            communicator.scope["user"] = user
            connected, _ = await communicator.connect(timeout=30)
            assert connected
            assert json.loads(await communicator.receive_from(timeout=30))["type"] == "state"
            sockets.append(communicator)
        hostile_end = {"type": "end", "ref": 2**64, "x": "[" * 4000, "reason": "\x00" * 50}
        # A learner may not end it: refused in words, and the room stays open.
        await sockets[1].send_to(text_data=json.dumps(hostile_end))
        while True:
            answer = json.loads(await sockets[1].receive_from(timeout=30))
            if answer.get("type") == "error":
                break
        assert await database_sync_to_async(
            LiveSession.objects.filter(pk=session.pk, ended_at__isnull=True).exists
        )()
        # The trainer may, whatever else the message carries: every socket is told and closed
        # with the ended code, which is an answer, not a crash.
        await sockets[0].send_to(text_data=json.dumps(hostile_end))
        for communicator in sockets:
            while True:
                output = await communicator.receive_output(timeout=30)
                if output["type"] == "websocket.close":
                    assert output.get("code") == CLOSE_ENDED
                    break

    asyncio.run(end_with_hostile_fields())
    assert LiveSession.objects.get(pk=session.pk).ended_at is not None
