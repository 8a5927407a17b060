from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from delivery.models import Cohort, Enrolment
from delivery.roles import Role, roles_of
from delivery.services import create_cohort, enrol_learner
from tests.factories import CourseFactory, UserFactory


@pytest.mark.django_db
def test_it_creates_a_cohort_with_its_staff(trainer: Any, assessor: Any) -> None:
    course = CourseFactory()
    cohort = create_cohort(
        course,
        name="March intake",
        starts_on=dt.date(2027, 3, 1),
        ends_on=dt.date(2027, 5, 31),
        trainers=[trainer],
        assessors=[assessor],
    )
    assert list(cohort.trainers.all()) == [trainer]
    assert list(cohort.assessors.all()) == [assessor]


@pytest.mark.django_db
def test_it_refuses_a_cohort_ending_before_it_starts() -> None:
    with pytest.raises(ValidationError, match="cannot end before it starts"):
        create_cohort(
            CourseFactory(), name="Bad", starts_on=dt.date(2027, 3, 1), ends_on=dt.date(2027, 2, 1)
        )
    assert not Cohort.objects.filter(name="Bad").exists()


@pytest.mark.django_db
def test_it_refuses_staff_without_the_role_and_saves_nothing(learner: Any) -> None:
    with pytest.raises(ValidationError, match="Not holding the assessor role: lena"):
        create_cohort(
            CourseFactory(), name="Bad", starts_on=dt.date(2027, 3, 1), assessors=[learner]
        )
    assert not Cohort.objects.filter(name="Bad").exists()


@pytest.mark.django_db
def test_enrolling_grants_the_learner_role_and_is_idempotent(cohort: Any) -> None:
    user = UserFactory()
    first = enrol_learner(user, cohort)
    second = enrol_learner(user, cohort)
    assert first == second
    assert Enrolment.objects.filter(learner=user).count() == 1
    assert Role.LEARNER in roles_of(user)
