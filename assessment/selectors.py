"""Reads for assessment and audit pages, scoped to the user asking."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from assessment.models import Attempt, Item, Outcome, Task
from delivery.models import Cohort, Enrolment, PerformanceCriterion, Unit
from delivery.roles import Role, roles_of


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


# The marking queue -------------------------------------------------------------------------


def markable_cohorts(user: Any) -> QuerySet[Cohort]:
    if Role.ADMINISTRATOR in roles_of(user):
        return Cohort.objects.all()
    return Cohort.objects.assessed_by(user)


@dataclass
class QueueFilters:
    cohort: int | None = None
    unit: int | None = None
    task: int | None = None
    waiting_days: int | None = None


def marking_queue(user: Any, filters: QueueFilters) -> QuerySet[Attempt]:
    """Attempts waiting for marking in the user's cohorts, oldest first."""
    attempts = Attempt.objects.awaiting_marking().filter(cohort__in=markable_cohorts(user))
    if filters.cohort:
        attempts = attempts.filter(cohort_id=filters.cohort)
    if filters.unit:
        attempts = attempts.filter(task__unit_id=filters.unit)
    if filters.task:
        attempts = attempts.filter(task_id=filters.task)
    if filters.waiting_days:
        attempts = attempts.filter(
            submitted_at__lte=timezone.now() - timedelta(days=filters.waiting_days)
        )
    return attempts.select_related("task__unit", "learner", "cohort", "claimed_by").order_by(
        "submitted_at", "id"
    )


@dataclass
class QueueCounts:
    total: int
    by_cohort: list[tuple[int, str, int]]
    by_unit: list[tuple[int, str, int]]
    by_task: list[tuple[int, str, int]]


def queue_counts(user: Any) -> QueueCounts:
    """Waiting attempts by cohort, unit and task, for the filter choices; three small queries."""
    waiting = Attempt.objects.awaiting_marking().filter(cohort__in=markable_cohorts(user))

    def grouped(id_field: str, label_field: str) -> list[tuple[int, str, int]]:
        return [
            (row[id_field], row[label_field], row["n"])
            for row in waiting.values(id_field, label_field)
            .annotate(n=Count("id"))
            .order_by(label_field)
        ]

    by_cohort = grouped("cohort_id", "cohort__name")
    return QueueCounts(
        total=sum(n for *_, n in by_cohort),
        by_cohort=by_cohort,
        by_unit=grouped("task__unit_id", "task__unit__code"),
        by_task=grouped("task_id", "task__title"),
    )


# Learner's tasks ---------------------------------------------------------------------------


@dataclass
class TaskRow:
    task: Task
    latest: Attempt | None


def learner_tasks(learner: Any, cohort: Cohort) -> dict[Unit, list[TaskRow]]:
    """The course's tasks by unit, each with the learner's latest attempt; three queries."""
    units = [
        cu.unit for cu in cohort.course.course_units.select_related("unit").order_by("position")
    ]
    tasks = Task.objects.filter(unit__in=units).order_by("position", "id")
    latest: dict[int, Attempt] = {}
    for attempt in Attempt.objects.filter(learner=learner, cohort=cohort).order_by("number"):
        latest[attempt.task_id] = attempt
    by_unit: dict[Unit, list[TaskRow]] = {unit: [] for unit in units}
    unit_of = {u.pk: u for u in units}
    for task in tasks:
        by_unit[unit_of[task.unit_id]].append(TaskRow(task, latest.get(task.pk)))
    return by_unit


def current_outcomes(learner: Any, cohort: Cohort) -> dict[int, Outcome]:
    return {o.unit_id: o for o in Outcome.objects.current().filter(learner=learner, cohort=cohort)}


# Mapping -----------------------------------------------------------------------------------


@dataclass
class MappingRow:
    criterion: PerformanceCriterion
    items: list[Item]

    @property
    def covered(self) -> bool:
        return bool(self.items)


def mapping_matrix(unit: Unit) -> tuple[list[MappingRow], list[Item]]:
    """Every criterion of the unit with the items that assess it; uncovered ones have none."""
    items = list(
        Item.objects.filter(task__unit=unit)
        .select_related("task")
        .prefetch_related("criteria")
        .order_by("task__position", "task_id", "position", "id")
    )
    by_criterion: dict[int, list[Item]] = defaultdict(list)
    for item in items:
        for criterion in item.criteria.all():
            by_criterion[criterion.pk].append(item)
    criteria = PerformanceCriterion.objects.filter(element__unit=unit).select_related("element")
    rows = [
        MappingRow(c, by_criterion[c.pk])
        for c in criteria.order_by("element__number", "position", "id")
    ]
    return rows, items
