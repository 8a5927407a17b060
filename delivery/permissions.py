"""Who may see what, in one place. Every later app asks these helpers.

`access_*` return the object or raise `Http404` (the user may not know it exists) or
`PermissionDenied` (they may see it but not do this).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from delivery.models import Cohort, Enrolment, Resource
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


def visible_cohorts(user: Any) -> QuerySet[Cohort]:
    """Cohorts a user may see in any of their roles (auditors and administrators see all)."""
    held = roles_of(user)
    if not held:
        return Cohort.objects.none()
    if held & {Role.AUDITOR, Role.ADMINISTRATOR}:
        return Cohort.objects.all()
    condition = Q(pk__in=[])
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
    """A cohort for its staff pages: its trainers and assessors, auditors and administrators."""
    cohort = access_cohort(user, pk)
    held = roles_of(user)
    if held & {Role.AUDITOR, Role.ADMINISTRATOR}:
        return cohort
    if cohort.trainers.filter(pk=user.pk).exists() or cohort.assessors.filter(pk=user.pk).exists():
        return cohort
    raise PermissionDenied
