"""The credentials a course's prerequisites ask for, checked for delivery's enrolment rules.

Delivery knows that a course needs others (Course.prerequisites) but cannot import credentials;
`credentials.apps` registers `missing_prerequisites` with delivery's requirement registry.
A prerequisite course is met by a credential in force (not revoked, not expired, already
valid) for the course's own achievement or, for a single-unit course, for its unit's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from credentials.models import Credential
from delivery.models import Course, CourseUnit


def missing_prerequisites(learner: Any, course: Course) -> list[str]:
    """Each prerequisite course the learner holds no credential in force for, in words."""
    required = list(course.prerequisites.order_by("code"))
    if not required:
        return []
    single_units = dict(
        CourseUnit.objects.filter(
            course__in=[c for c in required if c.kind == Course.Kind.UNIT]
        ).values_list("course_id", "unit_id")
    )
    now = timezone.now()
    held = Credential.objects.filter(
        learner_id=getattr(learner, "pk", None),
        revoked_at__isnull=True,
        valid_from__lte=now,
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
    held_courses = set(held.values_list("achievement__course_id", flat=True))
    held_units = set(held.values_list("achievement__unit_id", flat=True))
    return [
        f"a current credential for {c.code} {c.title}"
        for c in required
        if c.pk not in held_courses and single_units.get(c.pk, -1) not in held_units
    ]
