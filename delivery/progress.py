"""Completion and locking, computed from a course's shape and one learner's finished resources.

Pure: no ORM. Selectors load the rows in a fixed number of queries and hand them here, so the
rules are the same on the dashboard, the course page, the trainer's grid and the CSV.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ModuleShape:
    id: int
    title: str
    resource_ids: tuple[int, ...]
    prerequisite_ids: tuple[int, ...] = ()


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


def course_state(modules: Sequence[ModuleShape], completed: Iterable[int]) -> CourseState:
    finished = set(completed)
    titles = {m.id: m.title for m in modules}
    states = {
        m.id: ModuleState(m.id, len(m.resource_ids), sum(r in finished for r in m.resource_ids))
        for m in modules
    }
    for m in modules:
        states[m.id].locked_by = [
            titles[p] for p in m.prerequisite_ids if p in states and not states[p].complete
        ]
    total = sum(s.total for s in states.values())
    done = sum(s.done for s in states.values())
    return CourseState(states, total, done)


def next_resource(
    modules: Sequence[ModuleShape],
    state: CourseState,
    completed: Iterable[int],
    last_opened: Mapping[int, datetime] | None = None,
) -> int | None:
    """Where to continue: the most recently opened unfinished resource in an open module, else
    the first unfinished resource in course order in an open module."""
    finished = set(completed)
    open_resources = [
        r
        for m in modules
        if not state.modules[m.id].locked
        for r in m.resource_ids
        if r not in finished
    ]
    if last_opened:
        started = [r for r in open_resources if r in last_opened]
        if started:
            return max(started, key=lambda r: last_opened[r])
    return open_resources[0] if open_resources else None
