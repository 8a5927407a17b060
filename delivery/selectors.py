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
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
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
from delivery.progress import (
    CourseState,
    ModuleCount,
    ModuleState,
    ResourceMark,
    continue_in,
    course_state,
    resume_at,
)


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
    total: int
    done: int
    minutes_left: int
    last_opened: datetime | None


# Resources as _resources reads them, by module: as the page lists them, and as the rules do.
_Read = tuple[dict[int, list[ResourceItem]], dict[int, list[ResourceMark]]]


@dataclass
class _Catalogue:
    """The shape of some courses with one learner's counts: modules, not resources.

    A dashboard of 5 courses of 200 resources shows 5 modules' resources; the rest of each
    course is only counted, and the database counts it.
    """

    course_units: dict[int, list[CourseUnit]]
    modules: dict[int, list[_ModuleRow]]  # by course, in course order
    counts: dict[int, list[ModuleCount]]  # by course, in course order


_MODULE_COLUMNS = ("id", "course_id", "course_unit_id", "key", "title", "summary")


def _counted_modules(learner: Any, course_ids: Sequence[int]) -> QuerySet[Module, tuple[Any, ...]]:
    """The courses' modules in course order, each with its resources, the learner's finished
    ones, the minutes of the unfinished ones and when the learner last saw one they opened and
    have not finished, counted by the database in one grouped query."""
    # The learner's own progress on each resource: a join on (resource, learner), which is
    # unique, so counting resources through it counts each once.
    finished = Q(mine__completed_at__isnull=False)
    unfinished = Q(mine__completed_at__isnull=True)
    return (
        Module.objects.filter(course_id__in=course_ids)
        .annotate(
            mine=FilteredRelation(
                "resources__progress", condition=Q(resources__progress__learner=learner)
            )
        )
        .order_by("course_unit__position", "position", "id")
        .annotate(
            total=Count("resources"),
            done=Count("resources", filter=finished),
            minutes_left=Coalesce(Sum("resources__estimated_minutes", filter=unfinished), 0),
            # Resources never opened have no progress row: no time, which Max ignores.
            last_opened=Max("mine__last_seen_at", filter=unfinished),
        )
        .values_list(*_MODULE_COLUMNS, "total", "done", "minutes_left", "last_opened")
    )


def _tallied_modules(course_ids: Sequence[int], read: _Read) -> list[tuple[Any, ...]]:
    """As _counted_modules, counted here from `read`: every resource of the courses."""
    items, marks = read
    rows = []
    for row in (
        Module.objects.filter(course_id__in=course_ids)
        .order_by("course_unit__position", "position", "id")
        .values_list(*_MODULE_COLUMNS)
    ):
        module_items = items.get(row[0], [])
        opened = [m.last_opened for m in marks.get(row[0], []) if m.last_opened]
        rows.append(
            (
                *row,
                len(module_items),
                sum(i.done for i in module_items),
                sum(i.minutes for i in module_items if not i.done),
                max(opened) if opened else None,
            )
        )
    return rows


def _module_counts(
    learner: Any, course_ids: Sequence[int], read: _Read | None = None
) -> tuple[dict[int, list[_ModuleRow]], dict[int, list[ModuleCount]]]:
    """The courses' modules with the learner's counts (see _counted_modules), and their
    prerequisites: two queries. With `read`, every resource of the courses as _resources read
    them, the counts come from those rows instead: the resource page lists every resource
    anyway, and the database need not count them as well."""
    rows = (
        _counted_modules(learner, course_ids)
        if read is None
        else _tallied_modules(course_ids, read)
    )
    modules: dict[int, list[_ModuleRow]] = defaultdict(list)
    for row in rows:
        module = _ModuleRow(*row)
        modules[module.course_id].append(module)

    prerequisites: dict[int, list[int]] = defaultdict(list)
    through = Module.prerequisites.through
    for from_id, to_id in through.objects.filter(from_module__course_id__in=course_ids).values_list(
        "from_module_id", "to_module_id"
    ):
        prerequisites[from_id].append(to_id)

    counts = {
        course_id: [
            ModuleCount(m.id, m.title, m.total, m.done, tuple(prerequisites[m.id]), m.last_opened)
            for m in course_modules
        ]
        for course_id, course_modules in modules.items()
    }
    return modules, counts


def _load_catalogue(
    learner: Any, course_ids: Sequence[int], read: _Read | None = None
) -> _Catalogue:
    course_units: dict[int, list[CourseUnit]] = defaultdict(list)
    for cu in (
        CourseUnit.objects.filter(course_id__in=course_ids)
        .select_related("unit")
        .order_by("position", "id")
    ):
        course_units[cu.course_id].append(cu)
    modules, counts = _module_counts(learner, course_ids, read)
    return _Catalogue(course_units, modules, counts)


def _resources(learner: Any, modules: Q) -> _Read:
    """The resources of the modules shown open (`modules`: a filter on resources), in order:
    as the page lists them, and as resume_at reads them (finished, or when last seen if
    opened and unfinished)."""
    items: dict[int, list[ResourceItem]] = defaultdict(list)
    marks: dict[int, list[ResourceMark]] = defaultdict(list)
    # Done as a flag and the time only of what is opened and unfinished: the resource page
    # reads a whole course, and turning every finished resource's time into a datetime was
    # most of this query's cost there.
    unfinished = Q(mine__completed_at__isnull=True)
    for module_id, resource_id, title, kind, minutes, done, last_opened in (
        Resource.objects.filter(modules)
        .annotate(
            mine=FilteredRelation("progress", condition=Q(progress__learner=learner)),
            done=ExpressionWrapper(~unfinished, output_field=BooleanField()),
            last_opened=Case(When(unfinished, then=F("mine__last_seen_at"))),
        )
        .order_by("position", "id")
        .values_list("module_id", "id", "title", "kind", "estimated_minutes", "done", "last_opened")
    ):
        items[module_id].append(ResourceItem(resource_id, title, kind, minutes, done))
        marks[module_id].append(ResourceMark(resource_id, done, last_opened))
    return items, marks


@dataclass
class _Plan:
    """One course before its open modules' resources are read: its state, where to continue
    and which modules are unfolded."""

    enrolment: Enrolment
    state: CourseState
    next_module: int | None
    # Whether the learner continues at a resource they opened (else at the first unfinished).
    resumes_opened: bool
    unfolded: set[int]


def _plan(
    enrolment: Enrolment,
    catalogue: _Catalogue,
    *,
    expand: str,
    open_module: int | None,
) -> _Plan:
    """`expand`: what a person can take in on each page. "current" (the dashboard): the modules
    of the unit in hand, the module in hand open. "course" (the course page): every module, the
    module in hand and `open_module` open. "all": every module open (the resource page's
    previous and next). The others are folded: their progress, not their resources."""
    counts = catalogue.counts.get(enrolment.cohort.course_id, [])
    state = course_state(counts)
    next_module, resumes_opened = continue_in(counts, state)
    if expand == "all":
        unfolded = {m.id for m in counts}
    else:
        unfolded = {m for m in (next_module, open_module) if m in state.modules}
    return _Plan(enrolment, state, next_module, resumes_opened, unfolded)


def _playlist(
    plan: _Plan,
    catalogue: _Catalogue,
    resources: dict[int, list[ResourceItem]],
    marks: dict[int, list[ResourceMark]],
    *,
    expand: str,
) -> Playlist:
    enrolment, state = plan.enrolment, plan.state
    course = enrolment.cohort.course
    units = {cu.id: UnitItem(cu.unit) for cu in catalogue.course_units.get(course.id, [])}
    next_item: ResourceItem | None = None
    next_module_title = ""
    minutes_left = 0
    resumed = False  # continuing at a resource the learner opened, not at the first unfinished
    for module in catalogue.modules.get(course.id, []):
        unit_item = units[module.course_unit_id]
        module_state = state.modules[module.id]
        unit_item.done += module_state.done
        unit_item.total += module_state.total
        minutes_left += module.minutes_left
        unfolded = module.id in plan.unfolded
        items = resources.get(module.id, []) if unfolded else []
        if module.id == plan.next_module:
            unit_item.current = True
            next_module_title = module.title
            module_marks = marks.get(module.id, [])
            next_id = resume_at(module_marks, plan.resumes_opened)
            next_item = next((i for i in items if i.id == next_id), None)
            resumed = any(m.id == next_id and m.last_opened for m in module_marks)
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
        started=bool(state.done) or resumed,
    )


def learner_playlists(
    learner: Any,
    *,
    cohort_id: int | None = None,
    expand: str = "current",
    open_module: int | None = None,
) -> list[Playlist]:
    """Each of the learner's enrolments as a playlist with progress, in five queries whatever
    the number of courses and resources. The database counts each module's progress; only the
    resources of the modules shown open are read. `expand` and `open_module`: which modules
    are unfolded (see _plan)."""
    enrolments = list(
        Enrolment.objects.filter(learner=learner, **({"cohort_id": cohort_id} if cohort_id else {}))
        .select_related("cohort__course")
        .order_by("status", "-cohort__starts_on", "id")
    )
    if not enrolments:
        return []
    course_ids = sorted({e.cohort.course_id for e in enrolments})
    if expand == "all":
        # Every resource shown: read them first, and count them as they are.
        read = _resources(learner, Q(module__course_id__in=course_ids))
        catalogue = _load_catalogue(learner, course_ids, read)
        plans = [_plan(e, catalogue, expand=expand, open_module=open_module) for e in enrolments]
    else:
        catalogue = _load_catalogue(learner, course_ids)
        plans = [_plan(e, catalogue, expand=expand, open_module=open_module) for e in enrolments]
        unfolded = set().union(*(p.unfolded for p in plans))
        read = _resources(learner, Q(module_id__in=unfolded)) if unfolded else ({}, {})
    resources, marks = read
    return [_playlist(p, catalogue, resources, marks, expand=expand) for p in plans]


def module_states_for(learner: Any, course: Course) -> CourseState:
    """Locking and completion for one learner in one course (used to guard resource pages), in
    two queries: the database counts."""
    _, counts = _module_counts(learner, [course.id])
    return course_state(counts.get(course.id, []))


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
    # Worked out once as the row is built, not looked up cell by cell while the page renders:
    # the row's sums (the template and the CSV read them), and how the row names the learner.
    done: int = field(init=False)
    total: int = field(init=False)
    name: str = field(init=False)
    active: bool = field(init=False)

    def __post_init__(self) -> None:
        self.done = sum(c.done for c in self.cells)
        self.total = sum(c.total for c in self.cells)
        learner = self.enrolment.learner
        self.name = learner.get_full_name() or learner.get_username()
        self.active = self.enrolment.status == Enrolment.Status.ACTIVE

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
