"""The public catalogue's queries: which published courses a search and its filters find, and
everything a course's card and page show (intakes with places left, the credential it earns,
what it stacks into), fetched for a whole page of courses in a fixed number of queries.

Anyone may browse, signed in or not: what is not published is hidden, except from
administrators, who see a course's page before they publish it (marked so).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

from credentials.models import Achievement
from delivery.models import Cohort, Course, CourseUnit, Enrolment, Unit
from delivery.roles import Role, has_role

# Days ahead an intake counts as "starting soon".
SOON_DAYS = 30
PER_PAGE = 12

# Effort bands (hours, inclusive), as the "length" filter offers them.
LENGTHS: dict[str, tuple[str, int | None, int | None]] = {
    "day": ("A day or less (up to 8 hours)", None, 8),
    "week": ("Up to a week (9 to 40 hours)", 9, 40),
    "longer": ("Longer (over 40 hours)", 41, None),
}
DELIVERY_MODES: dict[str, str] = {
    "self_paced": "Self-paced study",
    "live_tutorials": "Live tutorials",
    "workplace_observation": "Workplace observation",
}
# How a course's delivery reads in a sentence, in this order.
_DELIVERY_WORDS = {
    "self_paced": "self-paced study online",
    "live_tutorials": "live tutorials with a trainer",
    "workplace_observation": "observation in a workplace",
}


class CatalogueFilters(forms.Form):
    """The search and filters, from the query string (GET), so a filtered list is a link."""

    q = forms.CharField(label="Search", max_length=100, required=False, strip=True)
    area = forms.CharField(label="Area of skill", max_length=80, required=False)
    length = forms.ChoiceField(
        label="Length",
        required=False,
        choices=[("", "Any length"), *((k, v[0]) for k, v in LENGTHS.items())],
    )
    delivery = forms.MultipleChoiceField(
        label="Delivery",
        required=False,
        choices=list(DELIVERY_MODES.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    soon = forms.BooleanField(label=f"Starting within {SOON_DAYS} days", required=False)


def visible_courses(user: Any) -> QuerySet[Course]:
    """Courses `user` may see in the catalogue: published ones; every course for an
    administrator (who previews before publishing)."""
    if has_role(user, Role.ADMINISTRATOR):
        return Course.objects.all()
    return Course.objects.filter(published=True)


def _upcoming(today: dt.date, *, within: int | None = None) -> Q:
    """Listed intakes a learner could still join: rolling ones not yet ended, and scheduled
    ones not yet started (and, with `within`, starting in that many days)."""
    scheduled = Q(rolling=False, starts_on__gte=today)
    if within is not None:
        scheduled &= Q(starts_on__lte=today + dt.timedelta(days=within))
    return Q(listed=True) & (
        Q(rolling=True, ends_on__isnull=True) | Q(rolling=True, ends_on__gte=today) | scheduled
    )


def upcoming_intakes(today: dt.date | None = None) -> QuerySet[Cohort]:
    """Upcoming listed intakes (see `_upcoming`), each with `active` (its active enrolments),
    for places left; rolling ones first, then by start."""
    return (
        Cohort.objects.filter(_upcoming(today or timezone.localdate()))
        .annotate(active=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE)))
        .order_by("-rolling", "starts_on", "name", "pk")
    )


def search_courses(filters: dict[str, Any], *, today: dt.date | None = None) -> QuerySet[Course]:
    """Published courses matching the cleaned filters, in title order. Every word of the
    search must appear in the course's code, title or description, or a unit's code or title.
    (Paginate its `card_rows`: one query for the count and the page, then `page_courses`.)"""
    today = today or timezone.localdate()
    courses = Course.objects.filter(published=True)
    for word in (filters.get("q") or "").split()[:10]:
        in_units = CourseUnit.objects.filter(course=OuterRef("pk")).filter(
            Q(unit__code__icontains=word) | Q(unit__title__icontains=word)
        )
        courses = courses.filter(
            Q(code__icontains=word)
            | Q(title__icontains=word)
            | Q(description__icontains=word)
            | Exists(in_units)
        )
    if filters.get("area"):
        courses = courses.filter(area__iexact=filters["area"])
    if filters.get("length") in LENGTHS:
        _, low, high = LENGTHS[filters["length"]]
        if low is not None:
            courses = courses.filter(effort_hours__gte=low)
        if high is not None:
            courses = courses.filter(effort_hours__lte=high)
    for mode in filters.get("delivery") or []:
        if mode in DELIVERY_MODES:
            courses = courses.filter(**{mode: True})
    if filters.get("soon"):
        soon = Cohort.objects.filter(_upcoming(today, within=SOON_DAYS), course=OuterRef("pk"))
        courses = courses.filter(Exists(soon))
    return courses.order_by("title", "code")


# What a card shows of a course: every match is read with these (a few hundred rows at most:
# one query for the count and the page), and the page's become Course rows.
# (In the model's order, as Model.from_db takes them.)
CARD_FIELDS = (
    "id",
    "code",
    "title",
    "kind",
    "validity_months",
    "area",
    "effort_hours",
    "self_paced",
    "live_tutorials",
    "workplace_observation",
)


def card_rows(courses: QuerySet[Course]) -> list[tuple[Any, ...]]:
    """Every course of `courses` as a tuple of CARD_FIELDS, for paginating."""
    return list(courses.values_list(*CARD_FIELDS))


def page_courses(rows: list[tuple[Any, ...]]) -> list[Course]:
    """Course rows (with CARD_FIELDS only) for one page of `card_rows`."""
    return [Course.from_db("default", CARD_FIELDS, row) for row in rows]


def areas() -> list[str]:
    """The areas of skill published courses are in, for the filter."""
    return list(
        Course.objects.filter(published=True)
        .exclude(area="")
        .order_by("area")
        .values_list("area", flat=True)
        .distinct()
    )


# --- what a course's card and page show ------------------------------------------------------


@dataclass
class Intake:
    cohort: Cohort
    places_left: int | None  # None: no limit

    @property
    def full(self) -> bool:
        return self.places_left == 0


@dataclass
class Stack:
    """A published course this one counts toward."""

    code: str
    title: str
    kind: str

    @property
    def kind_lower(self) -> str:
        return self.kind.lower()


@dataclass
class Offer:
    """One course as the catalogue shows it."""

    course: Course
    unit_ids: list[int] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)  # on a course's page only
    intakes: list[Intake] = field(default_factory=list)
    achievement: Achievement | None = None
    stacks_into: list[Stack] = field(default_factory=list)

    @property
    def next_intake(self) -> Intake | None:
        return self.intakes[0] if self.intakes else None

    @property
    def delivery(self) -> str:
        """How it is delivered, in words: "Self-paced study online and live tutorials"."""
        words = [w for key, w in _DELIVERY_WORDS.items() if getattr(self.course, key)]
        if not words:
            return ""
        text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return text[0].upper() + text[1:]

    @property
    def validity(self) -> str:
        return validity_words(self.course.validity_months)

    # A card's lines, in words, put together here rather than in the template: a page shows
    # many cards, and each template lookup and filter costs more than the Python.

    @property
    def meta(self) -> str:
        """ "Skill set · Health and safety · about 20 hours"."""
        course = self.course
        parts = [course.get_kind_display()]
        if course.area:
            parts.append(course.area)
        if course.effort_hours:
            parts.append(
                f"about {course.effort_hours} hour{'s' if course.effort_hours != 1 else ''}"
            )
        return " · ".join(parts)

    @property
    def next_when(self) -> str:
        """ "Start any day", "Next intake 3 Jan 2027", or "" with no intake."""
        intake = self.next_intake
        if intake is None:
            return ""
        if intake.cohort.rolling:
            return "Start any day"
        return f"Next intake {date_format(intake.cohort.starts_on, 'j M Y')}"

    @property
    def next_places(self) -> str:
        """ "4 places left", "full", or "" (no limit, or no intake)."""
        intake = self.next_intake
        if intake is None or intake.places_left is None:
            return ""
        if intake.full:
            return "full"
        return f"{intake.places_left} place{'s' if intake.places_left != 1 else ''} left"

    @property
    def outcomes(self) -> list[str]:
        return [line.strip() for line in self.course.outcomes.splitlines() if line.strip()]


def validity_words(months: int | None) -> str:
    """ "valid 3 years", "valid 18 months", or "does not expire"."""
    if not months:
        return "does not expire"
    if months % 12 == 0:
        years = months // 12
        return f"valid {years} year{'s' if years != 1 else ''}"
    return f"valid {months} month{'s' if months != 1 else ''}"


def offers(
    courses: list[Course], *, today: dt.date | None = None, units: bool = False
) -> list[Offer]:
    """The catalogue's view of `courses` (a page of them): four queries however many; with
    `units`, each unit's row too (a course's page lists them; a card does not)."""
    if not courses:
        return []
    by_id = {course.pk: Offer(course) for course in courses}
    links = CourseUnit.objects.filter(course_id__in=by_id).order_by("course_id", "position", "pk")
    if units:
        for link in links.select_related("unit"):
            by_id[link.course_id].unit_ids.append(link.unit_id)
            by_id[link.course_id].units.append(link.unit)
    else:
        for course_id, unit_id in links.values_list("course_id", "unit_id"):
            by_id[course_id].unit_ids.append(unit_id)
    intakes = upcoming_intakes(today).filter(course_id__in=by_id)
    if not units:  # a card names the next intake only
        intakes = intakes.only("course_id", "name", "rolling", "places", "starts_on", "ends_on")
    for cohort in intakes:
        by_id[cohort.course_id].intakes.append(Intake(cohort, _places_left(cohort)))
    _attach_achievements(by_id)
    _attach_stacks(by_id, {unit_id for offer in by_id.values() for unit_id in offer.unit_ids})
    return [by_id[course.pk] for course in courses]


def _places_left(cohort: Any) -> int | None:
    if cohort.places is None:
        return None
    return max(cohort.places - cohort.active, 0)


def _attach_achievements(by_id: dict[int, Offer]) -> None:
    """A single unit's course earns the unit's credential; a skill set or microcredential its
    own (see credentials.services.issuance). Achievements exist once first issued."""
    unit_of = {
        pk: offer.unit_ids[0]
        for pk, offer in by_id.items()
        if offer.course.kind == Course.Kind.UNIT and offer.unit_ids
    }
    whole = [pk for pk, offer in by_id.items() if offer.course.kind != Course.Kind.UNIT]
    found = Achievement.objects.filter(
        Q(course_id__in=whole) | Q(unit_id__in=set(unit_of.values()))
    ).only("public_id", "name", "unit_id", "course_id")
    by_unit, by_course = {}, {}
    for achievement in found:
        if achievement.unit_id:
            by_unit[achievement.unit_id] = achievement
        else:
            by_course[achievement.course_id] = achievement
    for pk, offer in by_id.items():
        if pk in unit_of:
            offer.achievement = by_unit.get(unit_of[pk])
        else:
            offer.achievement = by_course.get(pk)


def _attach_stacks(by_id: dict[int, Offer], unit_ids: set[int]) -> None:
    """What each course stacks into: every published skill set or microcredential (other than
    itself) holding all of its units."""
    if not unit_ids:
        return
    candidates = CourseUnit.objects.filter(unit_id__in=unit_ids, course__published=True).exclude(
        course__kind=Course.Kind.UNIT
    )
    rows = (
        CourseUnit.objects.filter(course_id__in=candidates.values("course_id"))
        .order_by("course__title", "course__code")
        .values_list("course_id", "unit_id", "course__code", "course__title", "course__kind")
    )
    units_of: dict[int, set[int]] = defaultdict(set)
    named: dict[int, Stack] = {}
    for course_id, unit_id, code, title, kind in rows:
        units_of[course_id].add(unit_id)
        named.setdefault(course_id, Stack(code, title, Course.Kind(kind).label))
    for pk, offer in by_id.items():
        mine = set(offer.unit_ids)
        if not mine:
            continue
        offer.stacks_into = [
            stack
            for course_id, stack in named.items()
            if course_id != pk and mine <= units_of[course_id] and mine != units_of[course_id]
        ]


# --- one course's page ------------------------------------------------------------------------


@dataclass
class CoursePage:
    offer: Offer
    # Per unit of a course of several: the unit's own published single-unit course, if any.
    on_their_own: dict[int, Stack]
    prerequisites: list[Course]

    @property
    def units(self) -> list[tuple[Unit, Stack | None]]:
        return [(unit, self.on_their_own.get(unit.pk)) for unit in self.offer.units]


def course_page(user: Any, code: str) -> CoursePage:
    """Everything the course's page shows; Http404 for a course `user` may not see."""
    course = visible_courses(user).filter(code=code).first()
    if course is None:
        raise Http404("No such course in the catalogue.")
    (offer,) = offers([course], units=True)
    alone: dict[int, Stack] = {}
    if course.kind != Course.Kind.UNIT and offer.units:
        for unit_id, code_, title in (
            CourseUnit.objects.filter(
                unit_id__in=offer.unit_ids,
                course__kind=Course.Kind.UNIT,
                course__published=True,
            )
            .exclude(course=course)
            .order_by("course__code")
            .values_list("unit_id", "course__code", "course__title")
        ):
            alone.setdefault(unit_id, Stack(code_, title, Course.Kind.UNIT.label))
    prerequisites = list(course.prerequisites.order_by("code").only("code", "title", "published"))
    return CoursePage(offer=offer, on_their_own=alone, prerequisites=prerequisites)
