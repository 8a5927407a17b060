"""Reading pathways: what a learner holds, each step's state for them, and the map, in a fixed
number of queries whatever the size of the pathway."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from catalogue.models import Goal, Pathway, PathwayStep
from catalogue.pathways import rules
from catalogue.pathways.svg import MapLayout, layout
from credentials.models import Achievement, Credential
from delivery.models import Course, CourseUnit, Enrolment, Unit

EXPIRING_WITHIN = timedelta(days=90)


# --- what a learner holds -------------------------------------------------------------------


def learner_credentials(learner: Any) -> list[Credential]:
    """The learner's credentials not revoked, newest first, with their achievements: one query.
    (To be swapped for credentials' own selector when it exists.)"""
    if not getattr(learner, "is_authenticated", False):
        return []
    return list(
        Credential.objects.filter(learner=learner, revoked_at__isnull=True)
        .select_related("achievement")
        .order_by("-valid_from", "-id")
    )


def in_force(
    credentials: Iterable[Credential], now: datetime | None = None
) -> dict[int, Credential]:
    """By achievement id, the credential in force that lasts longest (no expiry beats any)."""
    now = now or timezone.now()
    held: dict[int, Credential] = {}
    for credential in credentials:
        if credential.revoked_at is not None or credential.valid_from > now:
            continue
        if credential.valid_until is not None and credential.valid_until <= now:
            continue
        best = held.get(credential.achievement_id)
        if best is None or (
            best.valid_until is not None
            and (credential.valid_until is None or credential.valid_until > best.valid_until)
        ):
            held[credential.achievement_id] = credential
    return held


def held_in_force(learner: Any, now: datetime | None = None) -> dict[int, Credential]:
    """Achievements the learner holds in force (not revoked, valid now): one query."""
    return in_force(learner_credentials(learner), now)


def is_expiring(credential: Credential, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return credential.valid_until is not None and credential.valid_until - now <= EXPIRING_WITHIN


@dataclass(frozen=True)
class Studying:
    """What the learner is enrolled in now: course ids and unit ids."""

    courses: frozenset[int] = frozenset()
    units: frozenset[int] = frozenset()


def studying(learner: Any) -> Studying:
    """The courses and units of the learner's active enrolments: one query."""
    if not getattr(learner, "is_authenticated", False):
        return Studying()
    rows = CourseUnit.objects.filter(
        course__cohorts__enrolments__learner=learner,
        course__cohorts__enrolments__status=Enrolment.Status.ACTIVE,
    ).values_list("course_id", "unit_id")
    pairs = list(rows)
    return Studying(frozenset(c for c, _ in pairs), frozenset(u for _, u in pairs))


# --- describing achievements for the rules --------------------------------------------------


def describe_achievements(achievements: Sequence[Achievement]) -> dict[int, rules.AchievementInfo]:
    """Each achievement as the rules see it, with why it cannot be earned: three queries."""
    unit_ids = {a.unit_id for a in achievements if a.unit_id}
    course_ids = {a.course_id for a in achievements if a.course_id}
    units = Unit.objects.in_bulk(unit_ids)
    offered = set(
        CourseUnit.objects.filter(unit_id__in=unit_ids, course__published=True).values_list(
            "unit_id", flat=True
        )
    )
    courses = {
        course.pk: course
        for course in Course.objects.filter(pk__in=course_ids).prefetch_related(
            Prefetch("course_units", CourseUnit.objects.select_related("unit"))
        )
    }
    awarded = set(
        PathwayStep.objects.filter(milestone__in=[a.pk for a in achievements]).values_list(
            "milestone_id", flat=True
        )
    ) | set(
        Pathway.objects.filter(goal__in=[a.pk for a in achievements]).values_list(
            "goal_id", flat=True
        )
    )
    described: dict[int, rules.AchievementInfo] = {}
    for a in achievements:
        if a.unit_id:
            described[a.pk] = _unit_info(units[a.unit_id], a.unit_id in offered)
        elif a.course_id:
            described[a.pk] = _course_info(courses[a.course_id])
        else:
            described[a.pk] = rules.AchievementInfo(
                a.human_code,
                a.name,
                "milestone",
                frozenset(),
                "" if a.pk in awarded else "is a milestone no pathway awards",
            )
    return described


def describe_codes(codes: Iterable[str]) -> dict[str, rules.AchievementInfo]:
    """What the catalogue has under each code (a unit first, then a course, then a milestone's
    own code), as the rules see it, creating nothing (content packs check before writing):
    five queries. Codes nothing has are left out."""
    wanted = {code.upper() for code in codes}
    units = {u.code.upper(): u for u in Unit.objects.filter(code__in=wanted)}
    offered = set(
        CourseUnit.objects.filter(unit__in=units.values(), course__published=True).values_list(
            "unit_id", flat=True
        )
    )
    courses = {
        c.code.upper(): c
        for c in Course.objects.filter(code__in=wanted - set(units)).prefetch_related(
            Prefetch("course_units", CourseUnit.objects.select_related("unit"))
        )
    }
    milestones = {
        a.human_code.upper(): a
        for a in Achievement.objects.filter(
            human_code__in=wanted - set(units) - set(courses),
            unit__isnull=True,
            course__isnull=True,
        )
    }
    described = describe_achievements(list(milestones.values()))
    found: dict[str, rules.AchievementInfo] = {}
    for code in wanted:
        if code in units:
            found[code] = _unit_info(units[code], units[code].pk in offered)
        elif code in courses:
            found[code] = _course_info(courses[code])
        elif code in milestones:
            found[code] = described[milestones[code].pk]
    return found


def _unit_info(unit: Unit, offered: bool) -> rules.AchievementInfo:
    problem = ""
    if unit.status != Unit.Status.CURRENT:
        problem = f"is a {unit.get_status_display().lower()} unit"
    elif not offered:
        problem = "is in no published course, so no one can enrol in it"
    return rules.AchievementInfo(unit.code, unit.title, "unit", frozenset({unit.code}), problem)


def _course_info(course: Course) -> rules.AchievementInfo:
    problem = ""
    course_units = list(course.course_units.all())
    if course.kind == Course.Kind.UNIT:
        problem = "is a single-unit course, with no credential of its own: name its unit"
    elif not course.published:
        problem = "is a course not published in the catalogue"
    else:
        gone = [cu.unit.code for cu in course_units if cu.unit.status != Unit.Status.CURRENT]
        if gone:
            problem = f"needs {', '.join(gone)}, no longer current"
    return rules.AchievementInfo(
        course.code,
        course.title,
        "course",
        frozenset(cu.unit.code for cu in course_units),
        problem,
    )


def pathway_info(pathway: Pathway) -> rules.PathwayInfo:
    """The pathway as it is stored, for the rules."""
    steps = list(pathway.steps.prefetch_related("achievements", "after").order_by("position", "id"))
    achievements = [pathway.goal, *{a.pk: a for s in steps for a in s.achievements.all()}.values()]
    described = describe_achievements(achievements)
    return rules.PathwayInfo(
        goal=described[pathway.goal_id],
        steps=[
            rules.StepInfo(
                key=step.key,
                title=step.title,
                requirement=step.requirement,
                choose=step.choose,
                achievements=[described[a.pk] for a in step.achievements.all()],
                after=[b.key for b in step.after.all()],
            )
            for step in steps
        ],
    )


def pathway_problems(pathway: Pathway) -> list[rules.Problem]:
    return rules.check_pathway(pathway_info(pathway))


# --- a step's state for a learner -----------------------------------------------------------


def step_is_met(
    step: PathwayStep, achievements: Iterable[Achievement], held: dict[int, Any]
) -> bool:
    """Required and optional: every achievement held; "choose n": n of them."""
    ids = [a.pk for a in achievements]
    count = sum(1 for pk in ids if pk in held)
    if step.requirement == PathwayStep.Requirement.CHOICE:
        return count >= (step.choose or 1)
    return bool(ids) and count == len(ids)


STATE_LABELS = {
    "met": "Met",
    "progress": "In progress",
    "next": "Next recommended",
    "todo": "To do",
}


@dataclass
class StepView:
    step: PathwayStep
    achievements: list[Achievement]
    requirement: str  # "Required", "Optional", "Choose 2 of 3"
    after: list[str]  # keys
    after_titles: list[str] = field(default_factory=list)
    state: str = ""  # "", or a key of STATE_LABELS (with a learner)
    credentials: list[Credential] = field(default_factory=list)
    depth: int = 0
    needed: int = 0  # achievements toward the goal
    done: int = 0

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, "")

    @property
    def codes(self) -> str:
        return ", ".join(a.human_code for a in self.achievements)


@dataclass
class PathwayView:
    pathway: Pathway
    steps: list[StepView]
    with_learner: bool = False
    goal_credential: Credential | None = None
    is_goal: bool = False  # the learner set it as a goal

    @property
    def needed(self) -> int:
        return sum(s.needed for s in self.steps)

    @property
    def done(self) -> int:
        return sum(s.done for s in self.steps)

    @property
    def noun(self) -> str:
        counted = [a for s in self.steps if s.needed for a in s.achievements]
        if counted and all(a.unit_id for a in counted):
            return "unit" if self.needed == 1 else "units"
        return "credential" if self.needed == 1 else "credentials"

    @property
    def complete(self) -> bool:
        if self.goal_credential is not None:
            return True
        counted = [s for s in self.steps if s.needed]
        return bool(counted) and all(s.state == "met" for s in counted)

    @property
    def next_steps(self) -> list[StepView]:
        return [s for s in self.steps if s.state == "next"]


def pathways_queryset() -> QuerySet[Pathway]:
    """Pathways with everything the map needs, in a fixed number of queries."""
    achievements = Achievement.objects.select_related("unit", "course")
    return Pathway.objects.select_related("goal").prefetch_related(
        Prefetch(
            "steps",
            PathwayStep.objects.select_related("milestone")
            .prefetch_related(
                Prefetch("achievements", achievements.order_by("human_code")),
                Prefetch("after", PathwayStep.objects.only("id", "key", "pathway_id")),
            )
            .order_by("position", "id"),
        )
    )


def published_pathways() -> QuerySet[Pathway]:
    return pathways_queryset().filter(published=True)


def _depths(steps: Sequence[PathwayStep]) -> dict[int, int]:
    """Column of each step: the longest chain of `after` links before it (no cycles, by the
    rules; a stored cycle still ends, at the step already seen)."""
    by_pk = {s.pk: s for s in steps}
    depth: dict[int, int] = {}

    def visit(pk: int, seen: frozenset[int]) -> int:
        if pk in depth:
            return depth[pk]
        befores = [b.pk for b in by_pk[pk].after.all() if b.pk in by_pk and b.pk not in seen]
        value = max((visit(b, seen | {pk}) + 1 for b in befores), default=0)
        depth[pk] = value
        return value

    for step in steps:
        visit(step.pk, frozenset())
    return depth


def pathway_view(
    pathway: Pathway,
    *,
    held: dict[int, Credential] | None = None,
    study: Studying | None = None,
    goals: set[int] | None = None,
) -> PathwayView:
    """The pathway's steps, each with its requirement and, with a learner's `held` and
    `study`, its state: met (with the credentials), in progress (enrolled in a course teaching
    it), next recommended (every step recommended before it met), or to do. No queries beyond
    those of `pathways_queryset`."""
    steps = list(pathway.steps.all())
    depths = _depths(steps)
    views: list[StepView] = []
    with_learner = held is not None
    held = held or {}
    study = study or Studying()
    met: dict[int, bool] = {}
    for step in steps:
        achievements = list(step.achievements.all())
        is_met = step_is_met(step, achievements, held)
        met[step.pk] = is_met
        needed = 0
        if step.requirement == PathwayStep.Requirement.REQUIRED:
            needed = len(achievements)
        elif step.requirement == PathwayStep.Requirement.CHOICE:
            needed = min(step.choose or 1, len(achievements))
        views.append(
            StepView(
                step=step,
                achievements=achievements,
                requirement=rules.requirement_label(
                    step.requirement, step.choose, len(achievements)
                ),
                after=[b.key for b in step.after.all()],
                credentials=[held[a.pk] for a in achievements if a.pk in held],
                depth=depths.get(step.pk, 0),
                needed=needed,
                done=min(needed, sum(1 for a in achievements if a.pk in held)),
            )
        )
    titles = {view.step.key: view.step.title for view in views}
    for view in views:
        view.after_titles = [titles[key] for key in view.after if key in titles]
    if with_learner:
        for view in views:
            step = view.step
            if met[step.pk]:
                view.state = "met"
            elif any(
                a.pk not in held and (a.unit_id in study.units or a.course_id in study.courses)
                for a in view.achievements
            ):
                view.state = "progress"
            elif all(met.get(b.pk, True) for b in step.after.all()):
                view.state = "next"
            else:
                view.state = "todo"
    return PathwayView(
        pathway=pathway,
        steps=views,
        with_learner=with_learner,
        goal_credential=held.get(pathway.goal_id),
        is_goal=pathway.pk in (goals or set()),
    )


def learner_goal_ids(learner: Any) -> set[int]:
    if not getattr(learner, "is_authenticated", False):
        return set()
    return set(Goal.objects.filter(learner=learner).values_list("pathway_id", flat=True))


def pathway_for_page(key: str, learner: Any) -> PathwayView | None:
    """A published pathway by key, with the learner's position when signed in; None if there
    is no such published pathway."""
    pathway = published_pathways().filter(key=key).first()
    if pathway is None:
        return None
    if not getattr(learner, "is_authenticated", False):
        return pathway_view(pathway)
    return pathway_view(
        pathway,
        held=held_in_force(learner),
        study=studying(learner),
        goals=learner_goal_ids(learner),
    )


def pathways_for_course(course: Course) -> list[Pathway]:
    """Published pathways with a step naming the course or one of its units: two queries."""
    unit_ids = list(course.course_units.values_list("unit_id", flat=True))
    return list(
        Pathway.objects.filter(published=True)
        .filter(
            Q(steps__achievements__course=course) | Q(steps__achievements__unit_id__in=unit_ids)
        )
        .distinct()
        .order_by("title", "id")
    )


def pathway_map(view: PathwayView) -> MapLayout:
    """The map's layout (catalogue/pathways/svg.py), for the pages of other rooms."""
    return layout(view)
