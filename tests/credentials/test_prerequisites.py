"""A course's prerequisites, as delivery's enrolment asks them: a credential in force for the
prerequisite course, or for a single-unit course, its unit's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from credentials.models import Credential
from credentials.prerequisites import missing_prerequisites
from delivery.enrolment.requirements import unmet_requirements
from delivery.models import Course, CourseUnit
from tests.credentials.helpers import issued
from tests.factories import CohortFactory, CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def single_unit_course(unit: Any) -> Course:
    course = CourseFactory(code=f"{unit.code}-C", kind=Course.Kind.UNIT, units=[])
    CourseUnit.objects.create(course=course, unit=unit, position=1)
    return course


def test_it_asks_for_a_credential_in_force_of_the_units_course(
    learner: Any, unit: Any, cohort: Any, assessor: Any, single_unit_course: Course
) -> None:
    wanting = CohortFactory().course
    wanting.prerequisites.add(single_unit_course)
    assert missing_prerequisites(learner, wanting) == [
        f"a current credential for {single_unit_course.code} {single_unit_course.title}"
    ]
    # Registered by credentials' AppConfig.ready(): delivery asks it without importing it.
    assert unmet_requirements(learner, wanting) == missing_prerequisites(learner, wanting)
    credential = issued(learner, unit, cohort, assessor)
    assert missing_prerequisites(learner, wanting) == []
    Credential.objects.filter(pk=credential.pk).update(
        valid_until=timezone.now() - timedelta(days=1)
    )
    assert len(missing_prerequisites(learner, wanting)) == 1  # expired
    Credential.objects.filter(pk=credential.pk).update(valid_until=None, revoked_at=timezone.now())
    assert len(missing_prerequisites(learner, wanting)) == 1  # revoked


def test_a_course_without_prerequisites_asks_nothing(learner: Any, cohort: Any) -> None:
    assert missing_prerequisites(learner, cohort.course) == []
