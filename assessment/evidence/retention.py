"""The retention policy: which evidence files may be purged, and purging them.

Evidence is kept at least `RETENTION_EVIDENCE_MONTHS` after the unit's outcome (the current
one: a corrected outcome restarts the clock). Outcomes, their RPL/credit transfer documents,
credentials and the audit trail are certification records and are never purged here. A legal
hold on a learner (every unit, or one) stops any purge of their evidence. Purging deletes the
file's bytes (and its viewing copies) from storage and keeps the row: the record still shows the
name, size and SHA-256 of what was assessed, and an audit event says when and under what policy.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Evidence, LegalHold, Outcome
from assessment.signals import record_changed
from delivery.records import RecordKey


def add_months(value: datetime, months: int) -> datetime:
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    return value.replace(
        year=year, month=month, day=min(value.day, calendar.monthrange(year, month)[1])
    )


@dataclass(frozen=True)
class Policy:
    evidence_months: int

    @classmethod
    def from_settings(cls) -> Policy:
        return cls(evidence_months=int(settings.RETENTION_EVIDENCE_MONTHS))

    def describe(self) -> str:
        return f"evidence kept {self.evidence_months} months after the outcome"


def purgeable(policy: Policy, *, now: datetime | None = None) -> QuerySet[Evidence]:
    """Evidence files whose unit's current outcome is older than the policy allows, that are
    not yet purged, and whose learner has no legal hold in force on that unit or on all."""
    now = now or timezone.now()
    cutoff = add_months(now, -policy.evidence_months)
    current_outcome_at = Subquery(
        Outcome.objects.filter(
            learner_id=OuterRef("attempt__learner_id"),
            cohort_id=OuterRef("attempt__cohort_id"),
            unit_id=OuterRef("attempt__task__unit_id"),
            superseded_by__isnull=True,
        )
        .order_by("-recorded_at")
        .values("recorded_at")[:1]
    )
    held = LegalHold.objects.filter(
        Q(unit__isnull=True) | Q(unit_id=OuterRef("attempt__task__unit_id")),
        learner_id=OuterRef("attempt__learner_id"),
        released_at__isnull=True,
    )
    return (
        Evidence.objects.filter(purged_at__isnull=True)
        .annotate(outcome_at=current_outcome_at, on_hold=Exists(held))
        .filter(outcome_at__lt=cutoff, on_hold=False)
        .select_related("attempt__learner", "attempt__task__unit")
        .order_by("outcome_at", "id")
    )


def purge(evidence: Evidence, *, policy: Policy, actor: Any | None) -> bool:
    """Delete one file's bytes (and viewing copies), keep the row, audit it. False, changing
    nothing, if it was purged already or a legal hold was placed since it was listed."""
    with transaction.atomic():
        locked = (
            Evidence.objects.select_for_update(of=("self",))
            .select_related("attempt__task")
            .get(pk=evidence.pk)
        )
        if locked.purged_at is not None:
            return False
        unit_id = locked.attempt.task.unit_id
        if LegalHold.objects.filter(
            Q(unit__isnull=True) | Q(unit_id=unit_id),
            learner_id=locked.attempt.learner_id,
            released_at__isnull=True,
        ).exists():
            return False
        names = [str(f.name) for f in (locked.file, locked.preview, locked.thumbnail) if f]
        locked.purged_at = timezone.now()
        locked.save(update_fields=["purged_at"])
        record_event(
            "evidence.purged",
            locked,
            actor=actor,
            learner=locked.attempt.learner,
            unit=locked.attempt.task.unit,
            data={
                "name": locked.original_name,
                "sha256": locked.sha256,
                "size": locked.size,
                "policy": policy.describe(),
            },
        )
        # Stored renderings of the record's PDF show the file's thumbnail: they go with it.
        key = RecordKey(locked.attempt.learner_id, locked.attempt.cohort_id, unit_id)
        record_changed.send(sender=Evidence, key=key, reason="evidence_purged")
        storage = locked.file.storage

        # Bytes go only once the row says so; a failed delete leaves an orphan file (listed
        # by storage tooling), never a row claiming a file that is gone.
        def delete_files() -> None:
            for name in names:
                storage.delete(name)

        transaction.on_commit(delete_files)
    return True


def place_hold(learner: Any, *, unit: Any | None, reason: str, by: Any) -> LegalHold:
    with transaction.atomic():
        hold = LegalHold.objects.create(learner=learner, unit=unit, reason=reason, placed_by=by)
        record_event(
            "legal_hold.placed", hold, actor=by, learner=learner, unit=unit, data={"reason": reason}
        )
    return hold


def release_hold(hold: LegalHold, *, by: Any) -> None:
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        if locked.released_at is not None:
            return
        locked.released_at = timezone.now()
        locked.save(update_fields=["released_at"])
        record_event(
            "legal_hold.released",
            locked,
            actor=by,
            learner=locked.learner,
            unit=locked.unit,
            data={"reason": locked.reason},
        )


def iter_purgeable(policy: Policy) -> Iterator[Evidence]:
    yield from purgeable(policy).iterator(chunk_size=500)
