"""Hostile message fields over the room's socket: each refused with a clear error to the sender
alone, nothing changed. A socket sends JSON, so any field may be a number, a boolean, an object
or a nested list where text or an id belongs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError

from live import chat, events, services
from live.models import Ballot, ChatMessage, LiveSession, Mute, Poll, PollOption, Question
from tests.live.conftest import Socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def room(
    join: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None, live_session: Any
) -> tuple[Socket, Socket, Socket]:
    return (
        await join(learner, live_session),
        await join(classmate, live_session),
        await join(trainer, live_session),
    )


def room_state(session_id: int) -> dict[str, Any]:
    """Everything a message could change, to compare before and after."""
    session = LiveSession.objects.get(pk=session_id)
    return {
        "polls": list(Poll.objects.values_list("question", "kind", "closed_at")),
        "options": list(PollOption.objects.values_list("text", "correct")),
        "ballots": Ballot.objects.count(),
        "chat": list(ChatMessage.objects.values_list("text", "deleted_at")),
        "questions": list(Question.objects.values_list("text", "anonymous", "answered_at")),
        "mutes": list(Mute.objects.values_list("user_id", flat=True)),
        "slow": session.slow_mode_seconds,
        "pushed": session.pushed_resource_id,
        "ended": session.ended_at,
        "seq": session.seq,
    }


# (who sends, the message given the ids in the room, the field named in the error)
Case = tuple[str, Callable[[dict[str, int]], dict[str, Any]], str]
# fmt: off
HOSTILE: list[Case] = [
    # Poll options: numbers, objects, nested lists, a bare number or object.
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": [1, 2]}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": [{"a": 1}, {"b": 2}]}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": [["Yes"], ["No"]]}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": ["Yes", None]}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": {"Yes": 1, "No": 2}}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": 12}, "options"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "single",
                         "options": ["x" * 201, "No"]}, "options"),
    # The poll's other fields.
    ("tom", lambda ids: {"type": "poll_open", "question": 42, "kind": "single",
                         "options": ["Yes", "No"]}, "question"),
    ("tom", lambda ids: {"type": "poll_open", "question": {"text": "Q?"}, "kind": "single",
                         "options": ["Yes", "No"]}, "question"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": ["single"],
                         "options": ["Yes", "No"]}, "kind"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "quiz",
                         "options": ["Yes", "No"], "correct": 2}, "correct"),
    ("tom", lambda ids: {"type": "poll_open", "question": "Q?", "kind": "quiz",
                         "options": ["Yes", "No"], "correct": "²"}, "correct"),
    ("tom", lambda ids: {"type": "poll_open", "kind": "single", "options": ["Yes", "No"]},
     "question"),
    # Chat and questions: text only.
    ("lena", lambda ids: {"type": "chat", "text": 12345}, "text"),
    ("lena", lambda ids: {"type": "chat", "text": {"html": "<b>hi</b>"}}, "text"),
    ("lena", lambda ids: {"type": "chat", "text": ["hi"]}, "text"),
    ("lena", lambda ids: {"type": "chat", "text": True}, "text"),
    ("lena", lambda ids: {"type": "ask", "text": ["Why?"]}, "text"),
    ("lena", lambda ids: {"type": "ask", "text": "Why?", "anonymous": {"yes": 1}}, "anonymous"),
    ("lena", lambda ids: {"type": "ask", "text": "Why?", "anonymous": "no"}, "anonymous"),
    ("lena", lambda ids: {"type": "ask"}, "text"),
    # Ids: booleans, fractions, lists, out of range.
    ("lena", lambda ids: {"type": "vote", "poll_id": ids["poll"], "options": [True]}, "options"),
    ("lena", lambda ids: {"type": "vote", "poll_id": ids["poll"],
                          "options": [ids["option"] + 0.5]}, "options"),
    ("lena", lambda ids: {"type": "vote", "poll_id": ids["poll"],
                          "options": [[ids["option"]]]}, "options"),
    ("lena", lambda ids: {"type": "vote", "poll_id": [ids["poll"]],
                          "options": [ids["option"]]}, "poll_id"),
    ("lena", lambda ids: {"type": "vote", "poll_id": ids["poll"], "options": [10**30]}, "options"),
    ("lena", lambda ids: {"type": "upvote", "question_id": 10**30}, "question_id"),
    ("lena", lambda ids: {"type": "upvote", "question_id": True}, "question_id"),
    ("tom", lambda ids: {"type": "chat_delete", "message_id": {"id": 1}}, "message_id"),
    ("tom", lambda ids: {"type": "push", "resource_id": 2.5}, "resource_id"),
    ("tom", lambda ids: {"type": "answer", "question_id": "1e3"}, "question_id"),
    ("tom", lambda ids: {"type": "hand_lower_for", "user_id": None}, "user_id"),
    # Flags and counts.
    ("tom", lambda ids: {"type": "mute", "user_id": ids["lena"], "muted": "yes"}, "muted"),
    ("tom", lambda ids: {"type": "mute", "user_id": ids["lena"], "muted": [0]}, "muted"),
    ("tom", lambda ids: {"type": "slow_mode", "seconds": True}, "seconds"),
    ("tom", lambda ids: {"type": "slow_mode", "seconds": 5.5}, "seconds"),
    ("tom", lambda ids: {"type": "slow_mode", "seconds": "10**9"}, "seconds"),
    ("tom", lambda ids: {"type": "slow_mode"}, "seconds"),
]
# fmt: on


@pytest.mark.parametrize(("sender", "message", "field"), HOSTILE)
async def test_it_refuses_a_field_of_the_wrong_kind_and_changes_nothing(
    room: tuple[Socket, Socket, Socket],
    live_session: Any,
    learner: Any,
    sender: str,
    message: Callable[[dict[str, int]], dict[str, Any]],
    field: str,
) -> None:
    lena, cleo, tom = room
    await tom.send(type="poll_open", question="Ready?", kind="single", options=["Yes", "No"])
    poll_id = (await cleo.receive_type("poll"))["poll_id"]
    option = await sync_to_async(
        lambda: PollOption.objects.filter(poll_id=poll_id).values_list("pk", flat=True).first()
    )()
    ids = {"poll": poll_id, "option": option, "lena": learner.pk}
    before = await sync_to_async(room_state)(live_session.pk)

    socket = {"lena": lena, "tom": tom}[sender]
    await socket.send(ref="r1", **message(ids))
    error = await socket.receive_type("error")
    assert error["error"] == "invalid"
    assert error["ref"] == "r1"
    assert error["message"]
    assert field in error["fields"], error
    assert all(isinstance(m, str) and m for m in error["fields"][field])

    assert await sync_to_async(room_state)(live_session.pk) == before
    assert await cleo.nothing()
    # The socket still works.
    await socket.send(type="sync")
    assert (await socket.receive_type("state"))["html"]


async def test_it_echoes_only_a_short_ref(room: tuple[Socket, Socket, Socket]) -> None:
    lena, _, _ = room
    await lena.send(type="chat", text=12, ref="r" * 5000)
    assert "ref" not in await lena.receive_type("error")


async def test_the_forms_still_take_what_the_page_sends(
    room: tuple[Socket, Socket, Socket], live_session: Any
) -> None:
    """The room's forms send strings (a <select>, a number input, a textarea)."""
    lena, cleo, tom = room
    await tom.send(type="slow_mode", seconds="0")
    await tom.receive_type("chat_mode")
    await tom.send(type="poll_open", question="Q?", kind="quiz", options="A\nB", correct="2")
    poll = await cleo.receive_type("poll")
    options = await sync_to_async(
        lambda: list(PollOption.objects.filter(poll_id=poll["poll_id"]).order_by("position"))
    )()
    assert [(o.text, o.correct) for o in options] == [("A", False), ("B", True)]
    await lena.send(type="vote", poll_id=str(poll["poll_id"]), options=str(options[1].pk))
    assert (await lena.receive_type("voted"))["poll_id"] == poll["poll_id"]
    await lena.send(type="ask", text="Why?", anonymous=True)
    await lena.receive_type("questions")
    assert await sync_to_async(lambda: Question.objects.get().anonymous)()


# The services refuse the same values when called directly (not every caller is a form). --------


@pytest.mark.parametrize(
    ("options", "correct"),
    [([1, 2], ()), ([{"a": 1}, "b"], ()), ([["a"], ["b"]], ()), ("a\nb", ()), (["a", "b"], ["1"])],
)
def test_open_poll_refuses_options_that_are_not_text(
    live_session: Any, trainer: Any, options: Any, correct: Any
) -> None:
    with pytest.raises(ValidationError) as caught:
        services.open_poll(
            live_session, by=trainer, question="Q?", kind="quiz", options=options, correct=correct
        )
    assert caught.value.code == "invalid"
    assert not Poll.objects.exists()


@pytest.mark.parametrize("text", [42, ["hi"], {"text": "hi"}, None])
def test_chat_and_questions_refuse_what_is_not_text(
    live_session: Any, learner: Any, enrolled: None, text: Any
) -> None:
    with pytest.raises(ValidationError):
        services.post_chat(live_session, learner, text, staff=False)
    with pytest.raises(ValidationError):
        services.ask_question(live_session, learner, text, anonymous=False)
    assert not ChatMessage.objects.exists()
    assert not Question.objects.exists()


def test_a_vote_refuses_ids_that_are_not_whole_numbers(
    live_session: Any, trainer: Any, learner: Any, enrolled: None
) -> None:
    poll = services.open_poll(
        live_session, by=trainer, question="Q?", kind="single", options=["a", "b"]
    )
    option = poll.options.first()
    assert option is not None
    for ids in ([True], [float(option.pk)], [str(option.pk)]):
        with pytest.raises(ValidationError):
            services.vote(live_session, learner, poll_id=poll.pk, option_ids=ids)
    assert not Ballot.objects.exists()


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 4000 + "]" * 4000,
        '{"type": "chat", "text": ' + "[" * 3000 + "]" * 3000 + "}",
        '{"type": "poll_open", "options": ' + '{"a":' * 1300 + "1" + "}" * 1300 + "}",
    ],
)
async def test_it_refuses_json_nested_past_the_parsers_depth(
    room: tuple[Socket, Socket, Socket], live_session: Any, frame: str
) -> None:
    """Within the frame limit, but deep enough that the parser gives up (RecursionError)."""
    lena, cleo, _ = room
    assert len(frame) <= 8192
    before = await sync_to_async(room_state)(live_session.pk)
    await lena.send_text(frame)
    assert (await lena.receive_type("error"))["error"] == "malformed"
    assert await sync_to_async(room_state)(live_session.pk) == before
    assert await cleo.nothing()
    await lena.send(type="sync")
    assert (await lena.receive_type("state"))["html"]


def _refused() -> redis.ConnectionError:
    return redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")


class DownCache:
    """The cache while its Redis is restarting: every call fails."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise _refused()

        return fail


class DownLayer:
    """The channel layer while its Redis is restarting: every (async) call fails."""

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise _refused()

        return fail


def test_a_chat_message_is_kept_and_committed_while_redis_restarts(
    live_session: Any,
    learner: Any,
    enrolled: None,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Neither the rate counter (the cache) nor the broadcast (the channel layer) being down
    loses the message or fails its sender; the room catches up by seq once Redis is back."""
    monkeypatch.setattr(chat, "cache", DownCache())
    monkeypatch.setattr(events, "get_channel_layer", DownLayer)
    with django_capture_on_commit_callbacks(execute=True):
        message = services.post_chat(live_session, learner, "Still here?", staff=False)
    assert ChatMessage.objects.get().pk == message.pk
    live_session.refresh_from_db()
    assert live_session.seq == 1
