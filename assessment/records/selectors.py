"""Assessment records as auditors need them: finding them, and loading everything about them.

A record is one learner's assessment in one unit, in one cohort (`RecordKey`). It is read, never
stored: `load_records(keys)` gathers the enrolment, each task as it was used, every attempt with
its answers (as submitted: the attempt's frozen snapshot), evidence and declaration, every
judgement, the mapping of items to criteria, the outcomes, the sections other apps contribute
(the credential, attendance: `delivery/records.py`), and the record's audit events with a check
of their links. The page, the PDF, the JSON in an export and the bulk export all use this one
loader, so they cannot disagree. Its query count does not grow with the number of records.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from assessment.audit.services import GENESIS, link_hash
from assessment.models import (
    Answer,
    Attempt,
    AuditEvent,
    Evidence,
    Item,
    Judgement,
    Outcome,
    OutcomeDocument,
    Task,
)
from assessment.records.access import RecordScope
from assessment.selectors import kept_sources
from delivery.models import Cohort, Enrolment, Unit
from delivery.records import RecordKey, record_sections

ACCESS_ACTION = "auditor.opened"  # written by assessment/records/middleware.py

SORTS = {
    "learner": ("learner__last_name", "learner__first_name", "learner_id", "unit_code"),
    "unit": ("unit_code", "learner__last_name", "learner__first_name", "learner_id"),
    "cohort": ("cohort__name", "learner__last_name", "learner__first_name", "unit_code"),
    "outcome": ("outcome_at", "learner__last_name", "learner__first_name", "unit_code"),
}


@dataclass(frozen=True)
class RecordFilters:
    learner: str = ""  # name, e-mail, username or learner id
    unit: str = ""  # unit code
    course: str = ""  # course code
    cohort_id: int | None = None
    outcome: str = ""  # an outcome code, or "none" for no outcome yet
    assessor: str = ""  # name or username of whoever marked or recorded the outcome
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "learner"
    descending: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            key: (value.isoformat() if isinstance(value, dt.date) else value)
            for key, value in self.__dict__.items()
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RecordFilters:
        values = dict(data)
        for key in ("date_from", "date_to"):
            if values.get(key):
                values[key] = dt.date.fromisoformat(values[key])
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def _current_outcome(field_name: str) -> Subquery:
    return Subquery(
        Outcome.objects.filter(
            learner_id=OuterRef("learner_id"),
            cohort_id=OuterRef("cohort_id"),
            unit_id=OuterRef("unit_ref"),
            superseded_by__isnull=True,
        )
        .order_by("-recorded_at", "-id")
        .values(field_name)[:1]
    )


def _people(text: str) -> QuerySet[Any]:
    people = get_user_model().objects.all()
    for term in text.split():
        people = people.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(username__icontains=term)
            | Q(email__icontains=term)
        )
    return people.values("pk")


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def search_records(scope: RecordScope, filters: RecordFilters) -> QuerySet[Any]:
    """Records in `scope` matching `filters`, as rows of plain values, sorted; one query (and
    one more to count, when paginated). Each enrolment yields one row per unit of its course."""
    return _matching(scope, filters).values(
        "pk",
        "learner_id",
        "cohort_id",
        "unit_ref",
        "unit_code",
        "unit_title",
        "learner__first_name",
        "learner__last_name",
        "learner__email",
        "cohort__name",
        "cohort__course__code",
        "status",
        "outcome_code",
        "outcome_at",
    )


def outcome_rows(scope: RecordScope, filters: RecordFilters) -> Iterable[list[Any]]:
    """The outcomes CSV: one row per learner per unit with a current outcome, streamed."""
    first_attempt = Subquery(
        Attempt.objects.filter(
            learner_id=OuterRef("learner_id"),
            cohort_id=OuterRef("cohort_id"),
            task__unit_id=OuterRef("unit_ref"),
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    people = get_user_model().objects
    rows = (
        _matching(scope, filters)
        .filter(outcome_code__isnull=False)
        .annotate(first_attempt=first_attempt)
        .values_list(
            "learner_id",
            "learner__last_name",
            "learner__first_name",
            "learner__email",
            "unit_code",
            "unit_title",
            "cohort__course__code",
            "cohort__name",
            "outcome_code",
            "outcome_at",
            "first_attempt",
            "cohort__starts_on",
            "enrolled_at",
            "outcome_by",
        )
    )
    labels = dict(Outcome.Code.choices)
    names: dict[int | None, str] = {}
    for row in rows.iterator(chunk_size=2000):
        (learner_id, family, given, email, code, title, course, cohort, outcome, outcome_at,
         first_attempt_at, cohort_start, enrolled_at, recorder) = row  # fmt: skip
        if recorder is None:  # a unit credited on enrolment (assessment/marking/credit.py)
            names[recorder] = "Credited automatically"
        elif recorder not in names:
            person = people.filter(pk=recorder).first()
            names[recorder] = (person.get_full_name() or person.get_username()) if person else ""
        end = timezone.localdate(outcome_at)
        start = activity_start(
            end=end,
            cohort_start=cohort_start,
            enrolled_on=timezone.localdate(enrolled_at) if enrolled_at else None,
            first_attempt_on=timezone.localdate(first_attempt_at) if first_attempt_at else None,
        )
        yield [
            learner_id, family, given, email, code, title, course, cohort, outcome,
            labels.get(outcome, outcome), start.isoformat(), end.isoformat(), names[recorder],
        ]  # fmt: skip


def activity_start(
    *,
    end: dt.date,
    cohort_start: dt.date | None,
    enrolled_on: dt.date | None,
    first_attempt_on: dt.date | None,
) -> dt.date:
    """The day the learner began the unit, for the outcomes CSV: when they could begin (the
    later of the cohort's start and their enrolment: a rolling intake is joined any day), or
    their first attempt if that came earlier. Never after the outcome (`end`): an outcome may
    be recorded before the cohort begins (credit transfer or RPL at enrolment), and a student
    management system rejects an activity that ends before it starts."""
    could_begin = max((day for day in (cohort_start, enrolled_on) if day), default=end)
    began = min(could_begin, first_attempt_on) if first_attempt_on else could_begin
    return min(began, end)


def _matching(scope: RecordScope, filters: RecordFilters) -> QuerySet[Any]:
    rows = scope.restrict(Enrolment.objects.all()).annotate(
        unit_ref=F("cohort__course__course_units__unit_id"),
        unit_code=F("cohort__course__course_units__unit__code"),
        unit_title=F("cohort__course__course_units__unit__title"),
    )
    rows = rows.filter(unit_ref__isnull=False)
    if filters.learner:
        term = filters.learner.strip()
        condition = Q(learner__in=_people(term))
        if term.isdigit():
            condition |= Q(learner_id=int(term))
        rows = rows.filter(condition)
    if filters.unit:
        rows = rows.filter(unit_code__iexact=filters.unit.strip())
    if filters.course:
        rows = rows.filter(cohort__course__code__iexact=filters.course.strip())
    if filters.cohort_id:
        rows = rows.filter(cohort_id=filters.cohort_id)
    rows = rows.annotate(
        outcome_code=_current_outcome("code"),
        outcome_at=_current_outcome("recorded_at"),
        outcome_by=_current_outcome("recorded_by_id"),
    )
    if filters.outcome == "none":
        rows = rows.filter(outcome_code__isnull=True)
    elif filters.outcome:
        rows = rows.filter(outcome_code=filters.outcome)
    attempts = Attempt.objects.filter(
        learner_id=OuterRef("learner_id"),
        cohort_id=OuterRef("cohort_id"),
        task__unit_id=OuterRef("unit_ref"),
    )
    if filters.assessor:
        assessors = _people(filters.assessor)
        rows = rows.filter(
            Q(outcome_by__in=assessors) | Exists(attempts.filter(marked_by__in=assessors))
        )
    if filters.date_from or filters.date_to:
        span = Q()
        if filters.date_from:
            span &= Q(submitted_at__gte=_day_start(filters.date_from))
        if filters.date_to:
            span &= Q(submitted_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
        outcome_span = Q()
        if filters.date_from:
            outcome_span &= Q(outcome_at__gte=_day_start(filters.date_from))
        if filters.date_to:
            outcome_span &= Q(outcome_at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
        rows = rows.filter(outcome_span | Exists(attempts.filter(span)))
    order = SORTS.get(filters.sort, SORTS["learner"])
    ordering = [f"-{field}" if filters.descending else field for field in order]
    return rows.order_by(*ordering, "pk")


def row_key(row: dict[str, Any]) -> RecordKey:
    return RecordKey(row["learner_id"], row["cohort_id"], row["unit_ref"])


# --- loading records --------------------------------------------------------------------------


@dataclass
class ChainCheck:
    ok: bool
    checked: int
    problem: str = ""
    broken_at: int | None = None


@dataclass
class Record:
    key: RecordKey
    learner: Any
    cohort: Cohort
    unit: Unit
    enrolment: Enrolment | None
    tasks: list[dict[str, Any]] = field(default_factory=list)
    mapping: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[AuditEvent] = field(default_factory=list)
    views: dict[str, Any] = field(default_factory=dict)
    chain: ChainCheck = field(default_factory=lambda: ChainCheck(True, 0))
    sections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome | None:
        current = [o for o in self.outcomes if not getattr(o, "is_superseded", False)]
        return current[0] if current else None

    @property
    def evidence(self) -> list[Evidence]:
        return [e for task in self.tasks for a in task["attempts"] for e in a["evidence"]]


def chosen_options(choices: Sequence[Any], chosen: Iterable[Any]) -> list[str]:
    """The text of each chosen option, for people: answers are stored as option indexes (kept
    as they are in the record JSON and exports), which mean nothing to a reader."""
    labels = []
    for index in chosen:
        try:
            labels.append(str(choices[int(index)]))
        except (IndexError, TypeError, ValueError):
            labels.append(f"an option no longer in the task (number {index})")
    return labels


def _attempt_items(
    attempt: Attempt, items: list[Item], kept: dict[int, Attempt] | None = None
) -> list[dict[str, Any]]:
    """Each item with the answer as the learner last saved it (the frozen snapshot once
    submitted, so a later edit of the task cannot change what the record shows). A kept
    answer says which attempt it is from (`kept`, selectors.kept_sources): its files are
    listed under that attempt."""
    kept_from = {item_id: source.number for item_id, source in (kept or {}).items()}
    judged = {j.item_id: j for j in attempt.judgements.all()}
    rows: list[dict[str, Any]] = []
    if attempt.snapshot:
        by_key = {item.key: item for item in items}
        for entry in attempt.snapshot.get("items", []):
            item = by_key.get(entry["key"])
            answer = entry.get("answer") or {}
            choices = entry.get("choices") or (item.choices if item else [])
            chosen = answer.get("choices") or []
            rows.append(
                {
                    # Older snapshots hold less; the item fills in what they lack.
                    "key": entry["key"],
                    "number": len(rows) + 1,
                    "kind": entry.get("kind", item.kind if item else ""),
                    "prompt": entry.get("prompt", item.prompt if item else ""),
                    "choices": choices,
                    "text": answer.get("text", ""),
                    "chosen": chosen,
                    "chosen_labels": chosen_options(choices, chosen),
                    "carried_forward": answer.get("carried_forward", False),
                    "kept_from": kept_from.get(item.pk) if item else None,
                    "judgement": judged.get(item.pk) if item else None,
                }
            )
        return rows
    answers = {a.item_id: a for a in attempt.answers.all()}
    for number, item in enumerate(items, start=1):
        answer = answers.get(item.pk)
        chosen = answer.choices if answer else []
        rows.append(
            {
                "key": item.key,
                "number": number,
                "kind": item.kind,
                "prompt": item.prompt,
                "choices": item.choices,
                "text": answer.text if answer else "",
                "chosen": chosen,
                "chosen_labels": chosen_options(item.choices, chosen),
                "carried_forward": answer.carried_forward if answer else False,
                "kept_from": kept_from.get(item.pk),
                "judgement": judged.get(item.pk),
            }
        )
    return rows


def check_events(events: Sequence[AuditEvent]) -> ChainCheck:
    """Check each event against its own hash and against the event just before it in the
    whole chain (`prev_actual`, annotated by the query): an altered event, or one removed
    from just before a record's event, shows here; `verify_audit` checks the whole chain."""
    for checked, event in enumerate(events):
        if link_hash(event.prev_hash, event.payload) != event.hash:
            return ChainCheck(
                False, checked, "its payload or hash was altered: they do not match", event.pk
            )
        expected = getattr(event, "prev_actual", None) or GENESIS
        if event.prev_hash != expected:
            return ChainCheck(
                False,
                checked,
                "it does not link to the event before it: an event was removed or rewritten",
                event.pk,
            )
    return ChainCheck(True, len(events))


def _in(keys: Sequence[RecordKey]) -> tuple[set[int], set[int], set[int]]:
    return (
        {k.learner_id for k in keys},
        {k.cohort_id for k in keys},
        {k.unit_id for k in keys},
    )


def load_records(keys: Sequence[RecordKey]) -> list[Record]:
    """Everything about each record, in the order of `keys`, with a fixed number of queries."""
    if not keys:
        return []
    learner_ids, cohort_ids, unit_ids = _in(keys)
    learners = get_user_model().objects.in_bulk(learner_ids)
    cohorts = Cohort.objects.select_related("course").in_bulk(cohort_ids)
    units = Unit.objects.in_bulk(unit_ids)
    enrolments = {
        (e.learner_id, e.cohort_id): e
        for e in Enrolment.objects.filter(learner_id__in=learner_ids, cohort_id__in=cohort_ids)
    }
    tasks_by_unit: dict[int, list[Task]] = defaultdict(list)
    for task in (
        Task.objects.filter(unit_id__in=unit_ids)
        .order_by("position", "id")
        .prefetch_related(
            Prefetch(
                "items",
                queryset=Item.objects.order_by("position", "id").prefetch_related("criteria"),
            )
        )
    ):
        tasks_by_unit[task.unit_id].append(task)
    attempts: dict[tuple[int, int, int], list[Attempt]] = defaultdict(list)
    for attempt in (
        Attempt.objects.filter(
            learner_id__in=learner_ids, cohort_id__in=cohort_ids, task__unit_id__in=unit_ids
        )
        .select_related("marked_by", "task")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.all()),
            Prefetch("evidence", queryset=Evidence.objects.order_by("uploaded_at", "id")),
            Prefetch("judgements", queryset=Judgement.objects.select_related("assessor")),
        )
        .order_by("number", "id")
    ):
        attempts[(attempt.learner_id, attempt.cohort_id, attempt.task_id)].append(attempt)
    outcomes: dict[RecordKey, list[Outcome]] = defaultdict(list)
    for outcome in (
        Outcome.objects.filter(
            learner_id__in=learner_ids, cohort_id__in=cohort_ids, unit_id__in=unit_ids
        )
        .select_related("recorded_by")
        .annotate(is_superseded=Exists(Outcome.objects.filter(supersedes=OuterRef("pk"))))
        .prefetch_related(Prefetch("documents", queryset=OutcomeDocument.objects.all()))
        .order_by("-recorded_at", "-id")
    ):
        outcomes[RecordKey(outcome.learner_id, outcome.cohort_id, outcome.unit_id)].append(outcome)
    events: dict[tuple[int, int], list[AuditEvent]] = defaultdict(list)
    # Auditors' views of a record are audit events too, but a record opened a thousand times
    # must not list a thousand rows: they are counted here and listed by `verify_audit`.
    views: dict[tuple[int, int], dict[str, Any]] = {
        (row["learner_id"], row["unit_id"]): dict(row)
        for row in AuditEvent.objects.filter(
            learner_id__in=learner_ids, unit_id__in=unit_ids, action=ACCESS_ACTION
        )
        .values("learner_id", "unit_id")
        .annotate(count=Count("id"), last=Max("at"))
    }
    for event in (
        AuditEvent.objects.filter(learner_id__in=learner_ids, unit_id__in=unit_ids)
        .exclude(action=ACCESS_ACTION)
        .annotate(
            prev_actual=Subquery(
                AuditEvent.objects.filter(id__lt=OuterRef("id")).order_by("-id").values("hash")[:1]
            )
        )
        .order_by("id")
    ):
        events[(event.learner_id, event.unit_id)].append(event)  # type: ignore[index]
    section_data = [(section, section.load(keys)) for section in record_sections()]

    records = []
    for key in keys:
        unit_tasks = tasks_by_unit.get(key.unit_id, [])
        record = Record(
            key=key,
            learner=learners[key.learner_id],
            cohort=cohorts[key.cohort_id],
            unit=units[key.unit_id],
            enrolment=enrolments.get((key.learner_id, key.cohort_id)),
            outcomes=outcomes.get(key, []),
        )
        for task in unit_tasks:
            items = list(task.items.all())
            record.tasks.append(
                {
                    "task": task,
                    "attempts": [
                        {
                            "attempt": attempt,
                            "task_version": (attempt.snapshot or {})
                            .get("task", {})
                            .get("version", task.version),
                            "items": _attempt_items(
                                attempt,
                                items,
                                kept_sources(
                                    attempt,
                                    attempts.get((key.learner_id, key.cohort_id, task.pk), []),
                                ),
                            ),
                            "evidence": list(attempt.evidence.all()),
                        }
                        for attempt in attempts.get((key.learner_id, key.cohort_id, task.pk), [])
                    ],
                }
            )
            for number, item in enumerate(items, start=1):
                record.mapping.append(
                    {
                        "task": task.title,
                        "item": item.key,
                        # For people: the question's number in its task and its words.
                        "number": number,
                        "prompt": item.prompt,
                        "criteria": sorted(c.number for c in item.criteria.all()),
                    }
                )
        record.events = events.get((key.learner_id, key.unit_id), [])
        record.views = views.get((key.learner_id, key.unit_id), {"count": 0, "last": None})
        record.chain = check_events(record.events)
        record.sections = [
            {"section": section, "data": data.get(key, {})} for section, data in section_data
        ]
        records.append(record)
    return records


def load_record(key: RecordKey) -> Record:
    return load_records([key])[0]


def iter_keys(rows: Iterable[dict[str, Any]]) -> Iterable[RecordKey]:
    for row in rows:
        yield row_key(row)
