"""A live session's life: scheduling it, the trainer's control of the room, ending it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from delivery.models import Cohort, Module, Resource
from live import events, rendering, selectors
from live.attendance import finalise_attendance
from live.models import Connection, LiveSession, Poll, Presence, RaisedHand


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
    # Sockets first: a socket closing now (attendance.leave) deletes its own row before it
    # locks its attendance and presences, so taking the rows in the same order means one waits
    # for the other; presences first deadlocked with it (seen in the scale-out test).
    Connection.objects.filter(session=session).delete()
    now = timezone.now()
    session.ended_at = now
    session.save(update_fields=["ended_at"])
    Presence.objects.filter(attendance__session=session, left_at__isnull=True).update(left_at=now)
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
