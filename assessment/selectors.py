"""Reads for assessment and audit pages, scoped to the user asking."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Prefetch, Q, QuerySet, prefetch_related_objects

from assessment.models import Attempt, Evidence, Item, Outcome, Task
from delivery.models import Cohort, Enrolment, Module, PerformanceCriterion, Unit
from delivery.selectors import module_states_for


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


# Learner's tasks ---------------------------------------------------------------------------


@dataclass
class TaskRow:
    task: Task
    latest: Attempt | None
    # Why the learner cannot start the task yet, in their words ("Opens when you finish ...");
    # empty when it is open or already attempted. Set by learner_task_list only.
    locked: str = ""
    # The unit is Competent (or granted) without this task: nothing to do.
    not_needed: bool = False


@dataclass(frozen=True)
class UnitStatus:
    """A unit's current outcome and what it rests on, for the learner's task list: `basis` is
    "rpl", "credit_transfer", "tasks" (every task satisfactory), "recorded" (Competent recorded
    on evidence outside these tasks, e.g. an earlier outcome) or "nyc"."""

    outcome: Outcome
    basis: str


def lock_reason(*, active: bool, unmapped: bool, missing_modules: list[str]) -> str:
    """Why a task cannot be opened, whatever the learner's attempts ("" when it can): an
    inactive enrolment, a unit whose mapping is incomplete, modules to finish first. The one
    wording of the task page (services.task_availability) and the task list."""
    if not active:
        return "You are not an active learner in this cohort."
    if unmapped:
        return "This unit is not open for assessment yet: its mapping is incomplete."
    if missing_modules:
        return f"Opens when you finish {', '.join(missing_modules)}."
    return ""


def outcome_basis(outcome: Outcome, task_rows: list[TaskRow] | None = None) -> str:
    """What a current outcome rests on, as UnitStatus.basis says it. Without the unit's task
    rows (the task page), a Competent outcome is "recorded"."""
    if outcome.code == Outcome.Code.RPL_GRANTED:
        return "rpl"
    if outcome.code == Outcome.Code.CREDIT_TRANSFER:
        return "credit_transfer"
    if outcome.code == Outcome.Code.NOT_YET_COMPETENT:
        return "nyc"
    if task_rows and all(
        r.latest is not None and r.latest.result == Attempt.Result.SATISFACTORY for r in task_rows
    ):
        return "tasks"
    return "recorded"


def question_numbers(task: Task | int) -> dict[int, int]:
    """Each item's number as the learner sees it ("Question 3"), by item id: its place among
    its task's items. The one numbering of the task page, its messages and its evidence."""
    task_id = task if isinstance(task, int) else task.pk
    ids = Item.objects.filter(task_id=task_id).order_by("position", "id")
    return {pk: n for n, pk in enumerate(ids.values_list("pk", flat=True), start=1)}


def kept_sources(attempt: Attempt, earlier: list[Attempt] | None = None) -> dict[int, Attempt]:
    """For each answer `attempt` kept from the attempt before (carried forward: Satisfactory
    there), the attempt whose answer and files it is, by item id. An answer kept twice is
    attempt 1's: the walk goes back through `previous` while the answer was kept. `earlier`:
    the learner's attempts at the task with `answers` prefetched, when the caller has them."""
    if earlier is None:
        earlier = list(
            Attempt.objects.filter(
                task_id=attempt.task_id, learner_id=attempt.learner_id, cohort_id=attempt.cohort_id
            ).prefetch_related("answers")
        )
    by_pk = {a.pk: a for a in earlier}
    by_pk.setdefault(attempt.pk, attempt)
    carried: dict[int, set[int]] = {
        a.pk: {b.item_id for b in a.answers.all() if b.carried_forward} for a in by_pk.values()
    }
    sources: dict[int, Attempt] = {}
    for item_id in carried[attempt.pk]:
        source = by_pk.get(attempt.previous_id or 0)
        while source is not None and item_id in carried.get(source.pk, set()):
            source = by_pk.get(source.previous_id or 0)
        if source is not None:
            sources[item_id] = source
    return sources


def kept_evidence(attempt: Attempt) -> dict[int, list[Evidence]]:
    """The files of the answers `attempt` kept from earlier attempts (kept_sources), by item
    id: shown beside the kept answer on the task page and the marking page. Three queries."""
    if attempt.previous_id is None:  # a first attempt keeps nothing: no queries
        return {}
    sources = kept_sources(attempt)
    if not sources:
        return {}
    files: dict[int, list[Evidence]] = defaultdict(list)
    wanted = {(source.pk, item_id) for item_id, source in sources.items()}
    for evidence in Evidence.objects.filter(
        attempt_id__in={s.pk for s in sources.values()},
        item_id__in=sources,
        withdrawn_at__isnull=True,
    ).order_by("uploaded_at", "id"):
        if (evidence.attempt_id, evidence.item_id) in wanted:
            files[evidence.item_id].append(evidence)  # type: ignore[index]
    return dict(files)


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


def learner_task_list(
    learner: Any, cohort: Cohort
) -> tuple[dict[Unit, list[TaskRow]], dict[int, UnitStatus]]:
    """The learner's task list: learner_tasks with each untouched task's lock (the reasons of
    services.task_availability that do not depend on attempts: an inactive enrolment, a unit
    whose mapping is incomplete, modules to finish first) and each unit's outcome with its
    basis. A constant number of queries, whatever the number of tasks."""
    by_unit = learner_tasks(learner, cohort)
    units = list(by_unit)
    rows = [row for unit_rows in by_unit.values() for row in unit_rows]
    prefetch_related_objects(
        [row.task for row in rows],
        Prefetch("requires_modules", queryset=Module.objects.filter(course=cohort.course)),
    )
    active = Enrolment.objects.filter(
        learner=learner, cohort=cohort, status=Enrolment.Status.ACTIVE
    ).exists()
    unmapped = set(
        PerformanceCriterion.objects.filter(element__unit__in=units)
        .annotate(covered=Count("items", filter=Q(items__task__unit=F("element__unit"))))
        .filter(covered=0)
        .values_list("element__unit_id", flat=True)
    )
    states = module_states_for(learner, cohort.course) if rows else None
    for row in rows:
        if row.latest is not None:
            continue
        missing = [
            m.title
            for m in row.task.requires_modules.all()
            if states is not None and m.id in states.modules and not states.modules[m.id].complete
        ]
        row.locked = lock_reason(
            active=active, unmapped=row.task.unit_id in unmapped, missing_modules=missing
        )
    statuses: dict[int, UnitStatus] = {}
    outcomes = Outcome.objects.current().filter(learner=learner, cohort=cohort)
    by_unit_id = {o.unit_id: o for o in outcomes.select_related("recorded_by")}
    for unit in units:
        outcome = by_unit_id.get(unit.pk)
        if outcome is None:
            continue
        unit_rows = by_unit[unit]
        basis = outcome_basis(outcome, unit_rows)
        statuses[unit.pk] = UnitStatus(outcome, basis)
        if outcome.competent:
            for row in unit_rows:
                if row.latest is None:
                    row.not_needed, row.locked = True, ""
    return by_unit, statuses


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
