"""Revoking a credential: its bit set in its status list, the list signed again, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.signals import record_changed
from credentials import status
from credentials.models import Credential, StatusList
from credentials.openbadges import clean_text
from credentials.services.status_lists import sign_status_list
from delivery.records import RecordKey


def revoke_credential(credential: Credential, *, by: Any, reason: str) -> bool:
    """Revoke with a reason: set the credential's bit, re-sign its status list, audit it.

    Returns False, changing nothing, if it was already revoked (revoking twice is harmless).
    The credential and its list are locked, so two revocations in one list cannot each write
    back a copy of the bits missing the other's bit.
    """
    reason = clean_text(reason).strip()
    if not reason:
        raise ValueError("a revocation needs a reason")
    with transaction.atomic():
        locked = (
            Credential.objects.select_for_update(of=("self",))
            .select_related("achievement")
            .get(pk=credential.pk)
        )
        if locked.revoked_at is not None:
            return False
        now = timezone.now()
        if locked.status_list_id is not None and locked.status_index is not None:
            status_list = StatusList.objects.select_for_update().get(pk=locked.status_list_id)
            status_list.bits = status.set_bit(bytes(status_list.bits), locked.status_index)
            sign_status_list(status_list, now=now)
        locked.revoked_at = now
        locked.revocation_reason = reason
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revocation_reason", "revoked_by"])
        record_event(
            "credential.revoked",
            locked,
            actor=by,
            learner=locked.learner,
            unit=locked.achievement.unit,
            data={"public_id": str(locked.public_id), "reason": reason},
        )
        outcome = locked.outcome
        if outcome is not None and locked.achievement.unit_id is not None:
            key = RecordKey(outcome.learner_id, outcome.cohort_id, outcome.unit_id)
            record_changed.send(sender=Credential, key=key, reason="credential")
    credential.refresh_from_db()
    return True
