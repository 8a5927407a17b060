from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from delivery.models import AuditorGrant
from delivery.permissions import (
    GrantEnded,
    access_cohort,
    access_cohort_staff,
    auditor_scope,
    audits_cohort,
    record_scope,
    visible_cohorts,
)
from delivery.roles import Role
from delivery.services import enrol_learner, grant_role
from tests.factories import CohortFactory


@pytest.mark.parametrize("persona", ["learner", "trainer", "assessor", "auditor", "administrator"])
def test_each_role_sees_the_cohort_it_belongs_to(
    request: pytest.FixtureRequest, persona: str, cohort: Any, enrolled: None
) -> None:
    user = request.getfixturevalue(persona)
    assert access_cohort(user, cohort.pk) == cohort


@pytest.mark.parametrize("persona", ["learner", "trainer", "assessor", "outsider"])
def test_nobody_sees_a_cohort_they_do_not_belong_to(
    request: pytest.FixtureRequest, persona: str, other_cohort: Any, enrolled: None
) -> None:
    user = request.getfixturevalue(persona)
    with pytest.raises(Http404):
        access_cohort(user, other_cohort.pk)


def test_the_other_assessor_sees_only_their_own_cohort(
    other_assessor: Any, cohort: Any, other_cohort: Any
) -> None:
    assert list(visible_cohorts(other_assessor)) == [other_cohort]


def test_only_its_trainer_or_an_administrator_may_change_a_cohort(
    trainer: Any, assessor: Any, auditor: Any, administrator: Any, cohort: Any
) -> None:
    assert access_cohort(trainer, cohort.pk, write=True) == cohort
    assert access_cohort(administrator, cohort.pk, write=True) == cohort
    for user in (assessor, auditor):
        with pytest.raises(PermissionDenied):
            access_cohort(user, cohort.pk, write=True)


def test_a_learner_in_two_cohorts_sees_each_once(
    learner: Any, cohort: Any, other_cohort: Any
) -> None:
    from delivery.services import enrol_learner

    enrol_learner(learner, cohort)
    enrol_learner(learner, other_cohort)
    assert sorted(c.pk for c in visible_cohorts(learner)) == sorted([cohort.pk, other_cohort.pk])


# --- auditors: their grant, with its cohorts and its dates, is the one rule -----------------


def _grant(auditor: Any, *, cohorts: Any = (), courses: Any = (), ended: bool = False) -> Any:
    """A grant in force for a week from yesterday, or (`ended`) one that ended yesterday."""
    now = timezone.now()
    starts = now - timedelta(days=10 if ended else 1)
    ends = now - timedelta(days=1) if ended else now + timedelta(days=7)
    grant = AuditorGrant.objects.create(
        auditor=auditor, starts_at=starts, ends_at=ends, reason="ASQA audit"
    )
    grant.cohorts.set(cohorts)
    grant.courses.set(courses)
    return grant


def test_an_auditor_without_a_grant_sees_every_cohort(
    auditor: Any, cohort: Any, other_cohort: Any
) -> None:
    assert set(visible_cohorts(auditor)) == {cohort, other_cohort}
    assert access_cohort_staff(auditor, other_cohort.pk) == other_cohort


def test_a_grant_limits_the_cohorts_an_auditor_sees(
    auditor: Any, cohort: Any, other_cohort: Any
) -> None:
    _grant(auditor, cohorts=[cohort])
    assert list(visible_cohorts(auditor)) == [cohort]
    assert access_cohort_staff(auditor, cohort.pk) == cohort
    with pytest.raises(Http404):
        access_cohort_staff(auditor, other_cohort.pk)
    assert audits_cohort(auditor, cohort.pk)
    assert not audits_cohort(auditor, other_cohort.pk)
    assert not audits_cohort(auditor, None)


def test_a_grant_of_a_course_covers_each_of_its_cohorts(
    auditor: Any, cohort: Any, other_cohort: Any
) -> None:
    again = CohortFactory(course=cohort.course)
    _grant(auditor, courses=[cohort.course])
    assert set(visible_cohorts(auditor)) == {cohort, again}


def test_once_a_grant_has_ended_an_auditor_sees_no_cohort(auditor: Any, cohort: Any) -> None:
    _grant(auditor, cohorts=[cohort], ended=True)
    assert not visible_cohorts(auditor).exists()
    with pytest.raises(Http404):
        access_cohort_staff(auditor, cohort.pk)
    scope = auditor_scope(auditor)
    assert scope is not None
    assert scope.ended
    with pytest.raises(GrantEnded):
        record_scope(auditor)


def test_an_auditor_who_also_teaches_keeps_their_own_cohort_after_the_grant_ends(
    auditor: Any, cohort: Any, other_cohort: Any
) -> None:
    grant_role(auditor, Role.TRAINER)
    cohort.trainers.add(auditor)
    _grant(auditor, cohorts=[other_cohort], ended=True)
    assert list(visible_cohorts(auditor)) == [cohort]
    assert access_cohort_staff(auditor, cohort.pk) == cohort
    with pytest.raises(Http404):
        access_cohort_staff(auditor, other_cohort.pk)


def test_a_learner_who_is_also_an_auditor_outside_the_grant_is_not_staff_of_their_cohort(
    auditor: Any, cohort: Any, other_cohort: Any
) -> None:
    enrol_learner(auditor, cohort)
    _grant(auditor, cohorts=[other_cohort])
    with pytest.raises(PermissionDenied):
        access_cohort_staff(auditor, cohort.pk)
