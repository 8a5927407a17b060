"""Questions for the trainer: asking, upvoting, answering, and the lists the room shows.

The learners' list is one fragment for all of them; which questions are yours reaches only your
own pages (`my_questions`), so peers never learn who voted or who asked anonymously.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from live import events, rendering, selectors
from live.models import LiveSession, Question, QuestionVote
from live.text import clean_text

QUESTION_MAX_LENGTH = 500


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
