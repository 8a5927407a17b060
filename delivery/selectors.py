"""Reads shared by delivery's pages and exports, scoped to the user asking.

Each loads a fixed number of queries whatever the size of the catalogue or cohort, and leaves
the rules (completion, locking) to delivery/progress.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from delivery.models import (
    Announcement,
    AnnouncementRead,
    Cohort,
    Course,
    CourseUnit,
    Enrolment,
    Module,
    Resource,
    ResourceProgress,
    Unit,
)
from delivery.progress import CourseState, ModuleShape, ModuleState, course_state, next_resource


def learner_enrolments(learner: Any) -> QuerySet[Enrolment]:
    """The learner's enrolments with course and ordered units, in a fixed number of queries."""
    return (
        Enrolment.objects.filter(learner=learner)
        .select_related("cohort__course")
        .prefetch_related(
            Prefetch(
                "cohort__course__course_units",
                queryset=CourseUnit.objects.select_related("unit").order_by("position", "id"),
            )
        )
        .order_by("status", "-cohort__starts_on")
    )


def staff_cohorts(cohorts: QuerySet[Cohort]) -> QuerySet[Cohort]:
    """Cohorts with their course and the count of active learners, for staff lists."""
    return cohorts.select_related("course").annotate(
        active_learners=Count(
            "enrolments", filter=Q(enrolments__status=Enrolment.Status.ACTIVE), distinct=True
        )
    )


# The course as a playlist ----------------------------------------------------------------


@dataclass
class ResourceItem:
    id: int
    title: str
    kind: str
    minutes: int
    done: bool


@dataclass
class ModuleItem:
    id: int
    key: str
    title: str
    summary: str
    state: ModuleState
    resources: list[ResourceItem]
    locked_by: list[str]
    # Shown unfolded, its resources listed: the module in hand, or the one the learner opened.
    open: bool = False


@dataclass
class UnitItem:
    unit: Unit
    modules: list[ModuleItem] = field(default_factory=list)
    done: int = 0
    total: int = 0
    current: bool = False

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)


@dataclass
class Playlist:
    enrolment: Enrolment
    course: Course
    state: CourseState
    units: list[UnitItem]
    next: ResourceItem | None
    next_module_title: str
    minutes_left: int
    started: bool

    @property
    def read_only(self) -> bool:
        return self.enrolment.status != Enrolment.Status.ACTIVE

    def module(self, module_id: int) -> ModuleItem | None:
        return next((m for u in self.units for m in u.modules if m.id == module_id), None)


@dataclass(frozen=True)
class _ModuleRow:
    id: int
    course_id: int
    course_unit_id: int
    key: str
    title: str
    summary: str


@dataclass(frozen=True)
class _ResourceRow:
    id: int
    title: str
    kind: str
    estimated_minutes: int


@dataclass
class _Catalogue:
    """The shape of some courses, loaded once and shared by every learner who needs it.

    Plain tuples rather than model instances: a dashboard reads thousands of these rows.
    """

    course_units: dict[int, list[CourseUnit]]
    modules: dict[int, list[_ModuleRow]]  # by course
    shapes: dict[int, list[ModuleShape]]  # by course
    resources: dict[int, list[_ResourceRow]]  # by module


def _load_catalogue(course_ids: Sequence[int]) -> _Catalogue:
    course_units: dict[int, list[CourseUnit]] = defaultdict(list)
    for cu in (
        CourseUnit.objects.filter(course_id__in=course_ids)
        .select_related("unit")
        .order_by("position", "id")
    ):
        course_units[cu.course_id].append(cu)

    modules_by_course: dict[int, list[_ModuleRow]] = defaultdict(list)
    for row in (
        Module.objects.filter(course_id__in=course_ids)
        .order_by("course_unit__position", "position", "id")
        .values_list("id", "course_id", "course_unit_id", "key", "title", "summary")
    ):
        module = _ModuleRow(*row)
        modules_by_course[module.course_id].append(module)

    prerequisites: dict[int, list[int]] = defaultdict(list)
    through = Module.prerequisites.through
    for from_id, to_id in through.objects.filter(from_module__course_id__in=course_ids).values_list(
        "from_module_id", "to_module_id"
    ):
        prerequisites[from_id].append(to_id)

    resources: dict[int, list[_ResourceRow]] = defaultdict(list)
    for module_id, resource_id, title, kind, minutes in (
        Resource.objects.filter(module__course_id__in=course_ids)
        .order_by("position", "id")
        .values_list("module_id", "id", "title", "kind", "estimated_minutes")
    ):
        resources[module_id].append(_ResourceRow(resource_id, title, kind, minutes))

    shapes = {
        course_id: [
            ModuleShape(
                m.id,
                m.title,
                tuple(r.id for r in resources[m.id]),
                tuple(prerequisites[m.id]),
            )
            for m in course_modules
        ]
        for course_id, course_modules in modules_by_course.items()
    }
    return _Catalogue(course_units, modules_by_course, shapes, resources)


def _playlist(
    enrolment: Enrolment,
    catalogue: _Catalogue,
    completed: set[int],
    last_opened: dict[int, datetime],
    *,
    expand: str,
    open_module: int | None,
) -> Playlist:
    """`expand`: what a person can take in on each page. "current" (the dashboard): the modules
    of the unit in hand, the module in hand open. "course" (the course page): every module, the
    module in hand and `open_module` open. "all": every module open (the resource page's
    previous and next). The others are folded: their progress, not their resources."""
    course = enrolment.cohort.course
    shapes = catalogue.shapes.get(course.id, [])
    state = course_state(shapes, completed)
    next_id = next_resource(shapes, state, completed, last_opened)
    units = {cu.id: UnitItem(cu.unit) for cu in catalogue.course_units.get(course.id, [])}
    next_item: ResourceItem | None = None
    next_module_title = ""
    minutes_left = 0
    for module in catalogue.modules.get(course.id, []):
        unit_item = units[module.course_unit_id]
        module_state = state.modules[module.id]
        unit_item.done += module_state.done
        unit_item.total += module_state.total
        resources = catalogue.resources[module.id]
        minutes_left += sum(r.estimated_minutes for r in resources if r.id not in completed)
        holds_next = any(r.id == next_id for r in resources)
        if holds_next:
            unit_item.current = True
            next_module_title = module.title
        unfolded = expand == "all" or holds_next or module.id == open_module
        items = (
            [
                ResourceItem(r.id, r.title, r.kind, r.estimated_minutes, r.id in completed)
                for r in resources
            ]
            if unfolded
            else []
        )
        if holds_next:
            next_item = next(i for i in items if i.id == next_id)
        unit_item.modules.append(
            ModuleItem(
                module.id,
                module.key,
                module.title,
                module.summary,
                module_state,
                items,
                module_state.locked_by,
                open=unfolded,
            )
        )
    if expand == "current":
        # The dashboard: every unit with its progress, the modules of the unit in hand only.
        for unit_item in units.values():
            if not unit_item.current:
                unit_item.modules = []
    return Playlist(
        enrolment,
        course,
        state,
        list(units.values()),
        next_item,
        next_module_title,
        minutes_left,
        started=bool(state.done) or next_id in last_opened,
    )


def learner_playlists(
    learner: Any,
    *,
    cohort_id: int | None = None,
    expand: str = "current",
    open_module: int | None = None,
) -> list[Playlist]:
    """Each of the learner's enrolments as a playlist with progress, in seven queries.
    `expand` and `open_module`: which modules are unfolded (see _playlist)."""
    enrolments = list(
        Enrolment.objects.filter(learner=learner, **({"cohort_id": cohort_id} if cohort_id else {}))
        .select_related("cohort__course")
        .order_by("status", "-cohort__starts_on", "id")
    )
    if not enrolments:
        return []
    course_ids = sorted({e.cohort.course_id for e in enrolments})
    catalogue = _load_catalogue(course_ids)
    progress = ResourceProgress.objects.filter(
        learner=learner, resource__module__course_id__in=course_ids
    )
    # Finished resources as bare ids (there may be thousands); times only for the unfinished
    # ones the learner has opened, which is all "continue where you left off" needs.
    completed = set(
        progress.filter(completed_at__isnull=False).values_list("resource_id", flat=True)
    )
    last_opened: dict[int, datetime] = dict(
        progress.filter(completed_at__isnull=True).values_list("resource_id", "last_seen_at")
    )
    return [
        _playlist(e, catalogue, completed, last_opened, expand=expand, open_module=open_module)
        for e in enrolments
    ]


def module_states_for(learner: Any, course: Course) -> CourseState:
    """Locking and completion for one learner in one course (used to guard resource pages)."""
    catalogue = _load_catalogue([course.id])
    completed = set(
        ResourceProgress.objects.filter(
            learner=learner, resource__module__course=course, completed_at__isnull=False
        ).values_list("resource_id", flat=True)
    )
    return course_state(catalogue.shapes.get(course.id, []), completed)


def learner_announcements(learner: Any, *, limit: int = 10) -> list[Announcement]:
    """Announcements to the learner's cohorts, unread first, newest first within each."""
    return list(
        Announcement.objects.filter(
            cohort__enrolments__learner=learner,
        )
        .select_related("author", "cohort")
        .annotate(
            is_read=Exists(
                AnnouncementRead.objects.filter(announcement=OuterRef("pk"), learner=learner)
            )
        )
        .order_by("is_read", "-created_at")
        .distinct()[:limit]
    )


# The trainer's grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class GridModule:
    id: int
    key: str
    title: str
    total: int


class GridCell(NamedTuple):
    """One learner in one module. A tuple: a page of the grid builds 2,500 of them, and a
    frozen dataclass took a fifth of the page's time to construct."""

    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


@dataclass
class GridRow:
    enrolment: Enrolment
    cells: list[GridCell]
    # The row's sums, counted once as the row is built (the template and the CSV read them).
    done: int = field(init=False)
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.done = sum(c.done for c in self.cells)
        self.total = sum(c.total for c in self.cells)

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)


@dataclass
class Grid:
    modules: list[GridModule]
    rows: list[GridRow]
    page: Page[Enrolment] | None


GRID_PAGE_SIZE = 50


def _completed(course_id: int, module_id: int | None = None) -> Coalesce:
    """Resources of the course (or one module) a learner has finished, as an annotation on
    enrolments. A count per learner in a subquery rather than a join grouped by enrolment: on
    a 500-learner cohort the database sorts by it in about half the time (SQLite, measured)."""
    finished = ResourceProgress.objects.filter(
        learner=OuterRef("learner_id"),
        completed_at__isnull=False,
        resource__module__course_id=course_id,
    )
    if module_id is not None:
        finished = finished.filter(resource__module_id=module_id)
    count = finished.order_by().values("learner").annotate(n=Count("id")).values("n")[:1]
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def grid_modules(cohort: Cohort) -> list[GridModule]:
    """The grid's columns: the course's modules in course order, each with its resource count."""
    return [
        GridModule(*row)
        for row in Module.objects.filter(course_id=cohort.course_id)
        .order_by("course_unit__position", "position", "id")
        .annotate(total=Count("resources"))
        .values_list("id", "key", "title", "total")
    ]


def _matching_learners(enrolments: QuerySet[Enrolment], text: str) -> QuerySet[Enrolment]:
    """Every word of `text` in the learner's name, username or e-mail (as the records search)."""
    for term in text.split():
        enrolments = enrolments.filter(
            Q(learner__first_name__icontains=term)
            | Q(learner__last_name__icontains=term)
            | Q(learner__username__icontains=term)
            | Q(learner__email__icontains=term)
        )
    return enrolments


def cohort_grid(
    cohort: Cohort,
    *,
    modules: list[GridModule] | None = None,
    q: str = "",
    sort: str = "name",
    page: int | None = None,
) -> Grid:
    """Learners x modules: resources finished of resources in each module.

    The database searches, counts and sorts, so a page costs the same whether the cohort has
    50 learners or 5,000. `q`: words to find in a learner's name or e-mail. `sort`: "name",
    "progress" (least done first) or "module:<id>" (that module, least done first); anything
    else sorts by name (the view tells the person). With `page`, one page of GRID_PAGE_SIZE
    learners, a number below 1 meaning the first page and one past the end the last; without,
    everyone (the CSV).
    """
    if modules is None:
        modules = grid_modules(cohort)
    by_name = ("learner__last_name", "learner__first_name", "learner__username", "id")
    enrolments = _matching_learners(cohort.enrolments.select_related("learner"), q)
    module_id = parse_sort_module(sort)
    if sort == "progress":
        enrolments = enrolments.annotate(done=_completed(cohort.course_id)).order_by(
            "done", *by_name
        )
    elif module_id is not None and module_id in {m.id for m in modules}:
        enrolments = enrolments.annotate(done=_completed(cohort.course_id, module_id)).order_by(
            "done", *by_name
        )
    else:
        enrolments = enrolments.order_by(*by_name)

    paginated: Page[Enrolment] | None = None
    if page is not None:
        paginator = Paginator(enrolments, GRID_PAGE_SIZE)
        paginated = paginator.page(min(max(page, 1), paginator.num_pages))
        shown = list(paginated.object_list)
    else:
        shown = list(enrolments)

    # One aggregate over the shown learners' finished resources, by learner and module. By
    # the modules' ids rather than a join to the course: the database then reads each progress
    # row's resource only (half the time, SQLite, measured on a 50 x 50 page).
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for learner_id, module_id, n in (
        ResourceProgress.objects.filter(
            learner_id__in=[e.learner_id for e in shown],
            resource__module_id__in=[m.id for m in modules],
            completed_at__isnull=False,
        )
        .values("learner_id", "resource__module_id")
        .annotate(n=Count("id"))
        .values_list("learner_id", "resource__module_id", "n")
    ):
        counts[learner_id][module_id] = n
    columns = [(m.id, m.total) for m in modules]
    rows = []
    for e in shown:
        finished = counts.get(e.learner_id, {})
        rows.append(GridRow(e, [GridCell(finished.get(m, 0), total) for m, total in columns]))
    return Grid(modules, rows, paginated)


def parse_sort_module(sort: str) -> int | None:
    """The module id in a "module:<id>" sort, or None."""
    prefix, _, rest = sort.partition(":")
    if prefix != "module" or not rest.isascii() or not rest.isdigit():
        return None
    return int(rest)


def prework_check(cohort: Cohort, module: GridModule) -> tuple[list[Enrolment], list[Enrolment]]:
    """Who has finished `module` and who has not, among the cohort's active learners."""
    enrolments = (
        cohort.enrolments.filter(status=Enrolment.Status.ACTIVE)
        .select_related("learner")
        .annotate(done=_completed(cohort.course_id, module.id))
        .order_by("learner__last_name", "learner__first_name", "learner__username")
    )
    finished: list[Enrolment] = []
    missing: list[Enrolment] = []
    for enrolment in enrolments:
        (finished if enrolment.done >= module.total else missing).append(enrolment)
    return finished, missing
