from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import IsNull
from django.utils import timezone

from assessment.models import Outcome
from delivery.models import Course, Unit


class Achievement(models.Model):
    """What a credential attests: one unit, one course (skill set / microcredential), or, with
    neither, a milestone the provider defines on a pathway (catalogue app), such as "Ready for
    the aged care floor" on reaching a step."""

    unit = models.OneToOneField(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="achievement"
    )
    course = models.OneToOneField(
        Course, null=True, blank=True, on_delete=models.PROTECT, related_name="achievement"
    )
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    criteria_narrative = models.TextField(blank=True)
    human_code = models.CharField(max_length=40)
    # Set for course achievements; a unit's validity comes from the learner's course at issue.
    validity_months = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["human_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit__isnull=True) | Q(course__isnull=True),
                name="achievement_unit_or_course_or_milestone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.human_code} {self.name}"

    @property
    def is_milestone(self) -> bool:
        return self.unit_id is None and self.course_id is None


class IssuerProfile(models.Model):
    """The provider as issuer (Open Badges `Profile`). The first row is the issuer."""

    name = models.CharField(max_length=255)
    url = models.URLField()
    email = models.EmailField()
    image = models.URLField(blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SigningKeyQuerySet(models.QuerySet["SigningKey"]):
    def active(self) -> SigningKeyQuerySet:
        return self.filter(retired_at__isnull=True)


class SigningKey(models.Model):
    """An Ed25519 key. The private half is Fernet-encrypted (credentials/keys.py); retired keys
    stay published in the DID document so credentials signed with them still verify."""

    public_multikey = models.CharField(max_length=64, unique=True)
    encrypted_private_key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # At most one active key: two rotations at once cannot leave two signing keys.
            # (An index on the expression "retired_at IS NULL": NULLs never collide.)
            models.UniqueConstraint(
                IsNull(F("retired_at"), True),
                condition=Q(retired_at__isnull=True),
                name="signing_key_one_active",
            ),
        ]

    def __str__(self) -> str:
        return self.public_multikey


class StatusList(models.Model):
    """A W3C Bitstring Status List for revocation, and the signed credential that publishes it.

    Each credential holds a random index into one list; revoking sets its bit and re-signs the
    list. A list is at least 131,072 bits (the spec's minimum, for herd privacy) and takes new
    credentials until half its bits are allocated, so indexes stay hard to guess.
    """

    PURPOSE = "revocation"
    DEFAULT_SIZE = 131_072

    size = models.PositiveIntegerField(default=DEFAULT_SIZE)
    bits = models.BinaryField()
    # The DID that signs this list: fixed at creation, so a process configured for another
    # host cannot re-sign it as a different issuer (credentials/keys.py, `check_issuer`).
    issuer_id = models.CharField(max_length=255, blank=True)
    # The signed BitstringStatusListCredential, exactly as served.
    document = models.TextField(blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Status list {self.pk} ({self.size} bits)"


class Credential(models.Model):
    """An issued OpenBadgeCredential, stored exactly as signed (`document` is the JSON text)."""

    class Status(models.TextChoices):
        VALID = "valid", "Valid"
        NOT_YET_VALID = "not_yet_valid", "Not yet valid"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credentials"
    )
    achievement = models.ForeignKey(
        Achievement, on_delete=models.PROTECT, related_name="credentials"
    )
    # The unit outcome it attests; null for course credentials.
    outcome = models.ForeignKey(
        Outcome, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    signing_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    # The issuer DID named in `document`, kept as a column so a move of host can find what
    # each credential was signed as (move_issuer_host).
    issuer_id = models.CharField(max_length=255, blank=True)
    issued_at = models.DateTimeField(default=timezone.now)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    document = models.TextField()
    status_list = models.ForeignKey(
        StatusList, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    status_index = models.PositiveIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The certificate PDF, rendered in the background after issue and again on demand.
    certificate = models.FileField(upload_to="certificates/", blank=True)
    certificate_rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # One credential per achievement per outcome: re-running issuance for an outcome
            # issues nothing new. A course credential names the outcome that completed it.
            models.UniqueConstraint(
                fields=["outcome", "achievement"], name="credential_one_per_outcome"
            ),
            models.UniqueConstraint(
                fields=["status_list", "status_index"], name="credential_unique_status_index"
            ),
        ]
        indexes = [models.Index(fields=["valid_until"], name="credential_valid_until")]

    def __str__(self) -> str:
        return f"{self.achievement} for {self.learner}"

    def status_at(self, moment: datetime) -> Credential.Status:
        if self.revoked_at is not None:
            return Credential.Status.REVOKED
        if self.valid_from > moment:
            return Credential.Status.NOT_YET_VALID
        if self.valid_until is not None and self.valid_until <= moment:
            return Credential.Status.EXPIRED
        return Credential.Status.VALID

    @property
    def status(self) -> Credential.Status:
        return self.status_at(timezone.now())

    @property
    def is_course_credential(self) -> bool:
        return self.achievement.course_id is not None


class ExpiryReminder(models.Model):
    """One reminder sent before a credential expires; the unique constraint makes the daily
    job safe to run twice or on two workers."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "days_before"], name="expiry_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential} ({self.days_before} days)"


class StackedCredit(models.Model):
    """One unit a course credential was issued on: the outcome that made the unit held (in any
    cohort, any course) and the unit credential it was credited from, if one was in force.
    Credit recorded as such: the course credential's page and the learner's record say
    "HLTINF006 credited from your credential of 3 March", and its OB 3.0 evidence names it."""

    course_credential = models.ForeignKey(
        Credential, on_delete=models.CASCADE, related_name="stacked_credits"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    unit_credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.PROTECT, related_name="stacked_into"
    )
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["course_credential", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["course_credential", "unit"], name="stacked_credit_once_per_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit.code} in {self.course_credential}"


class LearnerRecord(models.Model):
    """A signed Comprehensive Learner Record (1EdTech CLR 2.0 `ClrCredential`), stored as
    signed, so its `id` URL dereferences to the very bytes the learner took away (as a
    credential's does). A new one is signed only when what it would hold has changed: the
    learner's credentials in force (`fingerprint`), or the key that signs."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="learner_records"
    )
    issued_at = models.DateTimeField(default=timezone.now)
    fingerprint = models.CharField(max_length=64)
    signing_key = models.ForeignKey(SigningKey, on_delete=models.PROTECT, related_name="+")
    document = models.TextField()

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return f"Learner record of {self.learner} ({self.issued_at:%Y-%m-%d})"
