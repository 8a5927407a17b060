"""Every change to a live session: scheduling, presence, and what happens in the room.

Each function runs in one transaction and sends its event to the room only after the commit
(live/events.py). Rule violations raise `ValidationError` with a `code` the consumer reports as
an error event (docs/live-protocol.md lists them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from delivery.models import Cohort, Module, Resource
from live import events, rendering, selectors
from live.models import (
    Attendance,
    Ballot,
    ChatMessage,
    Connection,
    LiveSession,
    Mute,
    Poll,
    PollOption,
    Presence,
    Question,
    QuestionVote,
    RaisedHand,
)

log = logging.getLogger(__name__)

CHAT_MAX_LENGTH = 500
QUESTION_MAX_LENGTH = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def grace() -> timedelta:
    """A socket that comes back within this long continues the same presence."""
    return timedelta(seconds=_setting("LIVE_RECONNECT_GRACE_SECONDS", 60))


def late_after() -> timedelta:
    return timedelta(minutes=_setting("LIVE_LATE_AFTER_MINUTES", 5))


def clean_text(text: str, *, limit: int) -> str:
    """Plain text only: control and direction-override characters go, whitespace is squeezed.
    HTML is never interpreted: templates escape it. Anything but a string (a number, a list
    from a socket that skipped the form) is refused, never turned into text."""
    if not isinstance(text, str):
        raise ValidationError("Send text.", code="invalid")
    text = _CONTROL.sub("", text).strip()
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    if not text:
        raise ValidationError("Write something first.", code="invalid")
    if len(text) > limit:
        raise ValidationError(f"At most {limit} characters.", code="invalid")
    return text


# Scheduling --------------------------------------------------------------------------------


def check_session_fields(
    cohort: Cohort,
    *,
    starts_at: datetime,
    ends_at: datetime,
    trainers: Sequence[Any],
    resources: Sequence[Resource],
    prework: Sequence[Module],
) -> None:
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "The session must end after it starts."})
    if ends_at - starts_at > timedelta(hours=12):
        raise ValidationError({"ends_at": "A session lasts at most 12 hours."})
    allowed = set(cohort.trainers.values_list("pk", flat=True))
    if not trainers or any(t.pk not in allowed for t in trainers):
        raise ValidationError({"trainers": "Choose trainers of this cohort."})
    if any(r.module.course_id != cohort.course_id for r in resources):
        raise ValidationError({"resources": "Resources must come from the cohort's course."})
    if any(m.course_id != cohort.course_id for m in prework):
        raise ValidationError({"prework": "Pre-work must come from the cohort's course."})


@transaction.atomic
def schedule_session(
    cohort: Cohort,
    *,
    by: Any,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    trainers: Sequence[Any],
    description: str = "",
    meeting_url: str = "",
    resources: Sequence[Resource] = (),
    prework: Sequence[Module] = (),
) -> LiveSession:
    """A new session of `cohort`. Raises ValidationError for times, trainers or content that do
    not belong to the cohort."""
    check_session_fields(
        cohort,
        starts_at=starts_at,
        ends_at=ends_at,
        trainers=trainers,
        resources=resources,
        prework=prework,
    )
    session = LiveSession.objects.create(
        cohort=cohort,
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        meeting_url=meeting_url,
        created_by=by,
    )
    session.trainers.set(trainers)
    session.resources.set(resources)
    session.prework.set(prework)
    return session


@transaction.atomic
def update_session(session: LiveSession, **fields: Any) -> LiveSession:
    """Change a session that has not ended (ValidationError once it has)."""
    if session.ended_at is not None:
        raise ValidationError("This session has ended; it can no longer be changed.")
    trainers = fields.pop("trainers")
    resources = fields.pop("resources", ())
    prework = fields.pop("prework", ())
    check_session_fields(
        session.cohort,
        starts_at=fields["starts_at"],
        ends_at=fields["ends_at"],
        trainers=trainers,
        resources=resources,
        prework=prework,
    )
    for name, value in fields.items():
        setattr(session, name, value)
    session.save()
    session.trainers.set(trainers)
    session.resources.set(resources)
    session.prework.set(prework)
    return session


# Presence ----------------------------------------------------------------------------------


@transaction.atomic
def join(session: LiveSession, user: Any, *, socket: str, learner: bool) -> bool:
    """Record an open socket; start (or, within the grace period, resume) the user's presence.

    Returns whether the set of people in the room changed. The attendance row is locked, so
    two tabs opening at once on two processes still make one presence.
    """
    now = timezone.now()
    attendance, created = Attendance.objects.get_or_create(
        session=session,
        user=user,
        defaults={
            "first_joined_at": now,
            "late": learner and now > session.starts_at + late_after(),
        },
    )
    if created:
        # A first join (most of a class arriving): the new row is this transaction's until it
        # commits, so nobody else holds a presence of it; another tab's insert waits on ours.
        Connection.objects.create(session=session, user=user, channel_name=socket)
        Presence.objects.create(attendance=attendance, joined_at=now)
        return True
    attendance = Attendance.objects.select_for_update().get(pk=attendance.pk)
    Connection.objects.create(session=session, user=user, channel_name=socket)
    # At most one presence is open, and it is the latest (leave closes them all).
    last = attendance.presences.order_by("-joined_at").first()
    if last is not None and last.left_at is None:
        return False
    if last is not None and last.left_at is not None and now - last.left_at <= grace():
        last.left_at = None
        last.save(update_fields=["left_at"])
    else:
        Presence.objects.create(attendance=attendance, joined_at=now)
    attendance.last_left_at = None
    attendance.save(update_fields=["last_left_at"])
    return True


@transaction.atomic
def leave(session_id: int, user: Any, *, socket: str, at: datetime | None = None) -> bool:
    """Forget a closed socket; when it was the user's last one, their presence ends (now, or
    `at` for a socket found dead). Returns whether the set of people in the room changed."""
    deleted, _ = Connection.objects.filter(channel_name=socket).delete()
    if not deleted:
        return False  # the session ended and closed everything already
    attendance = (
        Attendance.objects.select_for_update().filter(session_id=session_id, user=user).first()
    )
    if attendance is None:
        return False
    if Connection.objects.filter(session_id=session_id, user=user).exists():
        return False
    left = at or timezone.now()
    closed = attendance.presences.filter(left_at__isnull=True).update(left_at=left)
    attendance.last_left_at = left
    attendance.save(update_fields=["last_left_at"])
    return bool(closed)


def heartbeat() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "LIVE_HEARTBEAT_SECONDS", 30)))


def touch_connections(sockets: Sequence[str]) -> int:
    """The process holding these sockets is alive (one UPDATE per room per heartbeat)."""
    return Connection.objects.filter(channel_name__in=list(sockets)).update(seen_at=timezone.now())


def prune_connections(session_id: int) -> bool:
    """Sockets whose process stopped touching them (it crashed, or was restarted without
    closing them) are closed as of when they were last seen. Returns whether anyone left."""
    cutoff = timezone.now() - 3 * heartbeat()
    changed = False
    stale = Connection.objects.filter(session_id=session_id, seen_at__lt=cutoff).select_related(
        "user"
    )
    for connection in stale:
        changed |= leave(
            session_id, connection.user, socket=connection.channel_name, at=connection.seen_at
        )
    return changed


# Chat --------------------------------------------------------------------------------------


def _chat_rate_check(session: LiveSession, user: Any) -> None:
    """At most LIVE_CHAT_MESSAGES per LIVE_CHAT_WINDOW_SECONDS per user, across every tab and
    process (the counter is in the cache: Redis in services mode)."""
    limit = _setting("LIVE_CHAT_MESSAGES", 5)
    window = _setting("LIVE_CHAT_WINDOW_SECONDS", 10)
    bucket = int(timezone.now().timestamp()) // window
    key = f"live:chat-rate:{session.pk}:{user.pk}:{bucket}"
    try:
        cache.add(key, 0, timeout=window * 2)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window * 2)
            count = 1
    except redis.RedisError as exc:
        # Redis restarting must not lose the message (the socket's own token bucket still
        # limits it): the counter is a guard, the chat is what the room is for.
        log.warning("live: chat rate counter unavailable (%s); letting the message through", exc)
        return
    if count > limit:
        retry = window - int(timezone.now().timestamp()) % window
        raise ValidationError(
            "You are sending messages too quickly.",
            code="rate_limited",
            params={"retry_after": retry},
        )


@transaction.atomic
def post_chat(session: LiveSession, user: Any, text: str, *, staff: bool) -> ChatMessage:
    """A chat message from someone in the room. Learners may be muted, slowed and rate-limited;
    trainers are not."""
    text = clean_text(text, limit=CHAT_MAX_LENGTH)
    if not staff:
        if Mute.objects.filter(session=session, user=user).exists():
            raise ValidationError("The trainer has muted you in the chat.", code="muted")
        slow = LiveSession.objects.values_list("slow_mode_seconds", flat=True).get(pk=session.pk)
        if slow:
            last = (
                ChatMessage.objects.filter(session=session, author=user)
                .order_by("-created_at")
                .values_list("created_at", flat=True)
                .first()
            )
            if last is not None and timezone.now() - last < timedelta(seconds=slow):
                wait = slow - int((timezone.now() - last).total_seconds())
                raise ValidationError(
                    f"Slow mode: wait {wait} s.", code="slow_mode", params={"retry_after": wait}
                )
        _chat_rate_check(session, user)
    message = ChatMessage.objects.create(session=session, author=user, text=text)
    seq = events.next_seq(session.pk)
    fields = {"id": message.pk, "author": selectors.display_name(user)}
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("chat", seq, html=rendering.chat_message(message, staff=False), **fields),
            staff_text=events.encode(
                "chat", seq, html=rendering.chat_message(message, staff=True), **fields
            ),
        ),
    )
    return message


@transaction.atomic
def delete_chat(session: LiveSession, *, by: Any, message_id: int) -> ChatMessage:
    try:
        message = ChatMessage.objects.select_related("author").get(session=session, pk=message_id)
    except ChatMessage.DoesNotExist:
        raise ValidationError("No such message.", code="not_found") from None
    if message.deleted_at is None:
        message.deleted_at = timezone.now()
        message.deleted_by = by
        message.save(update_fields=["deleted_at", "deleted_by"])
    seq = events.next_seq(session.pk)
    html = rendering.chat_message_replaced(message, staff=False)
    events.send_on_commit(
        session.pk, events.message(events.encode("chat_deleted", seq, id=message.pk, html=html))
    )
    return message


@transaction.atomic
def set_muted(session: LiveSession, *, by: Any, user_id: int, muted: bool) -> None:
    """Mute or unmute a learner in this session's chat; their own pages are told."""
    from live.permissions import RoomRole, room_role

    user = session.cohort.enrolments.filter(learner_id=user_id).select_related("learner").first()
    if user is None or room_role(user.learner, session) != RoomRole.LEARNER:
        raise ValidationError("Only learners of this cohort can be muted.", code="not_found")
    if muted:
        Mute.objects.get_or_create(session=session, user_id=user_id, defaults={"muted_by": by})
    else:
        Mute.objects.filter(session=session, user_id=user_id).delete()
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("muted", None, muted=muted, html=rendering.mute_notice(muted)),
            user_id=user_id,
        ),
    )
    events.send_on_commit(session.pk, presence_event(session))


def presence_event(session: LiveSession) -> dict[str, Any]:
    """Who is here, for the trainers (a refresh: it takes no sequence number)."""
    text = events.encode(
        "presence",
        events.current_seq(session.pk),
        refresh=True,
        html=rendering.presence(session),
    )
    return events.message(None, staff_text=text, audience="staff")


@transaction.atomic
def set_slow_mode(session: LiveSession, *, by: Any, seconds: int) -> None:
    if not 0 <= seconds <= 600:
        raise ValidationError("Slow mode is 0 to 600 seconds.", code="invalid")
    LiveSession.objects.filter(pk=session.pk).update(slow_mode_seconds=seconds)
    session.slow_mode_seconds = seconds
    seq = events.next_seq(session.pk)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode(
                "chat_mode", seq, slow_mode_seconds=seconds, html=rendering.chat_mode(session)
            )
        ),
    )


# Questions ---------------------------------------------------------------------------------


def questions_event(session: LiveSession, seq: int, *, refresh: bool = False) -> dict[str, Any]:
    rows = selectors.questions(session)
    extra = {"refresh": True} if refresh else {}
    return events.message(
        events.encode(
            "questions", seq, html=rendering.questions(session, staff=False, rows=rows), **extra
        ),
        staff_text=events.encode(
            "questions", seq, html=rendering.questions(session, staff=True, rows=rows), **extra
        ),
    )


def my_questions_event(session: LiveSession, user_id: int) -> dict[str, Any]:
    """For one user's pages only: which questions they asked and upvoted, so each page marks
    them in the shared list (docs/live-protocol.md). Peers never learn who voted."""
    mine = selectors.my_questions(session, user_id)
    return events.message(
        events.encode(
            "my_questions",
            None,
            upvoted=mine.upvoted,
            asked=mine.asked,
            html=rendering.my_questions(mine),
        ),
        user_id=user_id,
    )


@transaction.atomic
def ask_question(session: LiveSession, user: Any, text: str, *, anonymous: bool) -> Question:
    """A question for the trainer. With `anonymous`, peers do not see who asked; the author is
    still recorded and the trainer sees them."""
    question = Question.objects.create(
        session=session,
        author=user,
        text=clean_text(text, limit=QUESTION_MAX_LENGTH),
        anonymous=anonymous,
    )
    seq = events.next_seq(session.pk)
    events.send_on_commit(session.pk, questions_event(session, seq))
    events.send_on_commit(session.pk, my_questions_event(session, user.pk))
    return question


@transaction.atomic
def upvote_question(session: LiveSession, user: Any, question_id: int) -> None:
    """One vote per learner per question. The list is re-broadcast coalesced, by the caller;
    the voter's own pages hear at once that this one is theirs (`my_questions`)."""
    question = Question.objects.filter(session=session, pk=question_id).first()
    if question is None:
        raise ValidationError("No such question.", code="not_found")
    if question.author_id == user.pk:
        raise ValidationError("You cannot upvote your own question.", code="invalid")
    try:
        with transaction.atomic():
            QuestionVote.objects.create(question=question, voter=user)
    except IntegrityError:
        raise ValidationError("You have already upvoted this.", code="already_voted") from None
    events.send_on_commit(session.pk, my_questions_event(session, user.pk))


@transaction.atomic
def answer_question(session: LiveSession, *, by: Any, question_id: int) -> None:
    updated = Question.objects.filter(
        session=session, pk=question_id, answered_at__isnull=True
    ).update(answered_at=timezone.now())
    if not updated and not Question.objects.filter(session=session, pk=question_id).exists():
        raise ValidationError("No such question.", code="not_found")
    seq = events.next_seq(session.pk)
    events.send_on_commit(session.pk, questions_event(session, seq))


# Hands -------------------------------------------------------------------------------------


def _hands_changed(session: LiveSession, *, users: Sequence[int] = ()) -> None:
    seq = events.next_seq(session.pk)
    rows = selectors.hands(session)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("hands", seq, html=rendering.hands(session, staff=False, rows=rows)),
            staff_text=events.encode(
                "hands", seq, html=rendering.hands(session, staff=True, rows=rows)
            ),
        ),
    )
    raised = {h.user_id for h in rows}
    for user_id in users:
        up = user_id in raised
        events.send_on_commit(
            session.pk,
            events.message(
                events.encode("hand", None, raised=up, html=rendering.hand_button(up)),
                user_id=user_id,
            ),
        )


@transaction.atomic
def raise_hand(session: LiveSession, user: Any) -> None:
    """Joins the back of the queue; raising an already raised hand changes nothing."""
    try:
        with transaction.atomic():
            RaisedHand.objects.create(session=session, user=user)
    except IntegrityError:
        return
    _hands_changed(session, users=[user.pk])


@transaction.atomic
def lower_hand(session: LiveSession, user: Any) -> None:
    if RaisedHand.objects.filter(session=session, user=user, lowered_at__isnull=True).update(
        lowered_at=timezone.now()
    ):
        _hands_changed(session, users=[user.pk])


@transaction.atomic
def lower_hand_for(session: LiveSession, *, by: Any, user_id: int) -> None:
    """The trainer lowers one learner's hand, wherever it is in the queue (answered out of
    turn, raised by mistake). Raises ValidationError `not_found` when that hand is not up, so
    a trainer acting on a stale queue is told rather than silently ignored."""
    if not RaisedHand.objects.filter(
        session=session, user_id=user_id, lowered_at__isnull=True
    ).update(lowered_at=timezone.now()):
        raise ValidationError("That hand is not raised.", code="not_found")
    _hands_changed(session, users=[user_id])


@transaction.atomic
def next_hand(session: LiveSession, *, by: Any) -> int | None:
    """The trainer takes the first hand in the queue (it is lowered); returns whose it was."""
    first = (
        RaisedHand.objects.select_for_update()
        .filter(session=session, lowered_at__isnull=True)
        .order_by("raised_at", "id")
        .first()
    )
    if first is None:
        return None
    first.lowered_at = timezone.now()
    first.save(update_fields=["lowered_at"])
    _hands_changed(session, users=[first.user_id])
    return first.user_id


@transaction.atomic
def clear_hands(session: LiveSession, *, by: Any) -> None:
    users = list(
        RaisedHand.objects.filter(session=session, lowered_at__isnull=True).values_list(
            "user_id", flat=True
        )
    )
    RaisedHand.objects.filter(session=session, lowered_at__isnull=True).update(
        lowered_at=timezone.now()
    )
    _hands_changed(session, users=users)


# Polls -------------------------------------------------------------------------------------


def poll_event(session: LiveSession, poll: Poll, seq: int) -> dict[str, Any]:
    """The poll panel as everyone sees it on opening or closing (nobody has voted on a new poll;
    on closing, nobody can vote any more), plus its results."""
    results = selectors.poll_results(poll)
    fields = {"poll_id": poll.pk, "open": poll.is_open}
    return events.message(
        events.encode(
            "poll",
            seq,
            html=rendering.poll_body(poll, staff=False)
            + rendering.poll_results(results, staff=False),
            **fields,
        ),
        staff_text=events.encode(
            "poll",
            seq,
            html=rendering.poll_body(poll, staff=True)
            + rendering.poll_results(results, staff=True),
            **fields,
        ),
    )


def results_event(session: LiveSession, poll_id: int) -> dict[str, Any] | None:
    """The current counts of a poll, for the coalesced broadcast (no new sequence number)."""
    poll = Poll.objects.filter(session=session, pk=poll_id).first()
    if poll is None:
        return None
    results = selectors.poll_results(poll)
    seq = events.current_seq(session.pk)
    fields = {
        "poll_id": poll.pk,
        "voters": results.voters,
        "counts": {str(o.id): o.votes for o in results.options},
        "refresh": True,
    }
    return events.message(
        events.encode(
            "poll_results", seq, html=rendering.poll_results(results, staff=False), **fields
        ),
        staff_text=events.encode(
            "poll_results", seq, html=rendering.poll_results(results, staff=True), **fields
        ),
    )


@transaction.atomic
def open_poll(
    session: LiveSession,
    *,
    by: Any,
    question: str,
    kind: str,
    options: Sequence[str],
    correct: Sequence[int] = (),
) -> Poll:
    """A new poll (an open one is closed first). `correct` holds 0-based option positions and
    is required for a quiz question."""
    if not isinstance(kind, str) or kind not in Poll.Kind.values:
        raise ValidationError("Unknown kind of poll.", code="invalid")
    if isinstance(options, str) or not all(isinstance(o, str) for o in options):
        raise ValidationError("Poll options must be text.", code="invalid")
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in correct):
        raise ValidationError("Give the correct answers as option numbers.", code="invalid")
    question = clean_text(question, limit=300)
    options = [clean_text(o, limit=200) for o in options if o.strip()]
    if not 2 <= len(options) <= 10:
        raise ValidationError("A poll has 2 to 10 options.", code="invalid")
    if any(not 0 <= c < len(options) for c in correct):
        raise ValidationError("A correct answer must be one of the options.", code="invalid")
    if kind == Poll.Kind.QUIZ and not correct:
        raise ValidationError("A quiz question needs its correct answer.", code="invalid")
    for open_one in Poll.objects.select_for_update().filter(
        session=session, closed_at__isnull=True
    ):
        close_poll(session, by=by, poll_id=open_one.pk)
    poll = Poll.objects.create(session=session, question=question, kind=kind)
    PollOption.objects.bulk_create(
        PollOption(poll=poll, position=i, text=text, correct=i in set(correct))
        for i, text in enumerate(options)
    )
    seq = events.next_seq(session.pk)
    events.send_on_commit(session.pk, poll_event(session, poll, seq))
    return poll


@transaction.atomic
def vote(session: LiveSession, user: Any, *, poll_id: int, option_ids: Sequence[int]) -> Ballot:
    """One ballot per learner per poll; the unique constraint settles two tabs voting at once.
    The results are broadcast coalesced, by the caller."""
    poll = Poll.objects.filter(session=session, pk=poll_id).first()
    if poll is None:
        raise ValidationError("No such poll.", code="not_found")
    if not poll.is_open:
        raise ValidationError("This poll is closed.", code="poll_closed")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in option_ids):
        raise ValidationError("Choose one of the options.", code="invalid")
    chosen = list(PollOption.objects.filter(poll=poll, pk__in=set(option_ids)))
    if not chosen or len(chosen) != len(set(option_ids)):
        raise ValidationError("Choose one of the options.", code="invalid")
    if poll.kind != Poll.Kind.MULTIPLE and len(chosen) > 1:
        raise ValidationError("Choose one option only.", code="invalid")
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(poll=poll, voter=user)
    except IntegrityError:
        raise ValidationError("You have already voted.", code="already_voted") from None
    ballot.options.set(chosen)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode(
                "voted",
                None,
                poll_id=poll.pk,
                html=rendering.poll_body(poll, staff=False, voted=True),
            ),
            user_id=user.pk,
        ),
    )
    return ballot


@transaction.atomic
def close_poll(session: LiveSession, *, by: Any, poll_id: int) -> Poll:
    """Closes the poll and shows its final results (and, for a quiz, the correct answer)."""
    poll = Poll.objects.select_for_update().filter(session=session, pk=poll_id).first()
    if poll is None:
        raise ValidationError("No such poll.", code="not_found")
    if poll.closed_at is None:
        poll.closed_at = timezone.now()
        poll.save(update_fields=["closed_at"])
    seq = events.next_seq(session.pk)
    events.send_on_commit(session.pk, poll_event(session, poll, seq))
    return poll


# Trainer control ---------------------------------------------------------------------------


@transaction.atomic
def push_resource(session: LiveSession, *, by: Any, resource_id: int) -> Resource:
    """Shows a resource of the cohort's course on every learner's screen."""
    resource = selectors.course_resources(session).filter(pk=resource_id).first()
    if resource is None:
        raise ValidationError("That resource is not part of this course.", code="not_found")
    session.pushed_resource = resource
    session.pushed_at = timezone.now()
    LiveSession.objects.filter(pk=session.pk).update(
        pushed_resource=resource, pushed_at=session.pushed_at
    )
    seq = events.next_seq(session.pk)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode(
                "pushed",
                seq,
                resource_id=resource.pk,
                title=resource.title,
                html=rendering.pushed(session),
            )
        ),
    )
    return resource


CLOSE_ENDED = 4410


@transaction.atomic
def end_session(session: LiveSession, *, by: Any) -> LiveSession:
    """Ends the session: every socket is told and closed, open presences end now and each
    attendance's minutes are finalised. Ending twice changes nothing."""
    session = LiveSession.objects.select_for_update().get(pk=session.pk)
    if session.ended_at is not None:
        return session
    now = timezone.now()
    session.ended_at = now
    session.save(update_fields=["ended_at"])
    Presence.objects.filter(attendance__session=session, left_at__isnull=True).update(left_at=now)
    Connection.objects.filter(session=session).delete()
    RaisedHand.objects.filter(session=session, lowered_at__isnull=True).update(lowered_at=now)
    Poll.objects.filter(session=session, closed_at__isnull=True).update(closed_at=now)
    finalise_attendance(session)
    seq = events.next_seq(session.pk)
    events.send_on_commit(
        session.pk,
        events.message(
            events.encode("ended", seq, html=rendering.ended(session)), close=CLOSE_ENDED
        ),
    )
    return session


def finalise_attendance(session: LiveSession) -> None:
    until = session.ended_at or timezone.now()
    attendances = list(Attendance.objects.filter(session=session).prefetch_related("presences"))
    for attendance in attendances:
        presences = list(attendance.presences.all())
        attendance.seconds = sum(p.seconds(until) for p in presences)
        attendance.last_left_at = max((p.left_at or until for p in presences), default=until)
    Attendance.objects.bulk_update(attendances, ["seconds", "last_left_at"])
