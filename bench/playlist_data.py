"""Data for `bench/playlist.py`, built in the scratch database by a child process: a provider
with 2,000 units and 400 published courses (300 single units, 100 skill sets of 6 units, half
of whose units are also offered on their own), two listed intakes each with some enrolments,
150 pathways of 6 steps toward a skill set's credential, and a learner holding 120 unit
credentials (with their outcomes), 30 courses in their playlist and 5 pathway goals. Built
directly with the ORM (bulk_create): what is measured is reading it. Prints one JSON line.

The pathway map and the playlist are measured by URL name when those pages exist
(`catalogue:pathway` with the pathway's key, `catalogue:playlist`); their paths are null here
otherwise, and the benchmark prints n/a.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

UNITS = 2000
SINGLE_UNITS = 300
SKILL_SETS = 100
UNITS_PER_SET = 6
PATHWAYS = 150
STEPS = 6
CREDENTIALS = 120
PLAYLIST = 30
GOALS = 5
AREAS = [
    "Health and safety",
    "First aid",
    "Aged care",
    "Disability support",
    "Business",
    "Hospitality",
    "Construction",
    "Community services",
]
WORDS = ["safety", "care", "practice", "records", "teams", "clients", "hygiene", "risk"]


def build() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from assessment.models import Outcome
    from bench.data import cookie_for, query_count
    from catalogue.models import Goal, Pathway, PathwayStep, PlaylistItem
    from credentials.models import Achievement, Credential, SigningKey
    from delivery.models import Cohort, Course, CourseUnit, Enrolment, Unit
    from delivery.roles import Role
    from delivery.services import grant_role

    rng = random.Random(16)
    today = timezone.localdate()
    now = timezone.now()
    users = get_user_model().objects
    learner = users.create_user("bench-learner", "lena@example.test", first_name="Lena")
    assessor = users.create_user("bench-assessor", "asha@example.test", first_name="Asha")
    grant_role(learner, Role.LEARNER)
    grant_role(assessor, Role.ASSESSOR)
    others = users.bulk_create(
        [users.model(username=f"bench-other-{n}", email=f"o{n}@example.test") for n in range(40)]
    )

    units = Unit.objects.bulk_create(
        [
            Unit(
                code=f"BNCH{n:05d}",
                title=f"Apply {WORDS[n % len(WORDS)]} in {AREAS[n % len(AREAS)].lower()} {n}",
                description="What the unit is about, in a sentence or two.",
            )
            for n in range(UNITS)
        ],
        batch_size=500,
    )

    def course(n: int, kind: str, title: str) -> Course:
        return Course(
            code=f"BNC{kind[:1].upper()}{n:05d}",
            title=title,
            kind=kind,
            description=f"A course about {WORDS[n % len(WORDS)]}, for people at work.",
            published=True,
            area=AREAS[n % len(AREAS)],
            outcomes="Do the first thing well\nDo the second thing well\nKnow when to ask",
            effort_hours=rng.choice([4, 8, 12, 20, 40, 60]),
            self_paced=True,
            live_tutorials=n % 3 == 0,
            workplace_observation=n % 4 == 0,
            validity_months=36 if n % 5 == 0 else None,
        )

    singles = Course.objects.bulk_create(
        [course(n, "unit", f"{units[n].title} on its own") for n in range(SINGLE_UNITS)]
    )
    sets = Course.objects.bulk_create(
        [
            course(n, "skill_set", f"{AREAS[n % len(AREAS)]} {WORDS[n % len(WORDS)]} skill set")
            for n in range(SKILL_SETS)
        ]
    )
    links = [CourseUnit(course=c, unit=units[n], position=1) for n, c in enumerate(singles)]
    for n, skill_set in enumerate(sets):
        # Half its units are single-unit courses too, so that singles stack into sets.
        members = [(n * 3 + k) % SINGLE_UNITS for k in range(UNITS_PER_SET // 2)]
        members += [SINGLE_UNITS + n * 17 + k for k in range(UNITS_PER_SET // 2)]
        links += [
            CourseUnit(course=skill_set, unit=units[u], position=p + 1)
            for p, u in enumerate(members)
        ]
    CourseUnit.objects.bulk_create(links, batch_size=1000)
    courses = singles + sets

    intakes = []
    for n, c in enumerate(courses):
        intakes.append(
            Cohort(
                course=c,
                name="Self-paced",
                listed=True,
                rolling=True,
                starts_on=today - timedelta(days=30),
            )
        )
        starts = today + timedelta(days=5 + n % 60)
        intakes.append(
            Cohort(
                course=c,
                name="Next intake",
                listed=True,
                places=20,
                starts_on=starts,
                ends_on=starts + timedelta(days=42),
                enrol_closes_at=now + timedelta(days=3 + n % 60),
            )
        )
    intakes = Cohort.objects.bulk_create(intakes, batch_size=1000)
    Enrolment.objects.bulk_create(
        [
            Enrolment(learner=other, cohort=intake)
            for intake in intakes[1::2]
            for other in rng.sample(others, 3)
        ],
        batch_size=1000,
    )

    achievements = Achievement.objects.bulk_create(
        [Achievement(unit=u, name=u.title, human_code=u.code) for u in units]
        + [
            Achievement(course=s, name=s.title, human_code=s.code, validity_months=None)
            for s in sets
        ],
        batch_size=1000,
    )
    by_unit = {a.unit_id: a for a in achievements if a.unit_id}
    by_course = {a.course_id: a for a in achievements if a.course_id}

    # The learner's 120 credentials: units of the first 120 single-unit courses.
    key = SigningKey.objects.create(public_multikey="z6MkBench", encrypted_private_key=b"x")
    held = singles[:CREDENTIALS]
    outcomes = Outcome.objects.bulk_create(
        [
            Outcome(
                learner=learner,
                unit=units[n],
                cohort=intakes[2 * n],
                code="20",
                recorded_by=assessor,
                recorded_at=now - timedelta(days=400 - n),
            )
            for n in range(len(held))
        ]
    )
    Credential.objects.bulk_create(
        [
            Credential(
                learner=learner,
                achievement=by_unit[outcome.unit_id],
                outcome=outcome,
                signing_key=key,
                valid_from=outcome.recorded_at,
                valid_until=outcome.recorded_at + timedelta(days=3 * 365) if n % 5 == 0 else None,
                document="{}",
            )
            for n, outcome in enumerate(outcomes)
        ]
    )
    Enrolment.objects.bulk_create(
        [Enrolment(learner=learner, cohort=intakes[2 * n]) for n in range(len(held))]
    )

    pathways = Pathway.objects.bulk_create(
        [
            Pathway(
                key=f"pathway-{n:03d}",
                title=f"Toward {sets[n % SKILL_SETS].title} ({n})",
                summary="Single units first, then the skill set.",
                goal=by_course[sets[n % SKILL_SETS].pk],
                published=True,
            )
            for n in range(PATHWAYS)
        ]
    )
    steps = PathwayStep.objects.bulk_create(
        [
            PathwayStep(
                pathway=pathway,
                key=f"step-{s}",
                title=f"Step {s + 1}",
                position=s,
                requirement="choice" if s == STEPS - 1 else "required",
                choose=1 if s == STEPS - 1 else None,
            )
            for pathway in pathways
            for s in range(STEPS)
        ],
        batch_size=1000,
    )
    units_of: dict[int, list[int]] = {}
    for link in links:
        units_of.setdefault(link.course_id, []).append(link.unit_id)
    step_achievements = []
    after = []
    for n, step in enumerate(steps):
        index, position = divmod(n, STEPS)
        goal = sets[index % SKILL_SETS]
        wanted = [by_unit[units_of[goal.pk][position % len(units_of[goal.pk])]]]
        if position == STEPS - 1:
            wanted.append(by_course[goal.pk])
        step_achievements += [
            PathwayStep.achievements.through(pathwaystep_id=step.pk, achievement_id=a.pk)
            for a in wanted
        ]
        if position:  # the arrow from the step before, in the recommended order
            after.append(
                PathwayStep.after.through(
                    from_pathwaystep_id=step.pk, to_pathwaystep_id=steps[n - 1].pk
                )
            )
    PathwayStep.achievements.through.objects.bulk_create(step_achievements, batch_size=1000)
    PathwayStep.after.through.objects.bulk_create(after, batch_size=1000)

    wished = [c for c in courses if c not in held][:PLAYLIST]
    PlaylistItem.objects.bulk_create(
        [PlaylistItem(learner=learner, course=c, position=p) for p, c in enumerate(wished)]
    )
    Goal.objects.bulk_create([Goal(learner=learner, pathway=p) for p in pathways[:GOALS]])

    def path(name: str, *args: Any) -> str | None:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            return None

    catalogue_path = reverse("catalogue:index") + "?q=safety&soon=1"
    pathway_path = path("catalogue:pathway", pathways[0].key)
    playlist_path = path("catalogue:playlist")
    return {
        "cookie": cookie_for(learner),
        "catalogue_path": catalogue_path,
        "pathway_path": pathway_path,
        "playlist_path": playlist_path,
        "catalogue_queries": query_count(learner, catalogue_path),
        "pathway_queries": query_count(learner, pathway_path) if pathway_path else None,
        "playlist_queries": query_count(learner, playlist_path) if playlist_path else None,
    }


if __name__ == "__main__":
    import django

    django.setup()
    print(json.dumps(build()))
