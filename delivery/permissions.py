"""Who may see what, in one place. Every later app asks these helpers.

`access_*` return the object or raise `Http404` (the user may not know it exists) or
`PermissionDenied` (they may see it but not do this).

What an auditor reads is decided by one rule, `auditor_scope` (their grants, with the grants'
cohorts and dates), asked by every app's permissions: cohorts' staff pages, course content,
attempts and evidence, records and exports, live sessions and attendance, credential downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from delivery.models import AuditorGrant, Cohort, Enrolment, Resource
from delivery.roles import Role, has_role, roles_of

View = TypeVar("View", bound=Callable[..., HttpResponse])


def role_required(*roles: Role) -> Callable[[View], View]:
    """Signed-in users holding any of `roles`; others get 403, anonymous users the login page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


# --- auditors: the grant is the one rule ------------------------------------------------------


@dataclass(frozen=True)
class RecordScope:
    """The cohorts an auditor (or administrator) reads: all, or those listed."""

    everything: bool
    cohort_ids: frozenset[int] = frozenset()
    until: datetime | None = None  # when the last grant in force ends
    ended: bool = False  # every grant has ended (or none has begun): nothing to read

    def cohorts(self) -> QuerySet[Cohort]:
        return (
            Cohort.objects.all()
            if self.everything
            else Cohort.objects.filter(pk__in=self.cohort_ids)
        )

    def allows(self, cohort_id: int | None) -> bool:
        return self.everything or cohort_id in self.cohort_ids

    def restrict(self, queryset: QuerySet[Any], cohort_field: str = "cohort_id") -> QuerySet[Any]:
        if self.everything:
            return queryset
        return queryset.filter(**{f"{cohort_field}__in": self.cohort_ids})


class GrantEnded(PermissionDenied):
    """An external auditor whose every grant has ended (or not yet begun)."""


def auditor_scope(user: Any, *, now: datetime | None = None) -> RecordScope | None:
    """What `user` reads as an auditor (None: they are not one).

    An auditor with no grant is the provider's own compliance officer and reads everything.
    Once an account has any grant it reads only what a grant in force covers: its cohorts and
    every cohort of its courses; when every grant has ended (or none has begun), nothing.
    """
    if Role.AUDITOR not in roles_of(user):
        return None
    grants = AuditorGrant.objects.filter(auditor=user)
    if not grants.exists():
        return RecordScope(everything=True)
    now = now or timezone.now()
    current = list(grants.filter(starts_at__lte=now, ends_at__gt=now).prefetch_related("courses"))
    if not current:
        return RecordScope(everything=False, ended=True)
    course_ids = {course.pk for grant in current for course in grant.courses.all()}
    listed = AuditorGrant.cohorts.through.objects.filter(
        auditorgrant_id__in=[grant.pk for grant in current]
    ).values("cohort_id")
    covered = Q(pk__in=listed) | Q(course_id__in=course_ids)
    cohort_ids = Cohort.objects.filter(covered).values_list("pk", flat=True)
    return RecordScope(
        everything=False,
        cohort_ids=frozenset(cohort_ids),
        until=max(grant.ends_at for grant in current),
    )


def record_scope(user: Any, *, now: datetime | None = None) -> RecordScope:
    """The records `user` may read (administrators: all; auditors: `auditor_scope`), for the
    records pages and exports; PermissionDenied for anyone else, GrantEnded once an auditor's
    grants have all ended."""
    if Role.ADMINISTRATOR in roles_of(user):
        return RecordScope(everything=True)
    scope = auditor_scope(user, now=now)
    if scope is None:
        raise PermissionDenied
    if scope.ended:
        raise GrantEnded("Your access to assessment records has ended or has not begun yet.")
    return scope


def audits_cohort(user: Any, cohort_id: int | None) -> bool:
    """Whether the user reads the cohort as an administrator, or as an auditor within their
    grant. `cohort_id` None (a thing of no cohort) is read only by those who read everything."""
    if Role.ADMINISTRATOR in roles_of(user):
        return True
    scope = auditor_scope(user)
    return scope is not None and scope.allows(cohort_id)


# --- cohorts and their content ----------------------------------------------------------------


def visible_cohorts(user: Any) -> QuerySet[Cohort]:
    """Cohorts a user may see in any of their roles (administrators see all, auditors what
    their grant covers)."""
    held = roles_of(user)
    if not held:
        return Cohort.objects.none()
    if Role.ADMINISTRATOR in held:
        return Cohort.objects.all()
    condition = Q(pk__in=[])
    if Role.AUDITOR in held:
        scope = auditor_scope(user)
        if scope is not None and scope.everything:
            return Cohort.objects.all()
        if scope is not None:
            condition |= Q(pk__in=scope.cohort_ids)
    if Role.TRAINER in held:
        condition |= Q(trainers=user)
    if Role.ASSESSOR in held:
        condition |= Q(assessors=user)
    if Role.LEARNER in held:
        condition |= Q(enrolments__learner=user)
    return Cohort.objects.filter(condition).distinct()


def access_cohort(user: Any, pk: int, *, write: bool = False) -> Cohort:
    """A cohort the user may see; with `write`, one they teach (or any, for administrators)."""
    try:
        cohort = visible_cohorts(user).select_related("course").get(pk=pk)
    except Cohort.DoesNotExist:
        raise Http404("No such cohort") from None
    if write and not (
        has_role(user, Role.ADMINISTRATOR) or cohort.trainers.filter(pk=user.pk).exists()
    ):
        raise PermissionDenied
    return cohort


def access_resource(
    user: Any, pk: int, *, write: bool = False
) -> tuple[Resource, Enrolment | None]:
    """A resource of a course the user takes or works on, with the learner's enrolment in it.

    Learners need an enrolment in a cohort of the resource's course (their most recent one);
    staff who can see a cohort of that course may preview it, and get no enrolment back.
    With `write` (recording progress), only a learner with an active enrolment passes:
    a withdrawn or completed learner sees the course read-only.
    """
    try:
        resource = Resource.objects.select_related("module__course", "module__course_unit").get(
            pk=pk
        )
    except Resource.DoesNotExist:
        raise Http404("No such resource") from None
    course_id = resource.module.course_id
    enrolment = (
        Enrolment.objects.filter(learner=user, cohort__course_id=course_id)
        .order_by("status", "-enrolled_at")  # "active" sorts first
        .select_related("cohort")
        .first()
        if has_role(user, Role.LEARNER)
        else None
    )
    if enrolment is None:
        staff_can_see = (
            roles_of(user) - {Role.LEARNER}
            and visible_cohorts(user).filter(course_id=course_id).exists()
        )
        if not staff_can_see:
            raise Http404("No such resource")
        if write:
            raise PermissionDenied
        return resource, None
    if write and enrolment.status != Enrolment.Status.ACTIVE:
        raise PermissionDenied
    return resource, enrolment


def access_cohort_staff(user: Any, pk: int) -> Cohort:
    """A cohort for its staff pages: its trainers and assessors, administrators, and auditors
    whose grant covers it."""
    cohort = access_cohort(user, pk)
    if audits_cohort(user, cohort.pk):
        return cohort
    if cohort.trainers.filter(pk=user.pk).exists() or cohort.assessors.filter(pk=user.pk).exists():
        return cohort
    raise PermissionDenied
