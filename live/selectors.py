"""Reads shared by the room (snapshot and events), the pages and the attendance export.

Each runs a fixed number of queries whatever the size of the cohort or the room.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from delivery.models import Enrolment, Module, Resource, ResourceProgress
from delivery.selectors import GridModule, prework_check
from live.models import (
    OVERRUN,
    Attendance,
    ChatMessage,
    LiveSession,
    Mute,
    Poll,
    PollOption,
    Presence,
    Question,
    QuestionVote,
    RaisedHand,
)

CHAT_BACKLOG = 50
QUESTIONS_SHOWN = 100


def display_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


# The room ----------------------------------------------------------------------------------


def recent_chat(session: LiveSession, *, limit: int = CHAT_BACKLOG) -> list[ChatMessage]:
    newest = list(
        ChatMessage.objects.filter(session=session)
        .select_related("author")
        .order_by("-created_at", "-id")[:limit]
    )
    return newest[::-1]


@dataclass(frozen=True)
class QuestionRow:
    id: int
    text: str
    author_id: int
    author: str
    anonymous: bool
    votes: int
    answered: bool


def questions(session: LiveSession) -> list[QuestionRow]:
    """Open questions by votes (then oldest first), answered ones after them."""
    rows = (
        Question.objects.filter(session=session)
        .select_related("author")
        .annotate(vote_count=Count("votes"))
    )
    # Sorting in Python keeps the query portable; a room holds at most a few hundred.
    items = [
        QuestionRow(
            q.id,
            q.text,
            q.author_id,
            display_name(q.author),
            q.anonymous,
            q.vote_count,
            q.answered_at is not None,
        )
        for q in rows
    ]
    items.sort(key=lambda r: (r.answered, -r.votes, r.id))
    return items[:QUESTIONS_SHOWN]


@dataclass(frozen=True)
class MyQuestions:
    """What one viewer's question list marks for them alone: the questions they upvoted and
    the ones they asked. Never part of a broadcast, so votes and anonymous authors stay
    private to that viewer (docs/live-protocol.md, `my_questions`)."""

    upvoted: tuple[int, ...] = ()
    asked: tuple[int, ...] = ()


def my_questions(session: LiveSession, user: Any) -> MyQuestions:
    """Ids in ascending order, so each page's copy (and the protocol's lists) read the same."""
    return MyQuestions(
        upvoted=tuple(
            QuestionVote.objects.filter(question__session=session, voter=user)
            .order_by("question_id")
            .values_list("question_id", flat=True)
        ),
        asked=tuple(
            Question.objects.filter(session=session, author=user)
            .order_by("id")
            .values_list("id", flat=True)
        ),
    )


def hands(session: LiveSession) -> list[RaisedHand]:
    return list(
        RaisedHand.objects.filter(session=session, lowered_at__isnull=True)
        .select_related("user")
        .order_by("raised_at", "id")
    )


def current_poll(session: LiveSession) -> Poll | None:
    """The open poll, or else the last one closed (its results stay on screen)."""
    return (
        Poll.objects.filter(session=session)
        .prefetch_related(Prefetch("options", queryset=PollOption.objects.order_by("position")))
        .order_by(F("closed_at").asc(nulls_first=True), "-created_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class OptionResult:
    id: int
    text: str
    votes: int
    percent: int
    correct: bool


@dataclass(frozen=True)
class PollResults:
    poll: Poll
    voters: int
    options: list[OptionResult]

    @property
    def reveal(self) -> bool:
        return self.poll.kind == Poll.Kind.QUIZ and not self.poll.is_open


def poll_results(poll: Poll) -> PollResults:
    options = list(
        PollOption.objects.filter(poll=poll).annotate(votes=Count("ballots")).order_by("position")
    )
    voters = poll.ballots.count()
    return PollResults(
        poll,
        voters,
        [
            OptionResult(
                o.id,
                o.text,
                o.votes,
                round(100 * o.votes / voters) if voters else 0,
                o.correct,
            )
            for o in options
        ],
    )


def has_voted(poll: Poll, user: Any) -> bool:
    return poll.ballots.filter(voter=user).exists()


def is_muted(session: LiveSession, user: Any) -> bool:
    return Mute.objects.filter(session=session, user=user).exists()


def muted_ids(session: LiveSession) -> set[int]:
    return set(Mute.objects.filter(session=session).values_list("user_id", flat=True))


def present_users(session: LiveSession) -> list[Attendance]:
    """Who is in the room now: an open presence (any tab of theirs is connected)."""
    return list(
        Attendance.objects.filter(session=session, presences__left_at__isnull=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
        .distinct()
    )


# Attendance --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceRow:
    user: Any
    enrolled: bool
    attended: bool
    first_joined_at: datetime | None
    last_left_at: datetime | None
    minutes: int
    late: bool
    present_now: bool


def attendance_seconds(attendance: Attendance, presences: list[Presence], until: datetime) -> int:
    if attendance.session.ended_at is not None:
        return attendance.seconds
    return sum(p.seconds(until) for p in presences)


def attendance_report(session: LiveSession, *, now: datetime | None = None) -> list[AttendanceRow]:
    """Every active learner of the cohort, whether they came or not, plus anyone else who came
    (a learner withdrawn since). Minutes are final once the session has ended."""
    now = now or timezone.now()
    # A session nobody ended stops counting when it can no longer be joined.
    until = session.ended_at or min(now, session.ends_at + OVERRUN)
    attendances = {
        a.user_id: a
        for a in Attendance.objects.filter(session=session)
        .select_related("user", "session")
        .prefetch_related("presences")
    }
    trainer_ids = set(session.trainers.values_list("pk", flat=True)) | set(
        session.cohort.trainers.values_list("pk", flat=True)
    )
    learners = [
        e.learner
        for e in Enrolment.objects.filter(
            cohort_id=session.cohort_id, status=Enrolment.Status.ACTIVE
        ).select_related("learner")
    ]
    enrolled_ids = {u.pk for u in learners}
    people = learners + [
        a.user
        for a in attendances.values()
        if a.user_id not in enrolled_ids and a.user_id not in trainer_ids
    ]
    rows = []
    for user in people:
        attendance = attendances.get(user.pk)
        if attendance is None:
            rows.append(
                AttendanceRow(user, user.pk in enrolled_ids, False, None, None, 0, False, False)
            )
            continue
        presences = list(attendance.presences.all())
        seconds = attendance_seconds(attendance, presences, until)
        rows.append(
            AttendanceRow(
                user,
                user.pk in enrolled_ids,
                True,
                attendance.first_joined_at,
                attendance.last_left_at,
                round(seconds / 60),
                attendance.late,
                any(p.left_at is None for p in presences) and session.ended_at is None,
            )
        )
    rows.sort(key=lambda r: (r.user.last_name, r.user.first_name, r.user.username))
    return rows


# Pages -------------------------------------------------------------------------------------


def prework_modules(session: LiveSession) -> list[GridModule]:
    return [
        GridModule(*row)
        for row in session.prework.annotate(total=Count("resources"))
        .order_by("course_unit__position", "position", "id")
        .values_list("id", "key", "title", "total")
    ]


@dataclass
class PreworkCheck:
    module: GridModule
    done: list[Enrolment]
    missing: list[Enrolment]


def prework_for_trainer(session: LiveSession) -> list[PreworkCheck]:
    """Who has and has not done each pre-work module (delivery's own check, per module)."""
    return [
        PreworkCheck(module, *prework_check(session.cohort, module))
        for module in prework_modules(session)
    ]


@dataclass(frozen=True)
class PreworkItem:
    module: GridModule
    done: bool


def prework_for_learner(session: LiveSession, learner: Any) -> list[PreworkItem]:
    modules = prework_modules(session)
    finished = dict(
        ResourceProgress.objects.filter(
            learner=learner,
            completed_at__isnull=False,
            resource__module_id__in=[m.id for m in modules],
        )
        .values("resource__module_id")
        .annotate(n=Count("id"))
        .values_list("resource__module_id", "n")
    )
    return [PreworkItem(m, finished.get(m.id, 0) >= m.total) for m in modules]


def learner_upcoming(learner: Any, *, limit: int = 5) -> list[LiveSession]:
    """The learner's next sessions, across their active cohorts, soonest first."""
    return list(
        LiveSession.objects.upcoming()
        .filter(
            cohort__enrolments__learner=learner,
            cohort__enrolments__status=Enrolment.Status.ACTIVE,
        )
        .select_related("cohort__course")
        .order_by("starts_at", "id")
        .distinct()[:limit]
    )


def trainer_sessions(user: Any) -> QuerySet[LiveSession]:
    """Sessions of the cohorts a trainer teaches, or that they run, newest plans first."""
    return (
        LiveSession.objects.filter(Q(cohort__trainers=user) | Q(trainers=user))
        .select_related("cohort__course")
        .annotate(attendees=Count("attendance", distinct=True))
        .distinct()
        .order_by("-starts_at", "-id")
    )


def session_records(sessions: QuerySet[LiveSession]) -> QuerySet[LiveSession]:
    """Sessions that have started, newest first, with how many people attended."""
    return (
        sessions.filter(starts_at__lte=timezone.now())
        .select_related("cohort__course")
        .annotate(attendees=Count("attendance", distinct=True))
        .order_by("-starts_at", "-id")
    )


def course_resources(session: LiveSession) -> QuerySet[Resource]:
    return Resource.objects.filter(module__course_id=session.cohort.course_id).order_by(
        "module__course_unit__position", "module__position", "position", "id"
    )


def course_modules(session: LiveSession) -> QuerySet[Module]:
    return Module.objects.filter(course_id=session.cohort.course_id)
