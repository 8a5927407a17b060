"""Reading credentials: the learner's wallet, the administrators' lists, and the cached public
views (whose bytes change only when a credential's status does)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.utils import timezone

from credentials.models import Credential, ExpiryReminder

PUBLIC_CACHE_SECONDS = 3600


def wallet(learner: Any) -> QuerySet[Credential]:
    """Every credential issued to `learner`, newest first, with what the wallet shows."""
    return Credential.objects.filter(learner=learner).select_related(
        "achievement__unit", "achievement__course"
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


# --- the public views' cache ---------------------------------------------------------------


def _key(public_id: uuid.UUID | str, kind: str) -> str:
    return f"credentials:public:{kind}:{public_id}"


def cached_public(public_id: uuid.UUID | str, kind: str) -> Any:
    """The cached view, unless the moment its status changes by itself has come: checked here
    rather than left to the cache's own expiry, which runs on the cache server's clock."""
    entry = cache.get(_key(public_id, kind))
    if entry is None:
        return None
    value, stale_at = entry
    if stale_at is not None and timezone.now() >= stale_at:
        return None
    return value


def cache_public(
    public_id: uuid.UUID | str, kind: str, value: Any, *, credential: Credential | None
) -> None:
    """Cache a public view of a credential until its status could next change by itself
    (it becomes valid, or expires), and at most an hour; revocation deletes it at once."""
    timeout = PUBLIC_CACHE_SECONDS
    stale_at = None
    if credential is not None:
        now = timezone.now()
        upcoming = [
            moment
            for moment in (credential.valid_from, credential.valid_until)
            if moment is not None and moment > now
        ]
        if upcoming:
            stale_at = min(upcoming)
            timeout = min(timeout, max(1, int((stale_at - now).total_seconds()) + 1))
    cache.set(_key(public_id, kind), (value, stale_at), timeout)


def forget_public_view(public_id: uuid.UUID | str) -> None:
    cache.delete_many([_key(public_id, kind) for kind in ("page", "meta")])


def status_list_key(pk: int) -> str:
    return f"credentials:status-list:{pk}"
