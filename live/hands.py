"""Raised hands: a queue, oldest first, that learners join and the trainer takes from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from live import events, rendering, selectors
from live.models import LiveSession, RaisedHand


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
