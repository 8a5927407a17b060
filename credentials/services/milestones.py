"""Milestone credentials: what a learner receives on reaching a step of a provider's pathway
(the catalogue app decides when; this module only issues). Signed, stored, audited and
verified like every other credential; the achievement is a milestone (neither a unit's nor a
course's), its OB 3.0 type a Badge."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from credentials.models import Achievement, Credential
from credentials.services.issuance import _issue, _issue_once


def issue_milestone_credential(
    learner: Any, achievement: Achievement, *, reached_by: Credential
) -> Credential:
    """Issue `achievement` (a milestone) to `learner`, reached by the credential `reached_by`,
    once: a learner who holds it already (not revoked) gets that credential back.

    The milestone credential names the outcome of the credential that reached it, so the
    (outcome, achievement) constraint also stops two workers issuing it for the same step at
    once; the learner's row is locked first, as for course credentials, so two credentials
    reaching the same milestone at once on two workers issue it once. Runs in one transaction;
    raises ValueError for an achievement that is not a milestone, or a `reached_by` of another
    learner.
    """
    if not achievement.is_milestone:
        raise ValueError(f"{achievement} is a unit's or a course's, not a milestone")
    outcome = reached_by.outcome
    if reached_by.learner_id != learner.pk or outcome is None:
        raise ValueError("A milestone is reached by one of the learner's own credentials")
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=learner.pk).first()
        held = Credential.objects.filter(
            learner=learner, achievement=achievement, revoked_at__isnull=True
        ).first()
        if held is not None:
            return held
        existing = Credential.objects.filter(outcome=outcome, achievement=achievement).first()
        if existing is not None:  # issued for this outcome, then revoked: not again
            return existing
        narrative = (
            f"Reached on holding {reached_by.achievement.human_code} {reached_by.achievement.name}."
        )
        return _issue_once(
            lambda: _issue(
                learner=learner,
                achievement=achievement,
                outcome=outcome,
                valid_from=timezone.now(),
                validity_months=achievement.validity_months,
                evidence=[{"name": achievement.name, "narrative": narrative}],
            ),
            outcome=outcome,
            achievement=achievement,
        )
