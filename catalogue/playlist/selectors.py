"""The learner's playlist page: their saved courses with each one's state in words, their goals
with progress and the map, and what to do next. A fixed number of queries, however many
courses, credentials, goals and steps the learner has."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Count, F, Prefetch, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from assessment.models import Outcome
from catalogue.models import Goal, PlaylistItem
from catalogue.pathways.selectors import (
    MapLayout,
    PathwayView,
    in_force,
    is_expiring,
    learner_credentials,
    pathway_map,
    pathway_view,
    pathways_queryset,
    studying,
)
from credentials.models import Achievement, Credential
from delivery.models import Cohort, Course, CourseUnit, ResourceProgress

# "Learners who earned this went on to ...": shown only when at least this many other learners
# make the signal, so no one learner's record can be read from it.
MIN_LEARNERS = 3
RECOMMENDATIONS = 5


def course_link(course: Course) -> str | None:
    """The course's page in the public catalogue (None where the catalogue has no such page)."""
    try:
        return reverse("catalogue:course", kwargs={"code": course.code})
    except NoReverseMatch:
        return None


def course_credential_achievement_key(course: Course) -> tuple[str, int]:
    """What holding the course means: a single-unit course's unit, or the course itself."""
    if course.kind == Course.Kind.UNIT:
        units = list(course.course_units.all())
        if units:
            return ("unit", units[0].unit_id)
    return ("course", course.pk)


@dataclass
class ItemView:
    item: PlaylistItem
    state: str  # saved, enrolled, progress, competent, valid, expiring, expired
    words: str
    credential: Credential | None = None
    link: str | None = None


@dataclass
class GoalView:
    goal: Goal
    view: PathwayView
    map: MapLayout

    @property
    def map_id(self) -> str:
        return f"goal-{self.goal.pk}"


@dataclass
class NextUnit:
    achievement: Achievement
    pathway_title: str
    course: Course | None
    link: str | None


@dataclass
class Renewal:
    credential: Credential
    expired: bool
    intake: Cohort | None
    link: str | None


@dataclass
class WentOnTo:
    after: Achievement
    achievement: Achievement
    learners: int


@dataclass
class PlaylistPage:
    items: list[ItemView]
    goals: list[GoalView]
    next_units: list[NextUnit] = field(default_factory=list)
    renewals: list[Renewal] = field(default_factory=list)
    went_on_to: list[WentOnTo] = field(default_factory=list)
    min_learners: int = MIN_LEARNERS


def _achievement_of(credentials: list[Credential]) -> dict[tuple[str, int], Credential]:
    """The learner's latest credential per unit / course (valid or not, not revoked)."""
    latest: dict[tuple[str, int], Credential] = {}
    for credential in credentials:  # newest first
        a = credential.achievement
        key = ("unit", a.unit_id) if a.unit_id else ("course", a.course_id) if a.course_id else None
        if key is None:
            continue
        best = latest.get(key)
        if best is None or (
            best.valid_until is not None
            and (credential.valid_until is None or credential.valid_until > best.valid_until)
        ):
            latest[key] = credential
    return latest


def _words(credential: Credential, now: Any) -> tuple[str, str]:
    local = timezone.localtime(credential.valid_until) if credential.valid_until else None
    if local is None:
        return "valid", "Competent · credential valid"
    when = f"{local:%-d %B %Y}"
    if credential.valid_until <= now:
        return "expired", f"Credential expired on {when}"
    if is_expiring(credential, now):
        return "expiring", f"Competent · credential expiring on {when}"
    return "valid", f"Competent · credential valid until {when}"


def playlist_page(learner: Any) -> PlaylistPage:
    now = timezone.now()
    items = list(
        PlaylistItem.objects.filter(learner=learner)
        .select_related("course")
        .prefetch_related(Prefetch("course__course_units", CourseUnit.objects.order_by("position")))
        .order_by("position", "id")
    )
    credentials = learner_credentials(learner)
    held = in_force(credentials, now)
    latest = _achievement_of(credentials)
    study = studying(learner)
    course_ids = [item.course_id for item in items]
    touched = set(
        ResourceProgress.objects.filter(learner=learner, resource__module__course_id__in=course_ids)
        .values_list("resource__module__course_id", flat=True)
        .distinct()
    )
    competent_units = set(
        Outcome.objects.current()
        .filter(
            learner=learner,
            code__in=[
                Outcome.Code.COMPETENT,
                Outcome.Code.RPL_GRANTED,
                Outcome.Code.CREDIT_TRANSFER,
            ],
        )
        .values_list("unit_id", flat=True)
    )
    views = []
    for item in items:
        course = item.course
        credential = latest.get(course_credential_achievement_key(course))
        unit_ids = {cu.unit_id for cu in course.course_units.all()}
        if credential is not None:
            state, words = _words(credential, now)
            if state == "expired" and course.pk in study.courses:
                state, words = "progress", words + " · renewing: in progress"
        elif unit_ids and unit_ids <= competent_units:
            state, words = "competent", "Competent"
        elif course.pk in study.courses:
            if course.pk in touched or unit_ids & competent_units:
                state, words = "progress", "In progress"
            else:
                state, words = "enrolled", "Enrolled"
        else:
            state, words = "saved", "Saved"
        views.append(ItemView(item, state, words, credential, course_link(course)))

    goals = list(
        Goal.objects.filter(learner=learner)
        .prefetch_related(Prefetch("pathway", pathways_queryset()))
        .order_by("added_at", "id")
    )
    goal_ids = {goal.pathway_id for goal in goals}
    goal_views = []
    for goal in goals:
        view = pathway_view(goal.pathway, held=held, study=study, goals=goal_ids)
        goal_views.append(GoalView(goal, view, pathway_map(view)))

    return PlaylistPage(
        items=views,
        goals=goal_views,
        next_units=_next_units(goal_views, held),
        renewals=_renewals(credentials, held, now),
        went_on_to=went_on_to(learner, held),
    )


def _next_units(goals: list[GoalView], held: dict[int, Credential]) -> list[NextUnit]:
    """Achievements of the goals' unmet required and "choose" steps the learner does not hold,
    next recommended first, each with a published course to take it in: one query."""
    wanted: list[tuple[Achievement, str]] = []
    seen: set[int] = set()
    order = {"next": 0, "progress": 1, "todo": 2}
    for goal in goals:
        if goal.view.complete:
            continue
        steps = [s for s in goal.view.steps if s.needed and s.state != "met"]
        for step in sorted(steps, key=lambda s: order.get(s.state, 3)):
            for a in step.achievements:
                if a.pk not in held and a.pk not in seen:
                    seen.add(a.pk)
                    wanted.append((a, goal.view.pathway.title))
    unit_ids = [a.unit_id for a, _ in wanted if a.unit_id]
    offered: dict[int, Course] = {}
    rows = CourseUnit.objects.filter(unit_id__in=unit_ids, course__published=True).select_related(
        "course"
    )
    # A unit's own single-unit course first, then the smallest code.
    for course_unit in sorted(
        rows, key=lambda cu: (cu.course.kind != Course.Kind.UNIT, cu.course.code)
    ):
        offered.setdefault(course_unit.unit_id, course_unit.course)
    result = []
    for a, title in wanted:
        course = (
            a.course if a.course is not None and a.course.published else offered.get(a.unit_id or 0)
        )
        result.append(NextUnit(a, title, course, course_link(course) if course else None))
    return result


def _renewals(
    credentials: list[Credential], held: dict[int, Credential], now: Any
) -> list[Renewal]:
    """Credentials expired or expiring within 90 days (and not renewed), each with the first
    listed intake to renew it in (rolling, or starting today or later): one query."""
    due: dict[int, Credential] = {}
    for credential in credentials:
        a = credential.achievement
        if a.is_milestone or credential.valid_until is None or a.pk in due:
            continue
        current = held.get(a.pk)
        if current is not None and not is_expiring(current, now):
            continue  # renewed, or another credential keeps it in force
        if current is not None or credential.valid_until <= now:
            due[a.pk] = current or credential
    if not due:
        return []
    unit_ids = [c.achievement.unit_id for c in due.values() if c.achievement.unit_id]
    course_ids = [c.achievement.course_id for c in due.values() if c.achievement.course_id]
    today: date = timezone.localdate()
    intakes = list(
        Cohort.objects.filter(listed=True, course__published=True)
        .filter(Q(rolling=True) | Q(starts_on__gte=today))
        .filter(Q(course_id__in=course_ids) | Q(course__course_units__unit_id__in=unit_ids))
        .annotate(unit_id=F("course__course_units__unit_id"))
        .select_related("course")
        .order_by("-rolling", "starts_on", "id")
    )
    result = []
    for credential in sorted(due.values(), key=lambda c: c.valid_until or now):
        a = credential.achievement
        intake = next(
            (
                i
                for i in intakes
                if (a.course_id and i.course_id == a.course_id)
                or (a.unit_id and i.unit_id == a.unit_id and i.course.kind == Course.Kind.UNIT)
            ),
            None,
        ) or next((i for i in intakes if a.unit_id and i.unit_id == a.unit_id), None)
        result.append(
            Renewal(
                credential,
                credential.valid_until is not None and credential.valid_until <= now,
                intake,
                course_link(intake.course) if intake else None,
            )
        )
    return result


def went_on_to(learner: Any, held: dict[int, Credential]) -> list[WentOnTo]:
    """For each achievement the learner holds: what other learners who earned it earned
    afterwards, by how many of them, aggregated in the database (one query), shown only from
    MIN_LEARNERS learners up. Milestones and what the learner holds already are left out."""
    if not held:
        return []
    held_ids = list(held)
    found = (
        Credential.objects.filter(
            revoked_at__isnull=True,
            learner__credentials__achievement_id__in=held_ids,
            learner__credentials__revoked_at__isnull=True,
            issued_at__gt=F("learner__credentials__issued_at"),
        )
        .exclude(learner=learner)
        .exclude(achievement_id__in=held_ids)
        .filter(Q(achievement__unit__isnull=False) | Q(achievement__course__isnull=False))
        .values("learner__credentials__achievement_id", "achievement_id")
        .annotate(learners=Count("learner_id", distinct=True))
        .filter(learners__gte=MIN_LEARNERS)
        .order_by("-learners", "achievement_id")
    )
    rows = list(found[:50])
    if not rows:
        return []
    named = Achievement.objects.in_bulk(
        {r["achievement_id"] for r in rows}
        | {r["learner__credentials__achievement_id"] for r in rows}
    )
    result: list[WentOnTo] = []
    shown: set[int] = set()
    for row in rows:
        if row["achievement_id"] in shown:
            continue
        shown.add(row["achievement_id"])
        result.append(
            WentOnTo(
                named[row["learner__credentials__achievement_id"]],
                named[row["achievement_id"]],
                row["learners"],
            )
        )
        if len(result) == RECOMMENDATIONS:
            break
    return result
