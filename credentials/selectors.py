"""Reading credentials: the learner's wallet, the administrators' lists, and the cached badge
images."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Case, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from assessment.models import Outcome
from credentials.models import Credential, ExpiryReminder, StackedCredit

# A credential is "expiring" this many days before its end: the wallet's reminders, the
# learner's record and the playlist's renewal suggestions use the same window.
EXPIRING_WITHIN_DAYS = 90

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


@dataclass(frozen=True)
class Holding:
    """An achievement a learner holds in force: by which credential, until when (None: it
    does not expire), and whether that end is near (`EXPIRING_WITHIN_DAYS`)."""

    achievement_id: int
    credential_id: int
    public_id: uuid.UUID
    valid_from: datetime
    valid_until: datetime | None
    expiring: bool


def learner_holdings(learner: Any, *, now: datetime | None = None) -> dict[int, Holding]:
    """Every achievement (unit, course or milestone) `learner` holds in force at `now`, by
    achievement id: "does this learner hold achievement X, expiring when". One query.

    In force: issued, neither revoked nor expired (a credential not yet valid counts: it is
    issued and will be). Where several credentials attest the same achievement (a renewal
    issued before the old one ended), the one lasting longest is the holding.
    """
    now = now or timezone.now()
    rows = (
        Credential.objects.filter(learner=learner, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .values_list("achievement_id", "pk", "public_id", "valid_from", "valid_until")
    )
    soon = now + timedelta(days=EXPIRING_WITHIN_DAYS)
    holdings: dict[int, Holding] = {}
    for achievement_id, pk, public_id, valid_from, valid_until in rows:
        held = holdings.get(achievement_id)
        if held is not None and (
            held.valid_until is None
            or (valid_until is not None and valid_until <= held.valid_until)
        ):
            continue
        holdings[achievement_id] = Holding(
            achievement_id, pk, public_id, valid_from, valid_until,
            expiring=valid_until is not None and valid_until <= soon,
        )  # fmt: skip
    return holdings


def _lasts(valid_until: datetime | None) -> datetime:
    return valid_until or datetime.max.replace(tzinfo=UTC)


@dataclass
class RecordCredential:
    credential: Credential
    status: str  # valid, expiring, expired, revoked, not_yet_valid
    status_label: str


@dataclass
class LearnerRecordView:
    """The learner's whole record at this provider: every unit's current outcome (each cohort
    it was recorded in), every credential with its standing, course credentials with what they
    stack from."""

    outcomes: list[Outcome] = field(default_factory=list)
    credentials: list[RecordCredential] = field(default_factory=list)

    @property
    def units_held(self) -> int:
        return len({o.unit_id for o in self.outcomes if o.competent})


STATUS_LABELS = {
    "valid": "Valid",
    "expiring": "Valid, expiring soon",
    "expired": "Expired",
    "revoked": "Revoked",
    "not_yet_valid": "Not yet valid",
}


def learner_record(learner: Any, *, now: datetime | None = None) -> LearnerRecordView:
    """`learner`'s record (only theirs: the caller passes the signed-in user). Three queries
    however much they hold: outcomes, credentials, and what course credentials stack from."""
    now = now or timezone.now()
    outcomes = list(
        Outcome.objects.current()
        .filter(learner=learner)
        .select_related("unit", "cohort__course")
        .order_by("unit__code", "-recorded_at", "-id")
    )
    stacked = StackedCredit.objects.select_related(
        "unit", "unit_credential", "outcome__cohort__course"
    ).order_by("id")
    credentials = []
    soon = now + timedelta(days=EXPIRING_WITHIN_DAYS)
    for credential in wallet(learner, now=now).prefetch_related(
        Prefetch("stacked_credits", queryset=stacked)
    ):
        status = str(credential.status_at(now))
        if status == Credential.Status.VALID and credential.valid_until is not None:
            status = "expiring" if credential.valid_until <= soon else status
        credentials.append(RecordCredential(credential, status, STATUS_LABELS[status]))
    return LearnerRecordView(outcomes=outcomes, credentials=credentials)


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
