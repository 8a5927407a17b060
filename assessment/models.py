"""Assessment: tasks and their items mapped to a unit's criteria; learners' attempts, answers and
evidence; assessors' judgements; unit outcomes; and the append-only audit trail.

State changes happen only in the services of the app and of its rooms (assessment/services.py,
marking/services.py, evidence/services.py, ...), each writing its AuditEvent in the same
transaction. Every model of the app stays in this one module, whichever room uses it.
"""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

# AuditorGrant moved to delivery, where every app's permissions ask it; importable here too.
from delivery.models import AuditorGrant as AuditorGrant
from delivery.models import Cohort, EvidenceItem, Module, PerformanceCriterion, Unit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class Task(models.Model):
    """An assessment task of a unit, made of items. `version` rises when its items change, and
    every submitted attempt keeps a snapshot of the version it answered."""

    class Kind(models.TextChoices):
        QUIZ = "quiz", "Quiz"
        WRITTEN = "written", "Written"
        PROJECT = "project", "Project"
        OBSERVATION = "observation", "Observation"
        THIRD_PARTY_REPORT = "third_party_report", "Third-party report"

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="tasks")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    position = models.PositiveIntegerField(default=0)
    instructions = models.TextField(blank=True, help_text="Markdown")
    conditions = models.TextField(blank=True, help_text="Assessment conditions (Markdown)")
    max_attempts = models.PositiveSmallIntegerField(default=3)
    version = models.PositiveIntegerField(default=1)
    requires_modules = models.ManyToManyField(
        Module,
        blank=True,
        related_name="unlocks_tasks",
        help_text="Modules a learner must finish before the task opens.",
    )

    class Meta:
        ordering = ["unit", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "key"], name="task_key_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.unit.code}: {self.title}"

    @property
    def learner_answers(self) -> bool:
        """Observations and third-party reports are completed by someone watching the learner."""
        return self.kind not in {self.Kind.OBSERVATION, self.Kind.THIRD_PARTY_REPORT}


class Item(models.Model):
    """A question or checklist criterion of a task, mapped to what it assesses."""

    class Kind(models.TextChoices):
        SINGLE_CHOICE = "single_choice", "Single choice"
        MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
        SHORT_ANSWER = "short_answer", "Short answer"
        LONG_ANSWER = "long_answer", "Long answer"
        CHECKLIST = "checklist", "Checklist criterion"

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    prompt = models.TextField(help_text="Markdown")
    choices = models.JSONField(default=list, blank=True, help_text="For choice items: the options")
    correct = models.JSONField(
        default=list, blank=True, help_text="For choice items: the indexes of the right options"
    )
    evidence_required = models.BooleanField(default=False)
    evidence_hint = models.CharField(max_length=500, blank=True)
    criteria = models.ManyToManyField(PerformanceCriterion, blank=True, related_name="items")
    evidence_items = models.ManyToManyField(EvidenceItem, blank=True, related_name="items")

    class Meta:
        ordering = ["task", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "key"], name="item_key_per_task"),
        ]

    def __str__(self) -> str:
        return f"{self.task.title} / {self.key}"

    def clean(self) -> None:
        if self.task_id is None:
            return
        allowed = ITEM_KINDS_BY_TASK_KIND[self.task.kind]
        if self.kind not in allowed:
            raise ValidationError({"kind": item_kind_problem(self.task.kind, self.kind)})

    @property
    def auto_marked(self) -> bool:
        return self.kind in {self.Kind.SINGLE_CHOICE, self.Kind.MULTIPLE_CHOICE}


# What each kind of task is made of: someone watching the learner ticks a checklist; a learner
# answers questions.
_QUESTIONS: set[str] = {
    Item.Kind.SINGLE_CHOICE,
    Item.Kind.MULTIPLE_CHOICE,
    Item.Kind.SHORT_ANSWER,
    Item.Kind.LONG_ANSWER,
}
ITEM_KINDS_BY_TASK_KIND: dict[str, set[str]] = {
    Task.Kind.QUIZ: {Item.Kind.SINGLE_CHOICE, Item.Kind.MULTIPLE_CHOICE, Item.Kind.SHORT_ANSWER},
    Task.Kind.WRITTEN: _QUESTIONS,
    Task.Kind.PROJECT: _QUESTIONS,
    Task.Kind.OBSERVATION: {Item.Kind.CHECKLIST},
    Task.Kind.THIRD_PARTY_REPORT: {Item.Kind.CHECKLIST},
}


def item_kind_problem(task_kind: str, item_kind: str) -> str:
    allowed = ", ".join(sorted(ITEM_KINDS_BY_TASK_KIND[task_kind]))
    article = "an" if task_kind[0] in "aeiou" else "a"
    return f"{article} {task_kind} task is made of {allowed} items, not {item_kind}"


class ResubmissionPolicy(models.Model):
    """A cohort's own limits on attempts, overriding each task's `max_attempts`."""

    cohort = models.OneToOneField(Cohort, on_delete=models.CASCADE, related_name="resubmission")
    max_attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    window_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Days after a Not Satisfactory result in which a resubmission is accepted.",
    )

    def __str__(self) -> str:
        return f"Resubmission policy of {self.cohort}"


class AttemptQuerySet(models.QuerySet["Attempt"]):
    def awaiting_marking(self) -> AttemptQuerySet:
        return self.filter(status=Attempt.Status.SUBMITTED)

    def for_assessor(self, user: AbstractBaseUser | Any) -> AttemptQuerySet:
        return self.filter(cohort__assessors=user)


def evidence_upload_to(instance: Any, filename: str) -> str:
    """A random key per file: names never collide, never reveal the learner, never overwrite."""
    return f"evidence/{secrets.token_hex(2)}/{secrets.token_hex(16)}"


class Attempt(models.Model):
    """One submission of a task by a learner in a cohort; a draft until submitted."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for marking"
        MARKED = "marked", "Marked"

    class Result(models.TextChoices):
        SATISFACTORY = "S", "Satisfactory"
        NOT_SATISFACTORY = "NS", "Not satisfactory"

    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="attempts")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="attempts"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="resubmission"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    result = models.CharField(max_length=2, choices=Result.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    declaration = models.TextField(blank=True, help_text="The authenticity declaration signed")
    snapshot = models.JSONField(null=True, blank=True, help_text="Task and answers as submitted")
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(null=True, blank=True)
    feedback = models.TextField(blank=True)
    assessor_declaration = models.TextField(blank=True)
    # Optimistic concurrency for marking: a save names the version it started from.
    version = models.PositiveIntegerField(default=0)
    # Observation details, recorded by the assessor.
    observed_on = models.DateField(null=True, blank=True)
    observed_at_place = models.CharField(max_length=255, blank=True)

    objects = AttemptQuerySet.as_manager()

    class Meta:
        ordering = ["submitted_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "learner", "cohort", "number"], name="attempt_number_once"
            ),
            models.UniqueConstraint(
                fields=["task", "learner", "cohort"],
                condition=Q(status="draft"),
                name="one_draft_per_task",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="attempt_queue"),
            # The assessor's queue: waiting attempts of a few cohorts among many.
            models.Index(fields=["status", "cohort", "submitted_at"], name="attempt_queue_cohort"),
            # The queue's counts: grouped from the index alone, without reading the attempts.
            models.Index(fields=["status", "cohort", "task"], name="attempt_queue_counts"),
        ]

    def __str__(self) -> str:
        return f"{self.task} by {self.learner} (attempt {self.number})"


class Answer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="answers")
    text = models.TextField(blank=True)
    choices = models.JSONField(default=list, blank=True)
    # Satisfactory in the attempt before: kept, not answered again.
    carried_forward = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "item"], name="answer_once_per_item"),
        ]

    def __str__(self) -> str:
        return f"Answer to {self.item_id} in attempt {self.attempt_id}"


class Evidence(models.Model):
    """A file a learner (or assessor, for observations) attached to an attempt. Never
    overwritten; served only through a view that checks access."""

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="evidence")
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    file = models.FileField(upload_to=evidence_upload_to, max_length=255)
    # A copy for viewing: images without location metadata, made after upload.
    preview = models.FileField(upload_to=evidence_upload_to, max_length=255, blank=True)
    thumbnail = models.FileField(upload_to=evidence_upload_to, max_length=255, blank=True)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100, help_text="Sniffed from the content")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    # Set when the learner removes it from a draft; the file itself is kept for the record.
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Set when the retention policy deleted the file's bytes (`purge_evidence`); the row, its
    # name, size and SHA-256 stay, so the record still says what was assessed.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class Judgement(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="judgements")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="judgements")
    result = models.CharField(max_length=2, choices=Attempt.Result.choices)
    comment = models.TextField(blank=True)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "item"], name="judgement_once_per_item"),
        ]

    def __str__(self) -> str:
        return f"{self.result} for {self.item_id} in attempt {self.attempt_id}"


class OutcomeQuerySet(models.QuerySet["Outcome"]):
    def current(self) -> OutcomeQuerySet:
        return self.filter(superseded_by__isnull=True)


class Outcome(models.Model):
    """A learner's result in a unit. Corrected only by a new outcome that supersedes it."""

    class Code(models.TextChoices):
        # The national VET outcome identifiers.
        COMPETENT = "20", "Competent"
        NOT_YET_COMPETENT = "30", "Not yet competent"
        RPL_GRANTED = "51", "Recognition of prior learning granted"
        CREDIT_TRANSFER = "60", "Credit transfer"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="outcomes"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="outcomes")
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="outcomes")
    code = models.CharField(max_length=2, choices=Code.choices)
    justification = models.TextField(blank=True)
    # Null for a credit Flipside records itself when a learner enrols holding the unit already
    # (assessment/marking/credit.py): pages say "credited automatically".
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # "The current outcome of this learner in this unit and cohort": asked once per
            # row by the records search and the retention policy.
            models.Index(
                fields=["learner", "unit", "cohort", "-recorded_at"], name="outcome_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit.code} {self.get_code_display()} for {self.learner}"

    @property
    def competent(self) -> bool:
        return self.code in {
            self.Code.COMPETENT,
            self.Code.RPL_GRANTED,
            self.Code.CREDIT_TRANSFER,
        }


class AuditEvent(models.Model):
    """One link of the append-only, hash-chained audit trail.

    `hash` = SHA-256 over the previous hash and this event's canonical JSON; the database
    refuses updates and deletes (triggers in a migration). See assessment/audit/services.py.
    """

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=60)
    # Whose record the event belongs to, for the auditor's record page.
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    payload = models.TextField(help_text="Canonical JSON, exactly as hashed")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["learner", "unit", "id"], name="audit_by_record")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"

    @property
    def action_label(self) -> str:
        """The action in words for the record page (the code stays in exports and the chain)."""
        known = AUDIT_ACTION_LABELS.get(self.action)
        return known or self.action.replace(".", " ").replace("_", " ").capitalize()


# What each audit action is called on the auditor's pages; anything else is spelt out.
AUDIT_ACTION_LABELS = {
    "attempt.started": "Attempt started",
    "attempt.saved": "Draft saved",
    "attempt.submitted": "Attempt submitted",
    "attempt.marked": "Attempt marked",
    "attempt.remarked": "Attempt marked again",
    "observation.started": "Observation started",
    "evidence.added": "Evidence added",
    "evidence.withdrawn": "Evidence withdrawn",
    "evidence.purged": "Evidence file purged (retention policy)",
    "outcome.recorded": "Outcome recorded",
    "outcome.credited": "Unit credited automatically on enrolment",
    "credential.issued": "Credential issued",
    "credential.revoked": "Credential revoked",
    "learner_record.issued": "Learner record signed",
    "third_party.requested": "Third-party report requested",
    "third_party.resent": "Third-party report link sent again",
    "third_party.completed": "Third-party report completed",
    "legal_hold.placed": "Legal hold placed",
    "legal_hold.released": "Legal hold released",
    "auditor.opened": "Opened by an auditor",
}


class ThirdPartyRequest(models.Model):
    """A workplace supervisor's checklist for a third-party report, completed without an account
    through a signed, expiring, single-use link. Only the token's hash is stored."""

    attempt = models.OneToOneField(
        Attempt, on_delete=models.PROTECT, related_name="third_party_request"
    )
    supervisor_email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    supervisor_name = models.CharField(max_length=255, blank=True)
    supervisor_role = models.CharField(max_length=255, blank=True)
    declaration = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Third-party report for attempt {self.attempt_id}"


class OutcomeDocument(models.Model):
    """Evidence behind an RPL or credit transfer outcome (a transcript, a statement of service),
    stored like assessment evidence: checked by content, hashed, never overwritten."""

    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="documents")
    file = models.FileField(upload_to=evidence_upload_to, max_length=255)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.original_name


class RecordExport(models.Model):
    """A bulk export of assessment records: one zip archive built by a Celery job."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="record_exports"
    )
    filters = models.JSONField(default=dict, help_text="The search filters, as submitted")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    missing_files = models.PositiveIntegerField(default=0)
    archive = models.FileField(upload_to="exports/", blank=True, max_length=255)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    runs = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started it")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.public_id} ({self.get_status_display()})"


def record_pdf_upload_to(instance: Any, filename: str) -> str:
    """A random key, like evidence: never served by URL, never guessable, never overwritten."""
    return f"record-pdfs/{secrets.token_hex(2)}/{secrets.token_hex(16)}.pdf"


class RecordPdf(models.Model):
    """A stored rendering of one record's PDF, for the state its `fingerprint` names.

    Derived data: rendered in the background when the record changes, packed by bulk exports
    only while the record's current fingerprint is the same (records/stored.py), deleted with
    the record's evidence when it is purged. Private like evidence: the file is in the
    default storage, served only through the permission-checked record views."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    # SHA-256 over what the PDF shows (the record JSON it carries, what only the page shows,
    # the renderer's version): records/pdf.py `fingerprint`.
    fingerprint = models.CharField(max_length=64)
    file = models.FileField(upload_to=record_pdf_upload_to, max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the stored bytes, checked on reading")
    # The time the PDF says it was produced, and when the record was read for it: a newer
    # rendering replaces the ones read before it.
    generated_at = models.DateTimeField()
    loaded_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "cohort", "unit", "fingerprint"],
                name="record_pdf_once_per_state",
            ),
        ]

    def __str__(self) -> str:
        return f"PDF of record {self.learner_id}/{self.cohort_id}/{self.unit_id}"


class LegalHold(models.Model):
    """Stops any deletion of a learner's records (all units, or one) until released."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="legal_holds"
    )
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="legal_holds"
    )
    reason = models.CharField(max_length=255)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        scope = self.unit.code if self.unit else "all units"
        return f"Hold on {self.learner} ({scope})"
