"""Who may see, join and run a live session. Views, the consumer and exports ask here.

Learners with an active enrolment in the session's cohort join as learners; the session's
trainers and the cohort's trainers join as trainers and run the room. Other staff who can see
the cohort (its assessors, administrators, auditors whose grant covers it) may read the session
and its attendance, but do not join.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from delivery.models import Cohort, Enrolment
from delivery.permissions import access_cohort_staff, auditor_scope, visible_cohorts
from delivery.roles import Role, has_role, roles_of
from live.models import LiveSession


class RoomRole(StrEnum):
    LEARNER = "learner"
    TRAINER = "trainer"


def visible_sessions(user: Any) -> QuerySet[LiveSession]:
    """Sessions of cohorts the user may see, limited for learners to their active cohorts and
    for auditors to their grant."""
    held = roles_of(user)
    if not held:
        return LiveSession.objects.none()
    if Role.ADMINISTRATOR in held:
        return LiveSession.objects.all()
    condition = Q(pk__in=[])
    if Role.AUDITOR in held:
        scope = auditor_scope(user)
        if scope is not None and scope.everything:
            return LiveSession.objects.all()
        if scope is not None:
            condition |= Q(cohort_id__in=scope.cohort_ids)
    if Role.TRAINER in held:
        condition |= Q(cohort__trainers=user) | Q(trainers=user)
    if Role.ASSESSOR in held:
        condition |= Q(cohort__assessors=user)
    if Role.LEARNER in held:
        condition |= Q(
            cohort__enrolments__learner=user,
            cohort__enrolments__status=Enrolment.Status.ACTIVE,
        )
    return LiveSession.objects.filter(pk__in=LiveSession.objects.filter(condition).values("pk"))


def room_role(user: Any, session: LiveSession) -> RoomRole | None:
    """How the user takes part in the room, or None if they may not join it."""
    held = roles_of(user)
    if Role.TRAINER in held and (
        session.trainers.filter(pk=user.pk).exists()
        or session.cohort.trainers.filter(pk=user.pk).exists()
    ):
        return RoomRole.TRAINER
    if (
        Role.LEARNER in held
        and Enrolment.objects.filter(
            learner=user, cohort_id=session.cohort_id, status=Enrolment.Status.ACTIVE
        ).exists()
    ):
        return RoomRole.LEARNER
    return None


def room_admission(user: Any, pk: int) -> tuple[LiveSession, RoomRole] | None:
    """The session and how the user joins it, or None if they may not (then ask
    `access_live_session` whether they may see it, to say why). The same rules as `room_role`
    in one query, roles included: every socket of a class arriving at once asks this."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    memberships = get_user_model().groups.through.objects.filter(user_id=user.pk)
    session = (
        LiveSession.objects.filter(pk=pk)
        .select_related("cohort__course")
        .annotate(
            is_trainer=Exists(memberships.filter(group__name=Role.TRAINER)),
            teaches_session=Exists(
                LiveSession.trainers.through.objects.filter(
                    livesession_id=OuterRef("pk"), user_id=user.pk
                )
            ),
            teaches_cohort=Exists(
                Cohort.trainers.through.objects.filter(
                    cohort_id=OuterRef("cohort_id"), user_id=user.pk
                )
            ),
            is_learner=Exists(memberships.filter(group__name=Role.LEARNER)),
            enrolled=Exists(
                Enrolment.objects.filter(
                    learner_id=user.pk,
                    cohort_id=OuterRef("cohort_id"),
                    status=Enrolment.Status.ACTIVE,
                )
            ),
        )
        .first()
    )
    if session is None:
        return None
    if session.is_trainer and (session.teaches_session or session.teaches_cohort):
        return session, RoomRole.TRAINER
    if session.is_learner and session.enrolled:
        return session, RoomRole.LEARNER
    return None


def access_live_session(user: Any, pk: int, *, write: bool = False) -> LiveSession:
    """A session the user may see; with `write`, one they run (or any, for administrators)."""
    try:
        session = visible_sessions(user).select_related("cohort__course").get(pk=pk)
    except LiveSession.DoesNotExist:
        raise Http404("No such session") from None
    if write and not (
        has_role(user, Role.ADMINISTRATOR) or room_role(user, session) == RoomRole.TRAINER
    ):
        raise PermissionDenied
    return session


def access_attendance(user: Any, pk: int) -> LiveSession:
    """A session's attendance: its trainers and the cohort's staff (`access_cohort_staff`:
    trainers, assessors, administrators, auditors within their grant)."""
    session = access_live_session(user, pk)
    if room_role(user, session) == RoomRole.TRAINER:
        return session
    access_cohort_staff(user, session.cohort_id)  # raises PermissionDenied for learners
    return session


def schedulable_cohorts(user: Any) -> QuerySet[Cohort]:
    """Cohorts the user may schedule sessions for: those they teach."""
    if not has_role(user, Role.TRAINER):
        return Cohort.objects.none()
    return visible_cohorts(user).filter(trainers=user)
