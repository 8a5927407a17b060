"""Completion, locking and where to continue, computed from a course's modules with one
learner's counts of finished resources.

Pure: no ORM. Selectors have the database count each module's resources and the learner's
finished ones, and hand the counts here, so the rules are the same on the dashboard, the course
page, the resource page and the assessment pages that check locking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter


@dataclass(frozen=True)
class ModuleCount:
    """A module as the rules see it: its resources, how many of them one learner finished, and
    when they last saw one they opened and have not finished (None if none)."""

    id: int
    title: str
    total: int
    done: int
    prerequisite_ids: tuple[int, ...] = ()
    last_opened: datetime | None = None


@dataclass(frozen=True)
class ResourceMark:
    """One resource of a module, as the learner left it."""

    id: int
    done: bool
    # When the learner last saw it, if they opened it and have not finished it.
    last_opened: datetime | None = None


@dataclass
class ModuleState:
    id: int
    total: int
    done: int
    locked_by: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        # A module with nothing to study counts as done, so it never blocks what it unlocks.
        return self.done >= self.total

    @property
    def locked(self) -> bool:
        return bool(self.locked_by)

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)


@dataclass
class CourseState:
    modules: dict[int, ModuleState]
    total: int
    done: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * self.done / self.total)

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def course_state(modules: Sequence[ModuleCount]) -> CourseState:
    """Each module's progress, and what locks it: its prerequisites not yet complete."""
    states = {m.id: ModuleState(m.id, m.total, m.done) for m in modules}
    titles = {m.id: m.title for m in modules}
    for m in modules:
        states[m.id].locked_by = [
            titles[p] for p in m.prerequisite_ids if p in states and not states[p].complete
        ]
    total = sum(s.total for s in states.values())
    done = sum(s.done for s in states.values())
    return CourseState(states, total, done)


def continue_in(modules: Sequence[ModuleCount], state: CourseState) -> tuple[int | None, bool]:
    """The module to continue in, and whether at a resource the learner opened.

    The rule, over the course's resources: the most recently opened unfinished resource in an
    open module; else the first unfinished resource, in course order, in an open module. The
    first is in the open module last opened (of two opened at the same moment, the first in
    the course); the second in the first open module not complete. `modules` in course order.
    resume_at then finds the resource among that module's resources.
    """
    open_modules = [m for m in modules if not state.modules[m.id].locked]
    started = [(m.last_opened, m.id) for m in open_modules if m.last_opened is not None]
    if started:
        return max(started, key=itemgetter(0))[1], True
    for m in open_modules:
        if not state.modules[m.id].complete:
            return m.id, False
    return None, False


def resume_at(resources: Sequence[ResourceMark], opened: bool) -> int | None:
    """The resource to continue at in the module continue_in chose (`resources` in order):
    the one last opened and unfinished if `opened`, else the first unfinished."""
    if opened:
        started = [(r.last_opened, r.id) for r in resources if r.last_opened and not r.done]
        if started:
            return max(started, key=itemgetter(0))[1]
    return next((r.id for r in resources if not r.done), None)
