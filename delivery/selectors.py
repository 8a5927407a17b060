"""Reads shared by delivery's pages, scoped to the user asking."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet

from delivery.models import Cohort, CourseUnit, Enrolment


def learner_enrolments(learner: Any) -> QuerySet[Enrolment]:
    """The learner's enrolments with course and ordered units, in a fixed number of queries."""
    return (
        Enrolment.objects.filter(learner=learner)
        .select_related("cohort__course")
        .prefetch_related(
            Prefetch(
                "cohort__course__course_units",
                queryset=CourseUnit.objects.select_related("unit").order_by("position", "id"),
            )
        )
        .order_by("status", "-cohort__starts_on")
    )


def staff_cohorts(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """Cohorts with their course and the count of active learners, for staff lists."""
    return cohorts.select_related("course").annotate(
        active_learners=Count(
            "enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE), distinct=True
        )
    )
