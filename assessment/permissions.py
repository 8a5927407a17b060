"""Who may see and change what in assessment, in one place.

`access_*` return the object or raise Http404 (the user may not know it exists) or
PermissionDenied (they may see it, not do this).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404

from assessment.models import Attempt, Evidence
from delivery.models import Cohort
from delivery.permissions import audits_cohort
from delivery.roles import Role, roles_of

# Whether a user assesses an attempt's cohort, answered once per attempt object (the marking
# page asks to show the attempt and again to allow marking) and kept on it under this key.
_ASSESSED_BY = "_assessed_by"


def can_mark(user: Any, attempt: Attempt) -> bool:
    """Assessors of the attempt's cohort mark it (administrators too)."""
    held = roles_of(user)
    if Role.ADMINISTRATOR in held:
        return True
    return Role.ASSESSOR in held and _assesses(user, attempt)


def _assessors_of(cohort: Any, user: Any) -> Any:
    return Cohort.assessors.through.objects.filter(cohort=cohort, user=user.pk)


def _assesses(user: Any, attempt: Attempt) -> bool:
    """Whether the user assesses the attempt's cohort; access_attempt reads it beside the
    attempt, any other attempt asks the database once."""
    asked: dict[int, bool] = attempt.__dict__.setdefault(_ASSESSED_BY, {})
    if user.pk not in asked:
        asked[user.pk] = _assessors_of(attempt.cohort_id, user).exists()
    return asked[user.pk]


def access_attempt(user: Any, pk: int, *, write: bool = False) -> Attempt:
    """An attempt its learner, the cohort's assessors and trainers, auditors whose grant covers
    the cohort (`delivery.permissions.auditor_scope`) and administrators may see. `write`: the
    learner changing their own draft.

    One query reads the attempt with what its pages show beside it, and, for an assessor,
    whether they assess its cohort (an Exists), so deciding access costs no query of its own."""
    held = roles_of(user)
    attempts = Attempt.objects.select_related(
        "task__unit", "cohort__course", "learner", "claimed_by"
    )
    assessor = Role.ASSESSOR in held and Role.ADMINISTRATOR not in held
    if assessor:
        attempts = attempts.annotate(assessed=Exists(_assessors_of(OuterRef("cohort_id"), user)))
    try:
        attempt = attempts.get(pk=pk)
    except Attempt.DoesNotExist:
        raise Http404("No such attempt") from None
    if assessor:
        attempt.__dict__.setdefault(_ASSESSED_BY, {})[user.pk] = attempt.__dict__.pop("assessed")
    own = attempt.learner_id == user.pk
    visible = (
        own
        or Role.ADMINISTRATOR in held
        or (Role.AUDITOR in held and audits_cohort(user, attempt.cohort_id))
        or (Role.ASSESSOR in held and _assesses(user, attempt))
        or (Role.TRAINER in held and attempt.cohort.trainers.filter(pk=user.pk).exists())
    )
    if not visible:
        raise Http404("No such attempt")
    if write and not (own and attempt.status == Attempt.Status.DRAFT):
        raise PermissionDenied("Only the learner's own draft can be changed.")
    return attempt


def access_evidence(user: Any, pk: int) -> Evidence:
    """A file of an attempt the user may see."""
    try:
        evidence = Evidence.objects.select_related("attempt").get(pk=pk)
    except Evidence.DoesNotExist:
        raise Http404("No such file") from None
    access_attempt(user, evidence.attempt_id)
    return evidence
