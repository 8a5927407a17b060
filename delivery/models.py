"""The catalogue (units, courses) and who takes it with whom (cohorts, enrolments).

Units and courses are what a provider is registered to deliver; a cohort is one run of a course
with its trainers and assessors; an enrolment puts a learner in a cohort.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Unit(models.Model):
    """A unit of competency, e.g. HLTINF006, identified by its national code."""

    class Status(models.TextChoices):
        CURRENT = "current", "Current"
        SUPERSEDED = "superseded", "Superseded"
        DELETED = "deleted", "Deleted"

    code = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=255)
    version = models.CharField(max_length=20, default="1", help_text="Release, e.g. 1 or 2.1")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CURRENT)
    description = models.TextField(blank=True)
    assessment_conditions = models.TextField(blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class Element(models.Model):
    """What a unit requires, e.g. "1 Follow standard precautions"."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="elements")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=500)

    class Meta:
        ordering = ["unit", "number"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "number"], name="element_number_per_unit"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class PerformanceCriterion(models.Model):
    """One numbered criterion (1.1, 1.2 ...) of an element; assessment items map to these."""

    element = models.ForeignKey(Element, on_delete=models.CASCADE, related_name="criteria")
    number = models.CharField(max_length=10, help_text="e.g. 1.1")
    position = models.PositiveSmallIntegerField(default=0)
    text = models.TextField()

    class Meta:
        ordering = ["element__number", "position", "id"]
        verbose_name_plural = "performance criteria"
        constraints = [
            models.UniqueConstraint(
                fields=["element", "number"], name="criterion_number_per_element"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.text[:60]}"


class EvidenceItem(models.Model):
    """A knowledge evidence or performance evidence requirement of a unit."""

    class Kind(models.TextChoices):
        KNOWLEDGE = "knowledge", "Knowledge evidence"
        PERFORMANCE = "performance", "Performance evidence"

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="evidence_items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveSmallIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["unit", "kind", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "kind", "number"], name="evidence_number_per_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class Course(models.Model):
    """What a learner enrols in: one unit, or a skill set or microcredential of several."""

    class Kind(models.TextChoices):
        UNIT = "unit", "Single unit"
        SKILL_SET = "skill_set", "Skill set"
        MICROCREDENTIAL = "microcredential", "Microcredential"

    code = models.CharField(max_length=40, unique=True)
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.UNIT)
    description = models.TextField(blank=True)
    validity_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How long the credential stays valid (e.g. 36 for first aid); empty: no expiry.",
    )
    units = models.ManyToManyField(Unit, through="CourseUnit", related_name="courses")

    # --- How the public catalogue offers it (the catalogue app shows these; delivery's
    # enrolment rules read `enrolment` and `prerequisites`).
    published = models.BooleanField(
        default=False, help_text="Shown in the public catalogue. Unpublished courses are hidden."
    )
    area = models.CharField(
        max_length=80, blank=True, help_text='Area of skill, e.g. "Health and safety".'
    )
    outcomes = models.TextField(
        blank=True,
        help_text="What the learner will be able to do: one statement per line.",
    )
    effort_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Hours of study and assessment, all told."
    )
    self_paced = models.BooleanField(default=True, help_text="Resources studied anytime.")
    live_tutorials = models.BooleanField(default=False, help_text="Live tutorials with a trainer.")
    workplace_observation = models.BooleanField(
        default=False, help_text="Skills observed in a workplace or simulated one."
    )

    class Enrolling(models.TextChoices):
        OPEN = "open", "Open: learners enrol themselves"
        APPROVAL = "approval", "Approval needed: staff approve or decline each request"
        CLOSED = "closed", "Closed: staff enrol learners"

    enrolment = models.CharField(max_length=10, choices=Enrolling.choices, default=Enrolling.OPEN)
    prerequisites = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="required_by",
        help_text="Courses whose credential a learner must hold, in force, before enrolling.",
    )

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class CourseUnit(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="course_units")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="course_units")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["course", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "unit"], name="course_unit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.course} / {self.unit.code}"


class CohortQuerySet(models.QuerySet["Cohort"]):
    def taught_by(self, user: AbstractBaseUser | AnonymousUser) -> CohortQuerySet:
        return self.filter(trainers=user)

    def assessed_by(self, user: AbstractBaseUser | AnonymousUser) -> CohortQuerySet:
        return self.filter(assessors=user)


class Cohort(models.Model):
    """One run of a course: learners taking it together, with their trainers and assessors."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="cohorts_training"
    )
    assessors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="cohorts_assessing"
    )

    # --- The cohort as an intake the catalogue offers.
    listed = models.BooleanField(
        default=False, help_text="Offered in the public catalogue for learners to enrol in."
    )
    rolling = models.BooleanField(
        default=False,
        help_text="Self-paced, start any day: a learner who enrols starts at once.",
    )
    places = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many learners it takes; empty: no limit."
    )
    enrol_opens_at = models.DateTimeField(null=True, blank=True)
    enrol_closes_at = models.DateTimeField(null=True, blank=True)

    objects = CohortQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.UniqueConstraint(fields=["course", "name"], name="cohort_name_per_course"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="cohort_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(enrol_opens_at__isnull=True)
                | Q(enrol_closes_at__isnull=True)
                | Q(enrol_closes_at__gt=models.F("enrol_opens_at")),
                name="cohort_enrolment_window_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course} - {self.name}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"
        COMPLETED = "completed", "Completed"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrolments"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.PROTECT, related_name="enrolments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why it ended early (withdrawal or transfer), and where a transfer took the learner.
    end_reason = models.TextField(blank=True)
    transferred_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="transferred_from"
    )

    class Meta:
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["learner", "cohort"], name="enrol_once_per_cohort"),
        ]

    def __str__(self) -> str:
        return f"{self.learner} in {self.cohort}"


class LearnerProfile(models.Model):
    """What an RTO must know of a learner beyond their account: the Unique Student Identifier,
    without which it cannot issue a certificate (validated in delivery/usi.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_profile"
    )
    usi = models.CharField("Unique Student Identifier", max_length=10, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


class EnrolmentRequest(models.Model):
    """A learner's request to join an intake of a course that needs approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"
        CANCELLED = "cancelled", "Cancelled"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrolment_requests"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True, help_text="What the learner told the provider.")
    reason = models.TextField(blank=True, help_text="Why it was declined, as the learner reads it.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "cohort"],
                condition=Q(status="pending"),
                name="enrolment_request_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} asks to join {self.cohort}"


class WaitingListEntry(models.Model):
    """A learner waiting for a place in a full intake. Places are offered in the order learners
    joined; an offer holds the place until it expires, then passes to the next learner."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        OFFERED = "offered", "Place offered"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Offer expired"
        LEFT = "left", "Left the list"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waiting_list_entries"
    )
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="waiting_list")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    joined_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "id"]
        verbose_name_plural = "waiting list entries"
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "cohort"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waiting_list_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} waiting for {self.cohort}"


class Invitation(models.Model):
    """An e-mailed invitation to join an intake: the link signs the person up (or in) and
    enrols them; the token is single-use and only its hash is kept."""

    email = models.EmailField()
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="invitations")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.cohort}"


class AuditorGrant(models.Model):
    """Time-limited, scoped access for an external auditor (an administrator grants it).

    An auditor account with no grant at all is the provider's own compliance officer and sees
    every cohort. Once an account has any grant, it reads only what a grant in force covers:
    the cohorts listed, and every cohort of the courses listed. `delivery.permissions.
    auditor_scope` applies it to every page an auditor opens, in every app; it lives here, in
    the bottom layer, so live and credentials can ask it too.

    Its table keeps the name it had when assessment owned it (moved by state only, every row
    kept: delivery/migrations/0005_auditor_grant.py).
    """

    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auditor_grants"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    courses = models.ManyToManyField(Course, blank=True, related_name="+")
    cohorts = models.ManyToManyField(Cohort, blank=True, related_name="+")
    reason = models.CharField(max_length=255, help_text="e.g. ASQA audit 2026-11, ref. 12345")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "assessment_auditorgrant"
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="auditor_grant_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.auditor} {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"


def embed_host_allowed(url: str) -> bool:
    """Whether a video may be embedded from `url`: https, on a host of VIDEO_EMBED_HOSTS."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname in settings.VIDEO_EMBED_HOSTS


def resource_upload_to(instance: Resource, filename: str) -> str:
    """Random folder per upload: names never collide and a file is never overwritten."""
    return f"resources/{secrets.token_hex(16)}/{filename}"


class Module(models.Model):
    """An ordered block of study within one unit of a course.

    `key` identifies it across content-pack versions, so re-importing keeps learners' progress.
    """

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    course_unit = models.ForeignKey(CourseUnit, on_delete=models.CASCADE, related_name="modules")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=255)
    summary = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    prerequisites = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="unlocks",
        help_text="Modules a learner must complete before this one opens.",
    )

    class Meta:
        ordering = ["course", "course_unit__position", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["course", "key"], name="module_key_per_course"),
        ]

    def __str__(self) -> str:
        return self.title


class Resource(models.Model):
    """One thing to study: a text, a video, a podcast, a file or a link."""

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        VIDEO = "video", "Video"
        AUDIO = "audio", "Audio"
        FILE = "file", "File"
        LINK = "link", "Link"

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="resources")
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position = models.PositiveIntegerField(default=0)
    estimated_minutes = models.PositiveSmallIntegerField(default=5)
    body = models.TextField(
        blank=True, help_text="Markdown: the text itself, or an introduction to the media."
    )
    file = models.FileField(upload_to=resource_upload_to, blank=True, max_length=255)
    captions = models.FileField(
        upload_to=resource_upload_to, blank=True, max_length=255, help_text="WebVTT captions"
    )
    embed_url = models.URLField(blank=True, help_text="A video on an allow-listed host")
    url = models.URLField(blank=True, help_text="For links: where the link goes")

    class Meta:
        ordering = ["module", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["module", "key"], name="resource_key_per_module"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        """What each kind needs; raises ValidationError naming the field. The admin's forms
        and content-pack import (through full_clean) both check a resource here."""
        kind = self.kind
        if kind == "text" and not self.body.strip():
            raise ValidationError({"body": "A text resource needs some text."})
        if kind == "video":
            if bool(self.file) == bool(self.embed_url):
                raise ValidationError(
                    {"file": "A video needs either an uploaded file or an embed address, not both."}
                )
            if self.embed_url and not embed_host_allowed(self.embed_url):
                hosts = ", ".join(settings.VIDEO_EMBED_HOSTS)
                raise ValidationError(
                    {"embed_url": f"Videos can be embedded only from these hosts: {hosts}."}
                )
        if kind in {"audio", "file"} and not self.file:
            raise ValidationError({"file": f"A {kind} resource needs a file."})
        if kind == "link" and not self.url:
            raise ValidationError({"url": "A link needs an address."})
        if self.captions and kind != "video":
            raise ValidationError({"captions": "Only videos have captions."})

    @property
    def is_media(self) -> bool:
        return self.kind in {self.Kind.VIDEO, self.Kind.AUDIO}


class ResourceProgress(models.Model):
    """How far one learner got with one resource. Completion of modules and courses is
    computed from these rows (see delivery/progress.py), never stored twice."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resource_progress"
    )
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="progress")
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # For video and audio: the furthest point reached, as reported by the player.
    position_seconds = models.PositiveIntegerField(default=0)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "resource"], name="progress_once"),
        ]
        indexes = [models.Index(fields=["learner", "-last_seen_at"], name="progress_recent")]

    def __str__(self) -> str:
        return f"{self.learner} / {self.resource}"


class Announcement(models.Model):
    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="announcements")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="announcements"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class AnnouncementRead(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="reads")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "learner"], name="read_once"),
        ]

    def __str__(self) -> str:
        return f"{self.learner_id} read {self.announcement_id}"


class AnnouncementEmail(models.Model):
    """An announcement e-mailed to a learner: what the e-mail job has done, kept so that a
    retried or redelivered job (an SMTP failure half-way, a worker restarted) e-mails only the
    learners not yet e-mailed, and two runs at once never e-mail the same learner twice."""

    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="emails")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "learner"], name="emailed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.announcement_id} e-mailed to {self.learner_id}"


class ContentPack(models.Model):
    """A content pack imported into this catalogue, by its own id and version."""

    key = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=255)
    version = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"
