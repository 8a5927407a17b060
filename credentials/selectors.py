"""Reading credentials: the learner's wallet, the administrators' lists, and the cached badge
images."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Case, Q, QuerySet, Value, When
from django.utils import timezone

from credentials.models import Credential, ExpiryReminder, StackedCredit

PUBLIC_CACHE_SECONDS = 3600


def wallet(learner: Any, *, now: datetime | None = None) -> QuerySet[Credential]:
    """Every credential issued to `learner`: those in force first (what they share), then not
    yet valid, expired and revoked; newest first within each."""
    now = now or timezone.now()
    standing = Case(
        When(revoked_at__isnull=False, then=Value(3)),
        When(valid_until__lte=now, then=Value(2)),
        When(valid_from__gt=now, then=Value(1)),
        default=Value(0),
    )
    return (
        Credential.objects.filter(learner=learner)
        .select_related("achievement__unit", "achievement__course")
        .annotate(standing=standing)
        .order_by("standing", "-issued_at", "-id")
    )


def stacked_from(credential: Credential) -> QuerySet[StackedCredit]:
    """The units a course credential was issued on, in the course's order, each with the unit
    credential (or outcome) it was credited from."""
    return (
        StackedCredit.objects.filter(course_credential=credential)
        .select_related("unit", "unit_credential", "outcome__cohort__course")
        .order_by("id")
    )


def open_reminders(learner: Any) -> QuerySet[ExpiryReminder]:
    """Reminders the learner has not dismissed, for credentials not yet expired or revoked."""
    return ExpiryReminder.objects.filter(
        credential__learner=learner,
        dismissed_at__isnull=True,
        credential__revoked_at__isnull=True,
        credential__valid_until__gt=timezone.now(),
    ).select_related("credential__achievement")


def expiring(within_days: int = 90, *, now: datetime | None = None) -> QuerySet[Credential]:
    """Credentials in force that expire within `within_days`, soonest first."""
    now = now or timezone.now()
    return (
        Credential.objects.filter(
            revoked_at__isnull=True,
            valid_until__gt=now,
            valid_until__lte=now + timedelta(days=within_days),
        )
        .select_related("learner", "achievement")
        .order_by("valid_until", "id")
    )


def search(
    *, query: str = "", status: str = "", now: datetime | None = None
) -> QuerySet[Credential]:
    """Issued credentials for the administrators' list, filtered by learner, code or status."""
    now = now or timezone.now()
    found = Credential.objects.select_related("learner", "achievement")
    if query:
        found = found.filter(
            Q(learner__first_name__icontains=query)
            | Q(learner__last_name__icontains=query)
            | Q(learner__email__icontains=query)
            | Q(achievement__human_code__icontains=query)
            | Q(achievement__name__icontains=query)
            | Q(public_id__startswith=query.lower())
        )
    if status == Credential.Status.REVOKED:
        found = found.filter(revoked_at__isnull=False)
    elif status == Credential.Status.EXPIRED:
        found = found.filter(revoked_at__isnull=True, valid_until__lte=now)
    elif status == Credential.Status.NOT_YET_VALID:
        found = found.filter(revoked_at__isnull=True, valid_from__gt=now)
    elif status == Credential.Status.VALID:
        found = found.filter(revoked_at__isnull=True, valid_from__lte=now).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=now)
        )
    return found.order_by("-issued_at", "-id")


# --- the badge images' cache ------------------------------------------------------------------
# Only bytes that never depend on a credential's status are cached: what shows status (the
# page, the JSON a verifier reads, the status lists) is read from the database on every request,
# so a revocation made by any process is seen at once, whatever the cache backend.


def _key(public_id: uuid.UUID | str, kind: str) -> str:
    return f"credentials:public:{kind}:{public_id}"


def cached_image(public_id: uuid.UUID | str, kind: str) -> bytes | None:
    value = cache.get(_key(public_id, kind))
    return value if isinstance(value, bytes) else None


def cache_image(public_id: uuid.UUID | str, kind: str, png: bytes) -> None:
    cache.set(_key(public_id, kind), png, PUBLIC_CACHE_SECONDS)
