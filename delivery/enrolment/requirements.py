"""What a learner must hold before enrolling in a course, as the apps above define it.

Delivery knows a course's prerequisites (other courses) but not credentials, which live above
it; so the credentials app registers a check here in its AppConfig.ready() (see
credentials/prerequisites.py), and enrolment asks every registered check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from delivery.models import Course

# A check: (learner, course) -> what the learner lacks, each in words ("a current credential
# for HLTAID011 Provide first aid"); an empty list when nothing is missing.
Requirement = Callable[[Any, Course], list[str]]

_requirements: list[Requirement] = []


def register_requirement(check: Requirement) -> Requirement:
    """Add a check (idempotent, so a second ready() does not ask it twice)."""
    if check not in _requirements:
        _requirements.append(check)
    return check


def unmet_requirements(learner: Any, course: Course) -> list[str]:
    """Everything every registered check finds missing, in their order."""
    return [thing for check in _requirements for thing in check(learner, course)]
