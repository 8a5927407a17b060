"""Every state change in assessment: one function per use case, in a transaction, writing its
audit event. Rule violations raise ValidationError with a message a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import (
    Answer,
    Attempt,
    Item,
    Judgement,
    ResubmissionPolicy,
    Task,
)
from assessment.selectors import lock_reason, question_numbers
from delivery.models import Cohort, Enrolment, PerformanceCriterion
from delivery.selectors import module_states_for

LEARNER_DECLARATION = (
    "I declare that this work is my own, that I have not copied it from anyone else, and that "
    "any help I had or sources I used are acknowledged."
)


# Opening a task ----------------------------------------------------------------------------


def uncovered_criteria(task_or_unit: Any) -> list[PerformanceCriterion]:
    """Criteria of the unit that no item of any of its tasks assesses."""
    unit = getattr(task_or_unit, "unit", task_or_unit)
    return list(
        PerformanceCriterion.objects.filter(element__unit=unit)
        .exclude(items__task__unit=unit)
        .select_related("element")
        .order_by("element__number", "position", "id")
    )


@dataclass(frozen=True)
class Availability:
    """Whether a learner may start (or continue) a task now, and if not, why."""

    open: bool
    reason: str = ""
    attempts_used: int = 0
    attempts_allowed: int = 0


def attempts_allowed(task: Task, cohort: Cohort) -> int:
    policy = ResubmissionPolicy.objects.filter(cohort=cohort).first()
    return (policy and policy.max_attempts) or task.max_attempts


def task_availability(learner: Any, task: Task, cohort: Cohort) -> Availability:
    """The rules for opening a task, in the order a learner would want to hear them."""
    allowed = attempts_allowed(task, cohort)
    attempts = list(
        Attempt.objects.filter(task=task, learner=learner, cohort=cohort).order_by("number")
    )
    used = sum(a.status != Attempt.Status.DRAFT for a in attempts)

    def closed(reason: str) -> Availability:
        return Availability(False, reason, used, allowed)

    enrolment = Enrolment.objects.filter(learner=learner, cohort=cohort).first()
    active = enrolment is not None and enrolment.status == Enrolment.Status.ACTIVE
    missing: list[str] = []
    required = list(task.requires_modules.filter(course=cohort.course)) if active else []
    if required:
        states = module_states_for(learner, cohort.course)
        missing = [m.title for m in required if not states.modules[m.id].complete]
    locked = lock_reason(
        active=active, unmapped=active and bool(uncovered_criteria(task)), missing_modules=missing
    )
    if locked:
        return closed(locked)
    last = attempts[-1] if attempts else None
    if last is None or last.status == Attempt.Status.DRAFT:
        return Availability(True, "", used, allowed)
    if last.status == Attempt.Status.SUBMITTED:
        return closed("Your attempt is waiting to be marked.")
    if last.result == Attempt.Result.SATISFACTORY:
        return closed("You have completed this task satisfactorily.")
    if used >= allowed:
        return closed(f"You have used all {allowed} attempts at this task.")
    policy = ResubmissionPolicy.objects.filter(cohort=cohort).first()
    if policy and policy.window_days and last.marked_at:
        deadline = last.marked_at + timedelta(days=policy.window_days)
        if timezone.now() > deadline:
            return closed(
                f"The resubmission window closed on {timezone.localtime(deadline):%-d %B %Y}."
            )
    return Availability(True, "", used, allowed)


@transaction.atomic
def start_attempt(learner: Any, task: Task, cohort: Cohort) -> Attempt:
    """The learner's draft for this task, creating it (a resubmission after NS carries the S
    items forward) when the rules allow. Idempotent: an open draft is returned as it is."""
    draft = Attempt.objects.filter(
        task=task, learner=learner, cohort=cohort, status=Attempt.Status.DRAFT
    ).first()
    if draft is not None:
        return draft
    if task.kind == Task.Kind.OBSERVATION:
        # The assessor opens it (start_observation) while watching the learner at work.
        raise ValidationError(
            "Your assessor or workplace supervisor records this observation: there is "
            "nothing for you to start."
        )
    availability = task_availability(learner, task, cohort)
    if not availability.open:
        raise ValidationError(availability.reason)
    previous = (
        Attempt.objects.select_for_update()
        .filter(task=task, learner=learner, cohort=cohort)
        .order_by("-number")
        .first()
    )
    attempt = Attempt.objects.create(
        task=task,
        learner=learner,
        cohort=cohort,
        number=(previous.number + 1) if previous else 1,
        previous=previous,
    )
    if previous is not None:
        satisfied = {
            j.item_id: j for j in previous.judgements.filter(result=Attempt.Result.SATISFACTORY)
        }
        for answer in previous.answers.filter(item_id__in=satisfied):
            Answer.objects.create(
                attempt=attempt,
                item_id=answer.item_id,
                text=answer.text,
                choices=answer.choices,
                carried_forward=True,
            )
    record_event(
        "attempt.started",
        attempt,
        actor=learner,
        learner=learner,
        unit=task.unit,
        data={"task": task.key, "number": attempt.number, "task_version": task.version},
    )
    return attempt


@transaction.atomic
def start_observation(assessor: Any, learner: Any, task: Task, cohort: Cohort) -> Attempt:
    """An observation (or a third-party report being keyed in) has no learner answers: the
    assessor opens the attempt, which goes straight to marking. Idempotent while one waits."""
    if task.kind != Task.Kind.OBSERVATION:
        raise ValidationError("Only observations are started by the assessor.")
    waiting = Attempt.objects.filter(
        task=task, learner=learner, cohort=cohort, status=Attempt.Status.SUBMITTED
    ).first()
    if waiting is not None:
        return waiting
    availability = task_availability(learner, task, cohort)
    if not availability.open:
        raise ValidationError(availability.reason)
    previous = (
        Attempt.objects.filter(task=task, learner=learner, cohort=cohort)
        .order_by("-number")
        .first()
    )
    now = timezone.now()
    attempt = Attempt.objects.create(
        task=task,
        learner=learner,
        cohort=cohort,
        number=(previous.number + 1) if previous else 1,
        previous=previous,
        status=Attempt.Status.SUBMITTED,
        submitted_at=now,
        claimed_by=assessor,
        claimed_at=now,
    )
    attempt.snapshot = attempt_snapshot(attempt)
    attempt.save(update_fields=["snapshot"])
    record_event(
        "observation.started",
        attempt,
        actor=assessor,
        learner=learner,
        unit=task.unit,
        data={"task": task.key, "number": attempt.number, "task_version": task.version},
    )
    return attempt


# Answering ---------------------------------------------------------------------------------


def clean_answer(item: Item, raw: Any) -> tuple[str, list[int]]:
    """An answer to `item` from form data, or ValidationError naming the problem."""
    if item.auto_marked:
        values = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
        try:
            picked = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise ValidationError({item.key: "Choose from the options given."}) from None
        if any(i < 0 or i >= len(item.choices) for i in picked):
            raise ValidationError({item.key: "Choose from the options given."})
        if item.kind == Item.Kind.SINGLE_CHOICE and len(picked) > 1:
            raise ValidationError({item.key: "Choose one option."})
        return "", picked
    text = raw if isinstance(raw, str) else ""
    if len(text) > 50_000:
        raise ValidationError({item.key: "Keep the answer under 50,000 characters."})
    return text, []


@transaction.atomic
def save_answers(attempt: Attempt, *, learner: Any, answers: dict[str, Any]) -> list[Answer]:
    """Save a draft's answers (by item key) as the learner types. Answers carried forward from
    a satisfactory earlier attempt are not changed. Nothing is saved if any answer is bad."""
    # Only the attempt's row: a lock on the task or unit row would hold up every transaction
    # that references them (their foreign-key checks) while this one waits for the audit lock.
    attempt = (
        Attempt.objects.select_for_update(of=("self",)).select_related("task").get(pk=attempt.pk)
    )
    if attempt.status != Attempt.Status.DRAFT or attempt.learner_id != learner.pk:
        raise ValidationError("This attempt has been submitted and can no longer be changed.")
    if not attempt.task.learner_answers:
        raise ValidationError("This task is completed by your assessor or workplace supervisor.")
    items = {i.key: i for i in attempt.task.items.all()}
    unknown = sorted(set(answers) - set(items))
    if unknown:
        raise ValidationError(f"Unknown questions: {', '.join(unknown)}.")
    cleaned = {key: clean_answer(items[key], raw) for key, raw in answers.items()}
    carried = set(attempt.answers.filter(carried_forward=True).values_list("item__key", flat=True))
    now = timezone.now()
    saved = []
    for key, (text, choices) in cleaned.items():
        if key in carried:
            continue
        answer, _ = Answer.objects.update_or_create(
            attempt=attempt,
            item=items[key],
            defaults={"text": text, "choices": choices, "updated_at": now},
        )
        saved.append(answer)
    Attempt.objects.filter(pk=attempt.pk).update(updated_at=now)
    if saved:
        record_event(
            "attempt.saved",
            attempt,
            actor=learner,
            learner=learner,
            unit=attempt.task.unit,
            data={"items": sorted(a.item.key for a in saved)},
        )
    return saved


def attempt_snapshot(attempt: Attempt) -> dict[str, Any]:
    """The attempt as submitted (task version, items, answers, evidence), kept on the row so the
    record shows what was judged even after the task changes. Public: a third-party report is
    submitted by its own service (assessment/third_party/services.py)."""
    task = attempt.task
    answers = {a.item_id: a for a in attempt.answers.all()}
    evidence = list(attempt.evidence.filter(withdrawn_at__isnull=True))
    return {
        "task": {"key": task.key, "title": task.title, "kind": task.kind, "version": task.version},
        "items": [
            {
                "key": item.key,
                "kind": item.kind,
                "prompt": item.prompt,
                "choices": item.choices,
                "answer": {
                    "text": answers[item.id].text,
                    "choices": answers[item.id].choices,
                    "carried_forward": answers[item.id].carried_forward,
                }
                if item.id in answers
                else None,
                "evidence": [
                    {"name": e.original_name, "sha256": e.sha256, "size": e.size}
                    for e in evidence
                    if e.item_id == item.id
                ],
            }
            for item in task.items.order_by("position", "id")
        ],
        "evidence": [
            {"id": e.pk, "name": e.original_name, "sha256": e.sha256, "size": e.size}
            for e in evidence
        ],
    }


def submission_problems(attempt: Attempt) -> dict[str, list[str]]:
    """What the learner still has to do before submitting, by item key, in their words, in the
    order of the page ("Answer question 3.", "Upload evidence for question 8 (...)")."""
    if not attempt.task.learner_answers:
        return {}
    answers = list(attempt.answers.all())
    answered = {a.item_id for a in answers if a.text.strip() or a.choices}
    # Kept from a Satisfactory answer of the attempt before, files included: nothing to add.
    carried = {a.item_id for a in answers if a.carried_forward}
    with_evidence = set(
        attempt.evidence.filter(withdrawn_at__isnull=True).values_list("item_id", flat=True)
    )
    problems: dict[str, list[str]] = {}
    numbers = question_numbers(attempt.task_id)
    for item in attempt.task.items.order_by("position", "id"):
        number = numbers[item.pk]
        if item.kind == Item.Kind.CHECKLIST or item.id in carried:
            continue
        if item.id not in answered:
            problems.setdefault(item.key, []).append(f"Answer question {number}.")
        if item.evidence_required and item.id not in with_evidence:
            hint = (
                f" ({_lower_first(item.evidence_hint.rstrip('.'))})" if item.evidence_hint else ""
            )
            problems.setdefault(item.key, []).append(
                f"Upload evidence for question {number}{hint}: use its own upload, beside it."
            )
    return problems


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def missing_answers(attempt: Attempt) -> list[str]:
    """What the learner still has to do before submitting, in their words."""
    return [m for messages in submission_problems(attempt).values() for m in messages]


DECLARATION_MISSING = "Tick the declaration that this is your own work to submit."


@transaction.atomic
def submit_attempt(attempt: Attempt, *, learner: Any, declared: bool) -> Attempt:
    """Freeze the draft with the learner's declaration; choice items are marked at once.

    Locks the attempt, so a double click submits once: the second call finds it submitted and
    raises.
    """
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("task__unit")
        .get(pk=attempt.pk)
    )
    if attempt.learner_id != learner.pk:
        raise ValidationError("Only the learner can submit their attempt.")
    if attempt.status != Attempt.Status.DRAFT:
        raise ValidationError("This attempt has already been submitted.")
    if not attempt.task.learner_answers:
        raise ValidationError("This task is completed by your assessor or workplace supervisor.")
    # Everything that stands in the way at once, by item key (and `declared`), so the page can
    # show each reason beside its question and all of them beside the Submit button.
    problems = submission_problems(attempt)
    if not declared:
        problems["declared"] = [DECLARATION_MISSING]
    if problems:
        raise ValidationError(problems)
    now = timezone.now()
    attempt.status = Attempt.Status.SUBMITTED
    attempt.submitted_at = now
    attempt.updated_at = now
    attempt.declaration = LEARNER_DECLARATION
    attempt.snapshot = attempt_snapshot(attempt)
    attempt.save()
    auto_mark(attempt)
    record_event(
        "attempt.submitted",
        attempt,
        actor=learner,
        learner=learner,
        unit=attempt.task.unit,
        data={"number": attempt.number, "declaration": LEARNER_DECLARATION},
    )
    return attempt


def auto_mark(attempt: Attempt) -> None:
    """Choice items judged against their answer key; carried-forward answers stay S. Public for
    the same reason as `attempt_snapshot`."""
    answers = {a.item_id: a for a in attempt.answers.all()}
    for item in attempt.task.items.all():
        answer = answers.get(item.id)
        if answer is not None and answer.carried_forward:
            result = Attempt.Result.SATISFACTORY
            comment = "Satisfactory in the previous attempt."
        elif item.auto_marked:
            right = answer is not None and sorted(answer.choices) == sorted(item.correct)
            result = Attempt.Result.SATISFACTORY if right else Attempt.Result.NOT_SATISFACTORY
            comment = "Marked automatically."
        else:
            continue
        Judgement.objects.create(
            attempt=attempt, item=item, result=result, comment=comment, automatic=True
        )
