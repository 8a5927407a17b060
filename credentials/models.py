from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.lookups import IsNull
from django.utils import timezone

from assessment.models import Outcome
from delivery.models import Course, Unit


class Achievement(models.Model):
    """What a credential attests: one unit, or one course (skill set / microcredential)."""

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
                condition=Q(unit__isnull=False, course__isnull=True)
                | Q(unit__isnull=True, course__isnull=False),
                name="achievement_unit_xor_course",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.human_code} {self.name}"


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


class Credential(models.Model):
    """An issued OpenBadgeCredential, stored exactly as signed (`document` is the JSON text)."""

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
    issued_at = models.DateTimeField(default=timezone.now)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)
    document = models.TextField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            # One credential per outcome: re-running issuance for it issues nothing new.
            models.UniqueConstraint(
                fields=["outcome"],
                condition=Q(outcome__isnull=False),
                name="credential_one_per_outcome",
            ),
            # One course credential per learner and course achievement (NULLs are distinct in
            # a plain unique constraint, so the null-outcome case needs its own).
            models.UniqueConstraint(
                fields=["learner", "achievement"],
                condition=Q(outcome__isnull=True),
                name="credential_one_per_course",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.achievement} for {self.learner}"
