"""Polls and quiz questions: opening, voting, closing, and their results.

Votes are not broadcast one by one: the consumer asks for a coalesced `results_event`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from live import events, rendering, selectors
from live.models import Ballot, LiveSession, Poll, PollOption
from live.text import clean_text


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
