"""What the learner's task page shows (assessment/task.html and its evidence blocks): built
here so that the views only check access, call a service and render."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from assessment import services
from assessment.evidence.services import active_evidence, evidence_rule
from assessment.models import Attempt, Evidence, Item, Outcome, Task
from assessment.selectors import kept_evidence, outcome_basis, question_numbers


def task_page(
    learner: Any,
    cohort: Any,
    the_task: Task,
    *,
    refused: ValidationError | None = None,
    posted: Any = None,
) -> dict[str, Any]:
    """The task page as the learner works through it: each question with its own evidence, the
    attempt's other evidence, the declaration, then Submit. After a refused submit (`refused`,
    by item key and `declared`), every reason is shown beside the button and at its question,
    and what was `posted` (answers, the declaration tick) is shown as posted."""
    attempts = list(
        Attempt.objects.filter(task=the_task, learner=learner.pk, cohort=cohort)
        .prefetch_related("judgements__item")
        .order_by("-number")
    )
    draft = next((a for a in attempts if a.status == Attempt.Status.DRAFT), None)
    numbers = question_numbers(the_task)
    for attempt in attempts:
        attempt.judged = judged(attempt, numbers)  # type: ignore[attr-defined]
    problems: dict[str, list[str]] = {}
    if refused is not None:
        problems = (
            refused.message_dict if hasattr(refused, "error_dict") else {"": refused.messages}
        )
    if refused is None:
        posted = None
    # Competent already (RPL, credit transfer, an earlier outcome): the task is not needed.
    outcome = (
        Outcome.objects.current()
        .filter(learner=learner.pk, unit=the_task.unit_id, cohort=cohort)
        .first()
    )
    return {
        "cohort": cohort,
        "task": the_task,
        "availability": services.task_availability(learner, the_task, cohort),
        "draft": draft,
        "questions": questions(draft, problems, posted, numbers) if draft else [],
        "attempt_evidence": evidence_block(draft, None) if draft else None,
        "history": [a for a in attempts if a.status != Attempt.Status.DRAFT],
        "declaration": services.LEARNER_DECLARATION,
        "declared": bool(posted and posted.get("declared")),
        # (where, message): each reason beside the button links to its question.
        "problems": [
            ("q-" + key if key not in ("", "declared") else "declaration", message)
            for key, messages in problems.items()
            for message in messages
        ],
        "declaration_problem": problems.get("declared", []),
        "outcome": outcome,
        "outcome_basis": outcome_basis(outcome) if outcome else "",
    }


def judged(attempt: Attempt, numbers: dict[int, int]) -> list[tuple[int | None, Any]]:
    """The attempt's judgements as (question number, judgement), in the page's order: people
    read "Question 3", never the item's key."""
    rows = [(numbers.get(j.item_id), j) for j in attempt.judgements.all()]
    return sorted(rows, key=lambda row: (row[0] is None, row[0] or 0))


def questions(
    attempt: Attempt,
    problems: dict[str, list[str]],
    posted: Any = None,
    numbers: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Each question of the draft with its answer (as posted, after a refused submit), its
    problems and its evidence block; a kept answer with the files of the attempt it is from.
    Choices are compared as the strings the form posts (`chosen`): a posted value is never
    converted, so no value can fail the page."""
    answers = {a.item_id: a for a in attempt.answers.all()}
    items = list(attempt.task.items.order_by("position", "id"))
    if numbers is None:
        numbers = question_numbers(attempt.task_id)
    takes_evidence = {t.pk for t in evidence_targets(items)}
    evidence = list(active_evidence(attempt))
    kept = kept_evidence(attempt)
    rows = []
    for item in items:
        answer: Any = answers.get(item.id)
        name = f"answer-{item.key}"
        carried = answer is not None and answer.carried_forward
        chosen = [str(c) for c in answer.choices] if answer is not None else []
        if posted is not None and not carried:
            # As posted, so nothing typed is lost even when it could not be saved.
            if item.auto_marked:
                chosen = posted.getlist(name)
                answer = {"text": "", "carried_forward": False}
            elif name in posted:
                answer = {"text": posted[name], "carried_forward": False}
        rows.append(
            {
                "item": item,
                "number": numbers.get(item.pk),
                "answer": answer,
                "chosen": chosen,
                "problems": problems.get(item.key, []),
                "evidence": evidence_block(
                    attempt, item, files=evidence, items=items, numbers=numbers
                )
                if item.pk in takes_evidence and not carried
                else None,
                "carried_evidence": kept.get(item.pk, []) if carried else [],
            }
        )
    return rows


def evidence_targets(items: list[Item]) -> list[Item]:
    """The questions a learner attaches files to: those that require evidence or say what
    evidence they take; the rest are answered in words or by choosing."""
    return [i for i in items if i.evidence_required or i.evidence_hint]


def evidence_block(
    attempt: Attempt,
    item: Item | None,
    *,
    files: list[Evidence] | None = None,
    items: list[Item] | None = None,
    numbers: dict[int, int] | None = None,
    error: str = "",
) -> dict[str, Any]:
    """The context of one evidence block (_evidence_block.html): a question's files, or the
    attempt's files that belong to no question, with the upload and the moves it offers."""
    if files is None:
        files = list(active_evidence(attempt))
    if items is None:
        items = list(attempt.task.items.order_by("position", "id"))
    if numbers is None:
        numbers = question_numbers(attempt.task_id)
    return {
        "attempt": attempt,
        "item": item,
        "number": numbers.get(item.pk) if item else None,
        "files": [f for f in files if f.item_id == (item.pk if item else None)],
        "rule": evidence_rule(item),
        "moves": [
            (t, numbers[t.pk]) for t in evidence_targets(items) if item is None or t.pk != item.pk
        ],
        "error": error,
    }
