"""Reads for assessment and audit pages."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from delivery.models import Enrolment


def search_enrolments(*, query: str) -> QuerySet[Enrolment]:
    """Enrolments matching a learner, unit code or cohort; the caller has checked the role."""
    terms = query.split()
    condition = Q()
    for term in terms:
        condition &= (
            Q(learner__first_name__icontains=term)
            | Q(learner__last_name__icontains=term)
            | Q(learner__email__icontains=term)
            | Q(learner__username__icontains=term)
            | Q(cohort__name__icontains=term)
            | Q(cohort__course__code__icontains=term)
            | Q(cohort__course__units__code__iexact=term)
        )
    return (
        Enrolment.objects.filter(
            pk__in=Enrolment.objects.filter(condition).values("pk"),
        )
        .select_related("learner", "cohort__course")
        .order_by("learner__last_name", "learner__first_name", "learner__pk", "-enrolled_at")
    )
