"""A provider that sells the units of a skill set on their own: HLTINF006 and HLTINF007 each
in a single-unit course with its own intake, and the skill set HLTSS00065 made of both."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from delivery.models import Cohort, Course, CourseUnit, Unit
from delivery.services import enrol_learner
from tests.factories import CohortFactory, CourseFactory, UnitFactory


@dataclass
class Stack:
    hltinf006: Unit
    hltinf007: Unit
    single_006: Course
    single_007: Course
    skill_set: Course
    intake_006: Cohort
    intake_007: Cohort
    skill_set_intake: Cohort


def make_stack(learner: Any, assessor: Any) -> Stack:
    hltinf006 = UnitFactory(code="HLTINF006", title="Apply basic principles of infection control")
    hltinf007 = UnitFactory(code="HLTINF007", title="Implement and monitor infection control")
    single_006 = CourseFactory(
        code="HLTINF006-SU", title="Infection control", kind=Course.Kind.UNIT, units=[hltinf006]
    )
    single_007 = CourseFactory(
        code="HLTINF007-SU",
        title="Infection control leadership",
        kind=Course.Kind.UNIT,
        units=[hltinf007],
    )
    skill_set = CourseFactory(
        code="HLTSS00065",
        title="Infection Prevention and Control Skill Set",
        kind=Course.Kind.SKILL_SET,
        units=[hltinf006, hltinf007],
    )
    assert CourseUnit.objects.filter(course=skill_set).count() == 2
    intake_006 = CohortFactory(
        course=single_006, name="March intake", assessors=[assessor],
        starts_on=dt.date(2026, 3, 2),
    )  # fmt: skip
    intake_007 = CohortFactory(
        course=single_007, name="May intake", assessors=[assessor], starts_on=dt.date(2026, 5, 4)
    )
    skill_set_intake = CohortFactory(
        course=skill_set, name="Winter intake", assessors=[assessor],
        starts_on=dt.date(2026, 6, 1),
    )  # fmt: skip
    enrol_learner(learner, intake_006)
    enrol_learner(learner, intake_007)
    return Stack(
        hltinf006, hltinf007, single_006, single_007, skill_set, intake_006, intake_007,
        skill_set_intake,
    )  # fmt: skip
