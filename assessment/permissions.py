"""Who may see and change what in assessment, in one place.

`access_*` return the object or raise Http404 (the user may not know it exists) or
PermissionDenied (they may see it, not do this).
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404

from assessment.models import Attempt, Evidence
from delivery.models import Cohort
from delivery.permissions import audits_cohort
from delivery.roles import Role, roles_of
from delivery.sql import PkReader, column, table

BRIEF_FIELDS = ("task", "learner", "cohort", "status", "version", "claimed_by", "claimed_at")
BRIEF_TASK_FIELDS = ("title", "version")
# The marking page's read on every visit, its form served from the cache: by the ORM (as
# select_related("task").only(...)) building the query took about 0.3 ms of a 2.3 ms visit.
_read_brief_attempt = PkReader(Attempt, BRIEF_FIELDS, related={"task": BRIEF_TASK_FIELDS})


def can_mark(user: Any, attempt: Attempt) -> bool:
    """Assessors of the attempt's cohort mark it (administrators too)."""
    held = roles_of(user)
    if Role.ADMINISTRATOR in held:
        return True
    return Role.ASSESSOR in held and _assesses(user, attempt)


def _assesses(user: Any, attempt: Attempt) -> bool:
    """Whether the user assesses the attempt's cohort, asked of the database once per attempt
    object: the marking page asks it to show the attempt and again to allow marking."""
    asked: dict[int, bool] = attempt.__dict__.setdefault("_assessed_by", {})
    if user.pk not in asked:
        with connection.cursor() as cursor:
            cursor.execute(_assesses_sql(), [attempt.cohort_id, user.pk])
            asked[user.pk] = cursor.fetchone() is not None
    return asked[user.pk]


@functools.cache
def _assesses_sql() -> str:
    """Whether a user assesses a cohort, as SQL written once. Every visit to an attempt's pages
    asks, the marking page's mostly served from its cache: the ORM's query (through the cohort's
    assessors manager, or as an Exists beside the attempt) took about 1 ms of a 4 ms visit,
    measured in-process; this takes microseconds."""
    assessors = Cohort.assessors.through._meta
    # Only names from the models, quoted; the ids are parameters.
    return (
        f"SELECT 1 FROM {table(assessors)} WHERE {column(assessors, 'cohort')} = %s "  # noqa: S608
        f"AND {column(assessors, 'user')} = %s"
    )


def access_attempt(user: Any, pk: int, *, write: bool = False, brief: bool = False) -> Attempt:
    """An attempt its learner, the cohort's assessors and trainers, auditors whose grant covers
    the cohort (`delivery.permissions.auditor_scope`) and administrators may see. `write`: the
    learner changing their own draft. `brief`: only what names the attempt and decides access
    (BRIEF_FIELDS), for a page that shows the rest from its cache; the rest is read when used."""
    if brief:
        found = _read_brief_attempt(pk)
        if found is None:
            raise Http404("No such attempt")
        attempt = found
    else:
        attempts = Attempt.objects.select_related("task__unit", "cohort__course", "learner")
        try:
            attempt = attempts.get(pk=pk)
        except Attempt.DoesNotExist:
            raise Http404("No such attempt") from None
    held = roles_of(user)
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
