from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from delivery.permissions import access_cohort, visible_cohorts


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
