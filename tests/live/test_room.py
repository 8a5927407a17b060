"""The room over WebSockets: chat, questions, hands, polls, trainer control, bad input."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from delivery.roles import Role
from delivery.services import enrol_learner
from live.models import (
    Ballot,
    ChatMessage,
    LiveSession,
    Mute,
    PollOption,
    Question,
    RaisedHand,
)
from tests.factories import ResourceFactory, UserFactory
from tests.helpers import EVENT_WAIT
from tests.live.conftest import Socket, marks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def room(
    join: Any, learner: Any, classmate: Any, trainer: Any, enrolled: None, live_session: Any
) -> tuple[Socket, Socket, Socket]:
    """Lena, Cleo and their trainer in the room."""
    return (
        await join(learner, live_session),
        await join(classmate, live_session),
        await join(trainer, live_session),
    )


# Chat --------------------------------------------------------------------------------------


async def test_a_chat_message_reaches_everyone_with_the_next_sequence_number(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, cleo, tom = room
    await lena.send(type="chat", text="Hello <b>all</b>")
    for socket in (lena, cleo, tom):
        event = await socket.receive_type("chat")
        assert event["seq"] == 1
        assert event["author"] == "Lena Nguyen"
        assert "Hello &lt;b&gt;all&lt;/b&gt;" in event["html"]
        assert "<b>" not in event["html"]
    assert "chat_delete" in event["html"]  # the trainer's copy has the moderation buttons


async def test_learners_do_not_get_moderation_buttons(room: tuple[Socket, Socket, Socket]) -> None:
    lena, cleo, _ = room
    await lena.send(type="chat", text="hi")
    assert "chat_delete" not in (await cleo.receive_type("chat"))["html"]


async def test_chat_flooding_is_refused_and_the_room_carries_on(
    room: tuple[Socket, Socket, Socket], settings: Any
) -> None:
    settings.LIVE_CHAT_MESSAGES = 3
    lena, cleo, tom = room
    for n in range(4):
        await lena.send(type="chat", text=f"spam {n}")
    errors = []
    chats = 0
    for _ in range(4):
        event = await lena.receive()
        while event["type"] == "presence":
            event = await lena.receive()
        if event["type"] == "error":
            errors.append(event)
        else:
            chats += 1
    assert chats == 3
    assert [e["error"] for e in errors] == ["rate_limited"]
    assert errors[0]["retry_after"] > 0
    await tom.send(type="chat", text="Let's move on")
    authors = [(await cleo.receive_type("chat"))["author"] for _ in range(4)]
    assert authors == ["Lena Nguyen"] * 3 + ["Tom Riley"]
    assert await sync_to_async(ChatMessage.objects.count)() == 4


async def test_a_trainer_deletes_a_message_and_mutes_its_author(
    room: tuple[Socket, Socket, Socket], learner: Any
) -> None:
    lena, cleo, tom = room
    await lena.send(type="chat", text="something rude")
    message = await tom.receive_type("chat")
    await tom.send(type="chat_delete", message_id=message["id"])
    deleted = await cleo.receive_type("chat_deleted")
    assert deleted["id"] == message["id"]
    assert "something rude" not in deleted["html"]
    assert "removed" in deleted["html"]

    await tom.send(type="mute", user_id=learner.pk, muted=True)
    notice = await lena.receive_type("muted")
    assert notice["muted"] is True
    await lena.send(type="chat", text="again")
    assert (await lena.receive_type("error"))["error"] == "muted"
    assert await sync_to_async(Mute.objects.filter(user=learner).exists)()
    assert await sync_to_async(ChatMessage.objects.filter(text="again").exists)() is False
    presence = await tom.receive_type("presence")
    while "Unmute" not in presence["html"]:
        presence = await tom.receive_type("presence")
    assert f'"user_id": {learner.pk}, "muted": false' in presence["html"]

    await tom.send(type="mute", user_id=learner.pk, muted=False)
    assert (await lena.receive_type("muted"))["muted"] is False
    await lena.send(type="chat", text="thank you")
    assert (await cleo.receive_type("chat"))["id"] != message["id"]


async def test_slow_mode_spaces_out_a_learners_messages(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, _, tom = room
    await tom.send(type="slow_mode", seconds=30)
    mode = await lena.receive_type("chat_mode")
    assert mode["slow_mode_seconds"] == 30
    assert "one message every 30 seconds" in mode["html"]
    await lena.send(type="chat", text="first")
    await lena.receive_type("chat")
    await lena.send(type="chat", text="second")
    error = await lena.receive_type("error")
    assert error["error"] == "slow_mode"
    assert 0 < error["retry_after"] <= 30


# Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("{not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"no": "type"}', "malformed"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "chat"}', "invalid"),
        ('{"type": "chat", "text": "' + "x" * 9000 + '"}', "too_large"),
    ],
)
async def test_bad_frames_get_an_error_event_and_the_room_carries_on(
    room: tuple[Socket, Socket, Socket], frame: str, error: str
) -> None:
    lena, cleo, _ = room
    await lena.send_text(frame)
    assert (await lena.receive_type("error"))["error"] == error
    await lena.send(type="chat", text="still here")
    assert (await cleo.receive_type("chat"))["author"] == "Lena Nguyen"


async def test_a_learner_cannot_send_a_trainer_command(
    room: tuple[Socket, Socket, Socket], live_session: Any
) -> None:
    lena, cleo, _ = room
    for command in ({"type": "end"}, {"type": "poll_open", "question": "q", "kind": "single"}):
        await lena.send(ref="r1", **command)
        error = await lena.receive_type("error")
        assert error == {
            "type": "error",
            "error": "forbidden",
            "message": "Only the trainer can do that.",
            "ref": "r1",
        }
    await live_session.arefresh_from_db()
    assert live_session.ended_at is None
    assert await cleo.nothing()


# Questions ---------------------------------------------------------------------------------


async def test_an_anonymous_question_hides_the_name_from_peers_only(
    room: tuple[Socket, Socket, Socket], learner: Any
) -> None:
    lena, cleo, tom = room
    await lena.send(type="ask", text="Why twenty seconds?", anonymous=True)
    peers = await cleo.receive_type("questions")
    assert "Why twenty seconds?" in peers["html"]
    assert "Lena" not in peers["html"]
    assert "Anonymous" in peers["html"]
    staff = await tom.receive_type("questions")
    assert "Lena Nguyen (anonymous to peers)" in staff["html"]
    question = await sync_to_async(Question.objects.get)()
    assert question.author_id == learner.pk  # always on the record


async def test_upvotes_sort_questions_and_count_once(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, cleo, tom = room
    await lena.send(type="ask", text="First question")
    await lena.receive_type("questions")
    await lena.send(type="ask", text="Second question")
    await cleo.receive_type("questions")
    await cleo.receive_type("questions")
    second = await sync_to_async(Question.objects.get)(text="Second question")
    await tom.receive_type("questions")
    await tom.receive_type("questions")
    await cleo.send(type="upvote", question_id=second.pk)
    refresh = await tom.receive_type("questions")
    assert refresh["refresh"] is True
    html = refresh["html"]
    assert html.index("Second question") < html.index("First question")
    await cleo.send(type="upvote", question_id=second.pk)
    assert (await cleo.receive_type("error"))["error"] == "already_voted"
    await lena.send(type="upvote", question_id=second.pk)
    assert (await lena.receive_type("error"))["error"] == "invalid"  # her own question

    await tom.send(type="answer", question_id=second.pk)
    answered = await lena.receive_type("questions")
    assert "refresh" not in answered
    assert "Answered" in answered["html"]


def upvote_button(question_id: int) -> str:
    return f'"type": "upvote", "question_id": {question_id}'


async def test_an_upvote_is_marked_for_the_voter_alone_and_survives_a_reconnect(
    join: Any,
    room: tuple[Socket, Socket, Socket],
    cohort: Any,
    classmate: Any,
    live_session: Any,
) -> None:
    lena, cleo, _ = room
    dan = await sync_to_async(UserFactory)(
        username="dan", first_name="Dan", last_name="Amos", roles=[Role.LEARNER]
    )
    await sync_to_async(enrol_learner)(dan, cohort)
    dans = await join(dan, live_session)
    await lena.send(type="ask", text="Why twenty seconds?")
    question_id = (await lena.receive_type("my_questions"))["asked"][0]
    for socket in (cleo, dans):
        await socket.receive_type("questions")

    await cleo.send(type="upvote", question_id=question_id)
    mine = await cleo.receive_type("my_questions")
    assert mine["upvoted"] == [question_id]
    assert mine["asked"] == []
    assert f'data-upvoted="{question_id}"' in mine["html"]
    # The refresh is one fragment for every learner: it says nothing about who voted, and
    # only Cleo's page (from her `my_questions`) shows her vote.
    shared = (await cleo.receive_type("questions"))["html"]
    assert (await dans.receive_type("questions"))["html"] == shared
    assert marks(shared, question_id) == {"open": True, "upvoted": False, "asked": False}
    assert await dans.nothing()

    cleo_again = await join(classmate, live_session)
    assert marks(cleo_again.state["html"], question_id) == {"upvoted": True}
    upvoted = re.search(r'<button [^>]*aria-pressed="true"[^>]*>Upvoted<', cleo_again.state["html"])
    assert upvoted
    assert " disabled" in upvoted.group()
    assert upvote_button(question_id) not in cleo_again.state["html"]
    assert f'data-upvoted="{question_id}"' in cleo_again.state["html"]
    dan_again = await join(dan, live_session)
    assert marks(dan_again.state["html"], question_id) == {"open": True, "upvoted": False}
    assert upvote_button(question_id) in dan_again.state["html"]
    assert 'data-upvoted=""' in dan_again.state["html"]


async def test_your_own_question_never_offers_an_upvote(
    join: Any, room: tuple[Socket, Socket, Socket], learner: Any, live_session: Any
) -> None:
    lena, cleo, _ = room
    await lena.send(type="ask", text="Is alcohol rub enough?", anonymous=True)
    broadcast = await lena.receive_type("questions")
    mine = await lena.receive_type("my_questions")
    question_id = mine["asked"][0]
    assert f'data-asked="{question_id}"' in mine["html"]
    # The shared list holds "Your question" for every learner, hidden; Lena's page shows it.
    assert marks(broadcast["html"], question_id)["asked"] is False
    assert (await cleo.receive_type("questions"))["html"] == broadcast["html"]
    assert await cleo.nothing()  # Cleo hears the question, never whose it is
    lena_again = await join(learner, live_session)
    assert marks(lena_again.state["html"], question_id) == {"asked": True}
    assert upvote_button(question_id) not in lena_again.state["html"]
    assert "Your question" in lena_again.state["html"]


# Hands -------------------------------------------------------------------------------------


async def test_the_trainer_works_through_the_queue_of_hands(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, cleo, tom = room
    await cleo.send(type="hand_raise")
    assert (await cleo.receive_type("hand"))["raised"] is True
    await lena.send(type="hand_raise")
    assert (await lena.receive_type("hand"))["raised"] is True
    queue = await tom.receive_type("hands")
    queue = await tom.receive_type("hands")
    assert queue["html"].index("Cleo Park") < queue["html"].index("Lena Nguyen")
    await tom.send(type="hand_next")
    assert (await cleo.receive_type("hand"))["raised"] is False
    after = await tom.receive_type("hands")
    assert "Cleo Park" not in after["html"]
    assert "Lena Nguyen" in after["html"]
    await tom.send(type="hand_clear")
    assert (await lena.receive_type("hand"))["raised"] is False
    assert "No hands raised" in (await tom.receive_type("hands"))["html"]


async def test_the_trainer_lowers_one_learners_hand(
    join: Any,
    room: tuple[Socket, Socket, Socket],
    learner: Any,
    classmate: Any,
    live_session: Any,
) -> None:
    lena, cleo, tom = room
    lena_tab = await join(learner, live_session)
    await lena.send(type="hand_raise")
    for socket in (lena, lena_tab):
        assert (await socket.receive_type("hand"))["raised"] is True
    await cleo.receive_type("hands")
    await cleo.send(type="hand_raise")
    learners_queue = (await cleo.receive_type("hands"))["html"]
    assert "Lena Nguyen" in learners_queue
    assert "hand_lower_for" not in learners_queue  # the Lower buttons are the trainer's
    assert (await cleo.receive_type("hand"))["raised"] is True
    await tom.receive_type("hands")
    queue = (await tom.receive_type("hands"))["html"]
    assert f'"type": "hand_lower_for", "user_id": {learner.pk}' in queue
    assert f'"type": "hand_lower_for", "user_id": {classmate.pk}' in queue

    await tom.send(type="hand_lower_for", user_id=learner.pk)
    for socket in (lena, lena_tab):  # every tab of hers
        hand = await socket.receive_type("hand")
        assert hand["raised"] is False
        assert "Raise hand" in hand["html"]
    after = await tom.receive_type("hands")
    assert "Lena Nguyen" not in after["html"]
    assert "Cleo Park" in after["html"]
    assert "Lena Nguyen" not in (await cleo.receive_type("hands"))["html"]
    assert await cleo.nothing()  # her own hand stays up
    raised = await sync_to_async(
        lambda: set(
            RaisedHand.objects.filter(lowered_at__isnull=True).values_list("user_id", flat=True)
        )
    )()
    assert raised == {classmate.pk}


async def test_a_learner_cannot_lower_someone_elses_hand(
    room: tuple[Socket, Socket, Socket], classmate: Any, live_session: Any
) -> None:
    lena, cleo, tom = room
    await cleo.send(type="hand_raise")
    await cleo.receive_type("hand")
    await tom.receive_type("hands")
    await lena.receive_type("hands")
    await lena.send(type="hand_lower_for", user_id=classmate.pk, ref=7)
    assert await lena.receive_type("error") == {
        "type": "error",
        "error": "forbidden",
        "message": "Only the trainer can do that.",
        "ref": 7,
    }
    assert await cleo.nothing()
    assert await sync_to_async(
        RaisedHand.objects.filter(user=classmate, lowered_at__isnull=True).exists
    )()
    await live_session.arefresh_from_db()
    assert live_session.seq == 1  # only the raise


async def test_lowering_a_hand_that_is_not_raised_is_refused(
    room: tuple[Socket, Socket, Socket], learner: Any, live_session: Any
) -> None:
    lena, _, tom = room
    await tom.send(type="hand_lower_for", user_id=learner.pk, ref="lower-lena")
    assert await tom.receive_type("error") == {
        "type": "error",
        "error": "not_found",
        "message": "That hand is not raised.",
        "ref": "lower-lena",
    }
    await lena.send(type="hand_raise")
    await lena.receive_type("hand")
    await tom.send(type="hand_lower_for", user_id=learner.pk)
    assert (await lena.receive_type("hand"))["raised"] is False
    await tom.send(type="hand_lower_for", user_id=learner.pk)  # already lowered
    assert (await tom.receive_type("error"))["error"] == "not_found"
    assert await lena.nothing()
    await live_session.arefresh_from_db()
    assert live_session.seq == 2  # the raise and the one lowering


# Polls -------------------------------------------------------------------------------------


async def option_ids(poll_id: int) -> list[int]:
    return await sync_to_async(
        lambda: list(
            PollOption.objects.filter(poll_id=poll_id)
            .order_by("position")
            .values_list("pk", flat=True)
        )
    )()


async def open_poll(tom: Socket, **fields: Any) -> dict[str, Any]:
    await tom.send(type="poll_open", **fields)
    return await tom.receive_type("poll")


async def test_a_poll_takes_one_vote_per_learner_and_coalesces_results(
    room: tuple[Socket, Socket, Socket], live_session: Any
) -> None:
    lena, cleo, tom = room
    poll = await open_poll(tom, question="Best glove?", kind="single", options="Nitrile\nLatex")
    event = await lena.receive_type("poll")
    assert event["open"] is True
    assert "Best glove?" in event["html"]
    options = await option_ids(poll["poll_id"])
    await lena.send(type="vote", poll_id=poll["poll_id"], options=options[0])
    await cleo.send(type="vote", poll_id=poll["poll_id"], options=[options[0]])
    assert (await lena.receive_type("voted"))["poll_id"] == poll["poll_id"]
    await lena.send(type="vote", poll_id=poll["poll_id"], options=[options[1]])
    assert (await lena.receive_type("error"))["error"] == "already_voted"

    # Two votes, one (or at most two) result broadcasts, with the final counts.
    results = [await tom.receive_type("poll_results")]
    await asyncio.sleep(0.2)
    while not await tom.nothing(0.05):
        extra = await tom.receive()
        if extra["type"] == "poll_results":
            results.append(extra)
    assert len(results) <= 2
    assert results[-1]["voters"] == 2
    assert results[-1]["counts"] == {str(options[0]): 2, str(options[1]): 0}

    await tom.send(type="poll_close", poll_id=poll["poll_id"])
    assert (await cleo.receive_type("poll"))["open"] is True
    closed = await cleo.receive_type("poll")
    assert closed["open"] is False
    await cleo.send(type="vote", poll_id=poll["poll_id"], options=[options[1]])
    assert (await cleo.receive_type("error"))["error"] == "poll_closed"
    assert await sync_to_async(Ballot.objects.count)() == 2


async def test_a_quiz_reveals_its_answer_only_when_closed(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, _, tom = room
    poll = await open_poll(
        tom, question="How long to wash?", kind="quiz", options=["5 s", "20 s"], correct="2"
    )
    opened = await lena.receive_type("poll")
    assert "correct answer" not in opened["html"]
    await tom.send(type="poll_close", poll_id=poll["poll_id"])
    closed = await lena.receive_type("poll")
    assert "20 s <strong>(correct answer)</strong>" in closed["html"]


async def test_a_quiz_without_its_answer_is_refused(room: tuple[Socket, Socket, Socket]) -> None:
    _, _, tom = room
    await tom.send(type="poll_open", question="Q?", kind="quiz", options="a\nb")
    assert (await tom.receive_type("error"))["error"] == "invalid"


# Trainer control ---------------------------------------------------------------------------


async def test_a_pushed_resource_appears_on_every_learners_screen(
    room: tuple[Socket, Socket, Socket], live_session: Any
) -> None:
    lena, cleo, tom = room
    resource = await sync_to_async(ResourceFactory)(
        module__course=live_session.cohort.course, title="Hand hygiene poster"
    )
    await tom.send(type="push", resource_id=resource.pk)
    for socket in (lena, cleo):
        event = await socket.receive_type("pushed")
        assert event["title"] == "Hand hygiene poster"
        assert f"/learn/resources/{resource.pk}/" in event["html"]


async def test_a_resource_of_another_course_cannot_be_pushed(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, _, tom = room
    foreign = await sync_to_async(ResourceFactory)()
    await tom.send(type="push", resource_id=foreign.pk)
    assert (await tom.receive_type("error"))["error"] == "not_found"
    assert await lena.nothing()


async def test_ending_the_session_closes_every_socket(
    room: tuple[Socket, Socket, Socket], live_session: Any
) -> None:
    lena, cleo, tom = room
    await tom.send(type="end")
    for socket in (lena, cleo, tom):
        ended = await socket.receive_type("ended")
        assert "This session has ended" in ended["html"]
        closed = await socket.communicator.receive_output(timeout=EVENT_WAIT)
        assert closed == {"type": "websocket.close", "code": 4410}
    session = await sync_to_async(LiveSession.objects.get)(pk=live_session.pk)
    assert session.ended_at is not None


# Catch-up and slow readers -----------------------------------------------------------------


async def test_a_sync_request_returns_the_current_state(
    room: tuple[Socket, Socket, Socket],
) -> None:
    lena, cleo, _ = room
    await lena.send(type="chat", text="before the gap")
    await cleo.receive_type("chat")
    await cleo.send(type="sync")
    state = await cleo.receive_type("state")
    assert state["seq"] == 1
    assert "before the gap" in state["html"]


async def test_a_reconnecting_page_catches_up(
    join: Any, room: tuple[Socket, Socket, Socket], classmate: Any, live_session: Any
) -> None:
    lena, cleo, tom = room
    await cleo.close()
    await lena.send(type="chat", text="said while Cleo was away")
    await lena.send(type="ask", text="Asked while away")
    await tom.receive_type("questions")
    back = await join(classmate, live_session)
    assert back.state["seq"] == 2
    assert "said while Cleo was away" in back.state["html"]
    assert "Asked while away" in back.state["html"]


async def test_a_reader_that_stops_acknowledging_is_cut_off_and_the_room_carries_on(
    room: tuple[Socket, Socket, Socket], settings: Any
) -> None:
    settings.LIVE_MAX_UNACKED = 5  # the trainer's page also hears a few "who is here" updates
    lena, cleo, tom = room
    for n in range(7):
        await tom.send(type="chat", text=f"point {n}")
        for reader in (lena, tom):  # these two read and acknowledge; Cleo has stalled
            event = await reader.receive_type("chat")
            await reader.send(type="ack", seq=event["seq"])
    received = []
    closed = None
    while closed is None:
        output = await cleo.communicator.receive_output(timeout=EVENT_WAIT)
        if output["type"] == "websocket.close":
            closed = output["code"]
        else:
            received.append(json.loads(output["text"]))
    assert closed == 4408
    assert len([e for e in received if e["type"] == "chat"]) == 5
    await tom.send(type="chat", text="after the slow reader left")
    assert (await lena.receive_type("chat"))["seq"] == 8


async def test_when_the_channel_layer_fails_every_socket_gets_the_state_again(
    room: tuple[Socket, Socket, Socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.layers import get_channel_layer

    lena, cleo, tom = room
    layer = get_channel_layer()
    original = type(layer).receive
    failures = [ConnectionError("Redis restarted")]

    async def flaky(self: Any, channel: str) -> Any:
        if failures:
            raise failures.pop()
        return await original(self, channel)

    monkeypatch.setattr(type(layer), "receive", flaky)
    await tom.send(type="chat", text="just before the restart")
    for socket in (lena, cleo, tom):
        # After the failure every socket gets the whole room again; the chat reaches it
        # either inside that state or as an event after it, never lost.
        seen_chat = False
        message = await socket.receive()
        while message["type"] != "state":
            seen_chat |= message["type"] == "chat" and message["seq"] == 1
            message = await socket.receive()
        if "just before the restart" not in message["html"]:
            assert message["seq"] == 0
            seen_chat = (await socket.receive_type("chat"))["seq"] == 1
        assert seen_chat or "just before the restart" in message["html"]
    await tom.send(type="chat", text="and after it")
    # The first chat's own event may still arrive after the state that already held it; the
    # client drops an event whose seq it has (docs/live-protocol.md), and so does this test.
    chat = await lena.receive_type("chat")
    while chat["seq"] <= 1:
        chat = await lena.receive_type("chat")
    assert chat["seq"] == 2


async def test_a_redis_restart_that_no_read_saw_is_noticed_by_its_run_id(
    join: Any,
    learner: Any,
    classmate: Any,
    enrolled: None,
    live_session: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    """A listener whose connection was replaced between two reads never fails, yet the new
    Redis has forgotten the room's group: the new run id makes every socket resync."""
    from live import hub as hub_module

    settings.LIVE_LAYER_CHECK_SECONDS = 0.05
    runs = ["first start"]

    async def run_id(layer: Any) -> str:
        return runs[-1]

    monkeypatch.setattr(hub_module, "server_run_id", run_id)
    lena = await join(learner, live_session)
    cleo = await join(classmate, live_session)
    assert await lena.nothing()  # the same run: no resync
    assert await cleo.nothing()

    runs.append("second start")
    for socket in (lena, cleo):
        state = await socket.receive_type("state")
        assert state["seq"] == 0
    assert await lena.nothing()  # once per restart, not at every look


async def test_an_event_lost_on_its_way_makes_the_room_resync(
    join: Any,
    learner: Any,
    classmate: Any,
    enrolled: None,
    live_session: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    """A send that failed after the commit (a sender's connection to a restarted Redis was
    stale) reaches no socket, and with no later event no page sees a gap: the hub notices the
    seq it never heard and sends every socket the room again, once."""
    from live import events
    from live import hub as hub_module

    settings.LIVE_LAYER_CHECK_SECONDS = 0.05
    settings.LIVE_MISSED_EVENT_SECONDS = 0.3

    async def run_id(layer: Any) -> str:
        return "one start"  # a server to watch, as Redis is

    monkeypatch.setattr(hub_module, "server_run_id", run_id)
    lena = await join(learner, live_session)
    cleo = await join(classmate, live_session)
    await lena.send(type="chat", text="heard by everyone")
    for socket in (lena, cleo):
        assert (await socket.receive_type("chat"))["seq"] == 1
    assert await lena.nothing(timeout=1)  # heard: no resync

    sent = events.send_now
    lost: list[int] = []

    def lose_the_first(session_id: int, message: dict[str, Any]) -> None:
        if not lost:
            lost.append(message["seq"])
            return
        sent(session_id, message)

    monkeypatch.setattr(events, "send_now", lose_the_first)
    await cleo.send(type="chat", text="lost on its way")
    for socket in (lena, cleo):
        state = await socket.receive_type("state")
        assert state["seq"] == 2
        assert "lost on its way" in state["html"]
    assert lost == [2]
    assert await lena.nothing(timeout=1)  # once per loss, not at every look
    assert await cleo.nothing(timeout=0.2)
