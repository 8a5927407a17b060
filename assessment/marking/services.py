"""Marking and outcomes: claiming an attempt, judging it item by item (S/NS) with the
assessor's declaration, and recording the unit outcome that credentials listen for
(`unit_outcome_recorded`, sent on commit). Each writes its audit event in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.evidence.services import FileTooLarge, clean_name, digest, max_upload_bytes, sniff
from assessment.models import Attempt, Judgement, Outcome, OutcomeDocument, Task
from assessment.services import attempts_allowed
from assessment.signals import record_changed, unit_outcome_recorded
from delivery.models import Cohort, Enrolment
from delivery.records import RecordKey

ASSESSOR_DECLARATION = (
    "I declare that my judgement is fair, valid, reliable and flexible, and based on sufficient, "
    "current and authentic evidence, following the rules of evidence and the assessment "
    "conditions of the unit."
)


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


# Marking -----------------------------------------------------------------------------------


def claim_attempt(attempt: Attempt, *, assessor: Any) -> Attempt:
    """Show other assessors that this attempt is being marked. A claim by someone else older
    than CLAIM_LAPSES_AFTER lapses, so an abandoned claim never blocks the queue.

    The marking page claims on every visit; while the assessor's own claim is younger than
    CLAIM_RENEWED_AFTER it is left as it is, so reading the page writes nothing."""
    now = timezone.now()
    if (
        attempt.status == Attempt.Status.SUBMITTED
        and attempt.claimed_by_id == assessor.pk
        and attempt.claimed_at is not None
        and now - attempt.claimed_at < CLAIM_RENEWED_AFTER
    ):
        return attempt
    return _claim(attempt, assessor)


@transaction.atomic
def _claim(attempt: Attempt, assessor: Any) -> Attempt:
    attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.status != Attempt.Status.SUBMITTED:
        raise ValidationError("Only an attempt waiting for marking can be claimed.")
    fresh = attempt.claimed_at and timezone.now() - attempt.claimed_at < CLAIM_LAPSES_AFTER
    if attempt.claimed_by_id not in (None, assessor.pk) and fresh:
        raise ValidationError(f"{_name(attempt.claimed_by)} is marking this attempt.")
    attempt.claimed_by = assessor
    attempt.claimed_at = timezone.now()
    attempt.save(update_fields=["claimed_by", "claimed_at"])
    return attempt


CLAIM_LAPSES_AFTER = timedelta(minutes=60)
CLAIM_RENEWED_AFTER = timedelta(minutes=5)


class StaleMarking(ValidationError):
    """Someone else saved this attempt's marking since the assessor opened it."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt = attempt
        who = _name(attempt.marked_by) if attempt.marked_by else "Another assessor"
        super().__init__(
            f"{who} marked this attempt while you had it open. Their marking is shown below; "
            "nothing of theirs or yours has been overwritten. Review it, then save again if "
            "you still want to change it."
        )


@dataclass(frozen=True)
class ItemJudgement:
    item_key: str
    result: str
    comment: str = ""


@transaction.atomic
def mark_attempt(
    attempt: Attempt,
    *,
    assessor: Any,
    judgements: list[ItemJudgement],
    feedback: str,
    declared: bool,
    version: int,
    observed_on: Any = None,
    observed_at_place: str = "",
) -> Attempt:
    """Record S/NS and a comment per item, overall feedback and the assessor's declaration.

    Optimistic concurrency: `version` is the attempt's version when the assessor opened it; if
    another save came first, StaleMarking is raised and nothing is written.
    """
    attempt = (
        # Lock the attempt row only: marked_by is an outer join, which PostgreSQL cannot lock.
        Attempt.objects.select_for_update(of=("self",))
        .select_related("task__unit", "cohort", "learner", "marked_by")
        .get(pk=attempt.pk)
    )
    if attempt.version != version:
        raise StaleMarking(attempt)
    if attempt.status == Attempt.Status.DRAFT:
        raise ValidationError("This attempt has not been submitted yet.")
    if not declared:
        raise ValidationError("Tick the assessor declaration to record your judgement.")
    ordered = list(attempt.task.items.order_by("position", "id"))
    items = {i.key: i for i in ordered}
    # Messages name items as the marking page numbers them ("item 3"), never by their keys.
    numbers = {item.key: n for n, item in enumerate(ordered, start=1)}
    given = {j.item_key: j for j in judgements}
    unknown = sorted(set(given) - set(items))
    if unknown:
        raise ValidationError(
            f"This task no longer has {len(unknown)} of the items judged; reload the page."
        )
    missing = sorted(set(items) - set(given), key=numbers.__getitem__)
    if missing:
        raise ValidationError(f"Judge every item: {_numbered(missing, numbers)} not judged yet.")
    bad = [j.item_key for j in judgements if j.result not in Attempt.Result.values]
    if bad:
        raise ValidationError(
            f"Choose Satisfactory or Not satisfactory for {_numbered(bad, numbers)}."
        )
    not_satisfactory_without_comment = [
        j.item_key
        for j in judgements
        if j.result == Attempt.Result.NOT_SATISFACTORY and not j.comment.strip()
    ]
    if not_satisfactory_without_comment:
        raise ValidationError(
            "Say what is missing for each Not Satisfactory item: "
            + _numbered(not_satisfactory_without_comment, numbers)
            + "."
        )
    if attempt.task.kind == Task.Kind.OBSERVATION and not (observed_on and observed_at_place):
        raise ValidationError("Record the date and place of the observation.")

    now = timezone.now()
    for key, given_judgement in given.items():
        Judgement.objects.update_or_create(
            attempt=attempt,
            item=items[key],
            defaults={
                "result": given_judgement.result,
                "comment": given_judgement.comment.strip(),
                "assessor": assessor,
                "automatic": False,
                "recorded_at": now,
            },
        )
    result = (
        Attempt.Result.SATISFACTORY
        if all(j.result == Attempt.Result.SATISFACTORY for j in judgements)
        else Attempt.Result.NOT_SATISFACTORY
    )
    remarked = attempt.status == Attempt.Status.MARKED
    attempt.status = Attempt.Status.MARKED
    attempt.result = result
    attempt.marked_by = assessor
    attempt.marked_at = now
    attempt.feedback = feedback.strip()
    attempt.assessor_declaration = ASSESSOR_DECLARATION
    attempt.version += 1
    attempt.claimed_by = None
    attempt.claimed_at = None
    if observed_on:
        attempt.observed_on = observed_on
        attempt.observed_at_place = observed_at_place
    attempt.save()
    record_event(
        "attempt.remarked" if remarked else "attempt.marked",
        attempt,
        actor=assessor,
        learner=attempt.learner,
        unit=attempt.task.unit,
        data={
            "result": result,
            "judgements": {k: [j.result, j.comment] for k, j in sorted(given.items())},
            "feedback": attempt.feedback,
            "declaration": ASSESSOR_DECLARATION,
        },
    )
    record = RecordKey(attempt.learner_id, attempt.cohort_id, attempt.task.unit_id)
    record_changed.send(sender=Attempt, key=record, reason="judgement")
    _tell_learner_marked(attempt)
    return attempt


def _numbered(keys: Sequence[str], numbers: dict[str, int]) -> str:
    """Items for a message, as the marking page numbers them: "item 2", "items 2, 5 and 7"."""
    labels = [str(numbers[key]) for key in sorted(keys, key=numbers.__getitem__)]
    if len(labels) == 1:
        return f"item {labels[0]}"
    return f"items {', '.join(labels[:-1])} and {labels[-1]}"


def _tell_learner_marked(attempt: Attempt) -> None:
    """In the app at once, and by e-mail through Celery, both after the commit."""
    from delivery.notifications import notify_user
    from delivery.tasks import send_email

    verdict = attempt.get_result_display()
    notify_user(
        attempt.learner_id,
        f"{attempt.task.title} was marked {verdict}.",
        level="success" if attempt.result == Attempt.Result.SATISFACTORY else "warning",
        url=reverse("assessment:attempt", args=[attempt.pk]),
    )
    if attempt.learner.email:
        context = {"attempt": attempt, "provider_name": settings.PROVIDER_NAME}
        send_email.delay_on_commit(
            f"{attempt.task.title}: {verdict}",
            render_to_string("assessment/email/marked.txt", context),
            [attempt.learner.email],
        )


# Outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitProgress:
    """Where a learner stands in a unit's tasks, for deciding the outcome."""

    tasks: int
    satisfactory: int
    exhausted: list[str]

    @property
    def all_satisfactory(self) -> bool:
        return self.tasks > 0 and self.satisfactory == self.tasks


def unit_progress(learner: Any, unit: Any, cohort: Cohort) -> UnitProgress:
    tasks = list(Task.objects.filter(unit=unit))
    latest = {
        row["task_id"]: row["number"]
        for row in Attempt.objects.filter(learner=learner, cohort=cohort, task__unit=unit)
        .exclude(status=Attempt.Status.DRAFT)
        .values("task_id")
        .annotate(number=Max("number"))
    }
    last = {
        (a.task_id): a
        for a in Attempt.objects.filter(
            learner=learner, cohort=cohort, task__unit=unit, status=Attempt.Status.MARKED
        )
        if latest.get(a.task_id) == a.number
    }
    satisfactory = sum(
        1 for t in tasks if t.id in last and last[t.id].result == Attempt.Result.SATISFACTORY
    )
    exhausted = [
        t.title
        for t in tasks
        if t.id in last
        and last[t.id].result == Attempt.Result.NOT_SATISFACTORY
        and last[t.id].number >= attempts_allowed(t, cohort)
    ]
    return UnitProgress(len(tasks), satisfactory, exhausted)


def record_outcome(
    learner: Any,
    unit: Any,
    cohort: Cohort,
    *,
    code: str,
    recorded_by: Any,
    justification: str = "",
    documents: Sequence[tuple[str, Any]] = (),
) -> Outcome:
    """Record a unit outcome; a new outcome supersedes the current one (never edited).

    Competent needs every task Satisfactory; Not Yet Competent needs a task whose attempts
    ran out; RPL and credit transfer need a justification and at least one document
    (`documents`: (name, file) pairs, checked by content like evidence). Files are stored
    before the transaction and removed again if it fails. `unit_outcome_recorded` is sent
    once the transaction commits.
    """
    if code not in Outcome.Code.values:
        raise ValidationError("Choose an outcome.")
    if not cohort.course.course_units.filter(unit=unit).exists():
        raise ValidationError(f"{unit.code} is not part of {cohort.course}.")
    if not Enrolment.objects.filter(learner=learner, cohort=cohort).exists():
        raise ValidationError("The learner is not enrolled in this cohort.")
    progress = unit_progress(learner, unit, cohort)
    if code == Outcome.Code.COMPETENT and not progress.all_satisfactory:
        raise ValidationError(
            f"Competent needs every task Satisfactory: {progress.satisfactory} of "
            f"{progress.tasks} are."
        )
    if code == Outcome.Code.NOT_YET_COMPETENT and not progress.exhausted and not justification:
        raise ValidationError(
            "Not Yet Competent is recorded when a task's attempts have run out; otherwise "
            "give a justification."
        )
    if code in {Outcome.Code.RPL_GRANTED, Outcome.Code.CREDIT_TRANSFER} and not (
        justification.strip() and documents
    ):
        raise ValidationError(
            "Give the justification and attach the evidence for RPL or credit transfer."
        )
    stored = [
        _store_document(name, content, uploaded_by=recorded_by) for name, content in documents
    ]
    try:
        return _record_outcome(
            learner, unit, cohort, code=code, recorded_by=recorded_by,
            justification=justification, documents=stored,
        )  # fmt: skip
    except BaseException:
        for document in stored:
            document.file.delete(save=False)
        raise


def _store_document(name: str, content: Any, *, uploaded_by: Any) -> OutcomeDocument:
    """Check and store one RPL/CT document (not yet saved as a row)."""
    fileobj = content if isinstance(content, File) else File(content)
    content_type = sniff(fileobj)
    sha256, size = digest(fileobj)
    if size > max_upload_bytes():
        raise FileTooLarge(size, max_upload_bytes())
    fileobj.seek(0)
    document = OutcomeDocument(
        original_name=clean_name(name),
        size=size,
        sha256=sha256,
        content_type=content_type,
        uploaded_by=uploaded_by,
    )
    document.file.save(document.original_name, fileobj, save=False)
    return document


@transaction.atomic
def _record_outcome(
    learner: Any,
    unit: Any,
    cohort: Cohort,
    *,
    code: str,
    recorded_by: Any,
    justification: str,
    documents: list[OutcomeDocument],
) -> Outcome:
    current = (
        # "Not superseded" is an outer join, which PostgreSQL cannot lock: lock the row only.
        Outcome.objects.select_for_update(of=("self",))
        .filter(learner=learner, unit=unit, cohort=cohort, superseded_by__isnull=True)
        .first()
    )
    if current is not None and current.code == code and not justification:
        raise ValidationError(f"{unit.code} is already recorded as {current.get_code_display()}.")
    outcome = Outcome.objects.create(
        learner=learner,
        unit=unit,
        cohort=cohort,
        code=code,
        justification=justification.strip(),
        recorded_by=recorded_by,
        supersedes=current,
    )
    for document in documents:
        document.outcome = outcome
        document.save()
    record_event(
        "outcome.recorded",
        outcome,
        actor=recorded_by,
        learner=learner,
        unit=unit,
        data={
            "code": code,
            "justification": outcome.justification,
            "supersedes": current.pk if current else None,
            "documents": [
                {"name": d.original_name, "sha256": d.sha256, "size": d.size} for d in documents
            ],
        },
    )
    transaction.on_commit(lambda: unit_outcome_recorded.send(sender=Outcome, outcome_id=outcome.pk))
    # After the signal above: in the embedded mode its credential is issued first, so the PDF
    # rendered for this change already shows it.
    key = RecordKey(outcome.learner_id, outcome.cohort_id, outcome.unit_id)
    record_changed.send(sender=Outcome, key=key, reason="outcome")
    return outcome
