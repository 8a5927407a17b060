"""Who may read assessment records, and how much of them.

Administrators and auditors read records. An auditor account with no grant is the provider's
own compliance officer and sees everything; an external auditor's account has grants, and sees
only what a grant in force covers (its cohorts, and every cohort of its courses). Outside that
scope a record is 404, and once every grant has ended the records pages are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.utils import timezone

from assessment.models import AuditorGrant
from delivery.models import Cohort
from delivery.roles import Role, roles_of


@dataclass(frozen=True)
class RecordScope:
    everything: bool
    cohort_ids: frozenset[int] = frozenset()
    until: datetime | None = None

    def cohorts(self) -> QuerySet[Cohort]:
        return (
            Cohort.objects.all()
            if self.everything
            else Cohort.objects.filter(pk__in=self.cohort_ids)
        )

    def allows(self, cohort_id: int) -> bool:
        return self.everything or cohort_id in self.cohort_ids

    def restrict(self, queryset: QuerySet[Any], cohort_field: str = "cohort_id") -> QuerySet[Any]:
        if self.everything:
            return queryset
        return queryset.filter(**{f"{cohort_field}__in": self.cohort_ids})


class GrantEnded(PermissionDenied):
    """An external auditor whose every grant has ended (or not yet begun)."""


def record_scope(user: Any, *, now: datetime | None = None) -> RecordScope:
    """The records `user` may read; PermissionDenied if none."""
    held = roles_of(user)
    if Role.ADMINISTRATOR in held:
        return RecordScope(everything=True)
    if Role.AUDITOR not in held:
        raise PermissionDenied
    grants = AuditorGrant.objects.filter(auditor=user)
    if not grants.exists():
        return RecordScope(everything=True)
    now = now or timezone.now()
    current = list(grants.filter(starts_at__lte=now, ends_at__gt=now).prefetch_related("courses"))
    if not current:
        raise GrantEnded("Your access to assessment records has ended or has not begun yet.")
    course_ids = {course.pk for grant in current for course in grant.courses.all()}
    cohort_ids = set(
        Cohort.objects.filter(
            Q(pk__in=AuditorGrant.cohorts.through.objects.filter(
                auditorgrant_id__in=[g.pk for g in current]
            ).values("cohort_id"))
            | Q(course_id__in=course_ids)
        ).values_list("pk", flat=True)
    )  # fmt: skip
    return RecordScope(
        everything=False,
        cohort_ids=frozenset(cohort_ids),
        until=max(grant.ends_at for grant in current),
    )


def is_read_only_auditor(user: Any) -> bool:
    """An account whose only role is auditor: it may look, never change."""
    return roles_of(user) == frozenset({Role.AUDITOR})
