from __future__ import annotations

from typing import Any

import pytest

from delivery.services import enrol_learner
from tests.factories import assessable_unit


@pytest.fixture
def written(cohort: Any, learner: Any) -> dict[str, Any]:
    """A written task of two short-answer items in a unit of the learner's course, fully mapped;
    the learner is enrolled in `cohort` (assessed by `assessor`)."""
    enrol_learner(learner, cohort)
    return assessable_unit(course=cohort.course, items=2)
