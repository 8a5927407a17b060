"""Units, courses, pathways and credentials for the pathway and playlist tests, made directly
(credentials as rows: what the learner holds is the question here, not signing, which
tests/catalogue/test_pathways_milestones.py proves with real issuance)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from catalogue.models import Pathway, PathwayStep
from credentials.models import Achievement, Credential, SigningKey
from credentials.services import achievement_for_course, achievement_for_unit
from delivery.models import Course, CourseUnit, Unit
from tests.factories import CohortFactory


def unit_course(code: str, title: str = "", *, published: bool = True) -> Unit:
    """A current unit, offered on its own as a published single-unit course of the same code."""
    unit = Unit.objects.create(code=code, title=title or f"Unit {code}")
    course = Course.objects.create(
        code=code, title=title or f"Unit {code}", kind=Course.Kind.UNIT, published=published
    )
    CourseUnit.objects.create(course=course, unit=unit, position=1)
    return unit


def skill_set(code: str, units: list[Unit], *, published: bool = True, **fields: Any) -> Course:
    course = Course.objects.create(
        code=code,
        title=fields.pop("title", f"Skill set {code}"),
        kind=Course.Kind.SKILL_SET,
        published=published,
        **fields,
    )
    for position, unit in enumerate(units, start=1):
        CourseUnit.objects.create(course=course, unit=unit, position=position)
    return course


def achievement(thing: Unit | Course) -> Achievement:
    if isinstance(thing, Unit):
        return achievement_for_unit(thing)
    return achievement_for_course(thing)


def milestone(name: str, code: str = "") -> Achievement:
    return Achievement.objects.create(
        name=name, description=name, human_code=code or name[:20].upper().replace(" ", "-")
    )


def pathway(
    key: str,
    goal: Achievement,
    steps: list[dict[str, Any]],
    *,
    published: bool = True,
    title: str = "",
) -> Pathway:
    """`steps`: dicts of key, achievements (list), and optional requirement, choose, after
    (keys), milestone (an Achievement)."""
    made = Pathway.objects.create(
        key=key, title=title or f"Pathway {key}", goal=goal, published=published
    )
    by_key: dict[str, PathwayStep] = {}
    for position, spec in enumerate(steps, start=1):
        step = PathwayStep.objects.create(
            pathway=made,
            key=spec["key"],
            title=spec.get("title", f"Step {spec['key']}"),
            position=position,
            requirement=spec.get("requirement", "required"),
            choose=spec.get("choose"),
            milestone=spec.get("milestone"),
        )
        step.achievements.set(spec["achievements"])
        by_key[step.key] = step
    for spec in steps:
        by_key[spec["key"]].after.set([by_key[k] for k in spec.get("after", [])])
    return made


def give(
    learner: Any,
    achieved: Achievement,
    *,
    issued_at: datetime | None = None,
    valid_until: datetime | None = None,
    revoked: bool = False,
) -> Credential:
    """A credential row for `learner` (unsigned: only what the learner holds matters here)."""
    key = SigningKey.objects.first() or SigningKey.objects.create(
        public_multikey=f"z{uuid.uuid4().hex}", encrypted_private_key=b"-"
    )
    issued_at = issued_at or timezone.now() - timedelta(days=30)
    return Credential.objects.create(
        learner=learner,
        achievement=achieved,
        signing_key=key,
        issued_at=issued_at,
        valid_from=issued_at,
        valid_until=valid_until,
        document="{}",
        revoked_at=timezone.now() if revoked else None,
    )


def intake(course: Course, **fields: Any) -> Any:
    return CohortFactory(course=course, listed=True, **fields)
