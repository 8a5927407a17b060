"""The rules of delivery/progress.py on counts: locking, and where a learner continues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from delivery.progress import ModuleCount, ResourceMark, continue_in, course_state, resume_at

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_module_is_locked_until_its_prerequisites_are_complete() -> None:
    modules = [
        ModuleCount(1, "Intro", total=2, done=1),
        ModuleCount(2, "Empty", total=0, done=0),
        ModuleCount(3, "Next", total=3, done=0, prerequisite_ids=(1, 2)),
    ]
    state = course_state(modules)
    assert state.modules[3].locked_by == ["Intro"]  # an empty module blocks nothing
    assert (state.total, state.done, state.percent) == (5, 1, 20)
    done = course_state([ModuleCount(1, "Intro", 2, 2), *modules[1:]])
    assert not done.modules[3].locked


def test_it_continues_at_the_resource_last_opened_in_an_open_module() -> None:
    modules = [
        ModuleCount(1, "One", total=2, done=0, last_opened=T0),
        ModuleCount(2, "Two", total=2, done=0, last_opened=T0 + timedelta(minutes=5)),
        # opened latest, but locked: not where to continue
        ModuleCount(3, "Three", 2, 0, prerequisite_ids=(1,), last_opened=T0 + timedelta(hours=1)),
    ]
    assert continue_in(modules, course_state(modules)) == (2, True)
    marks = [
        ResourceMark(21, done=True),
        ResourceMark(22, done=False, last_opened=T0 + timedelta(minutes=5)),
        ResourceMark(23, done=False),
    ]
    assert resume_at(marks, opened=True) == 22


def test_of_two_opened_at_the_same_moment_the_first_in_the_course_wins() -> None:
    modules = [
        ModuleCount(1, "One", total=2, done=0, last_opened=T0),
        ModuleCount(2, "Two", total=2, done=0, last_opened=T0),
    ]
    assert continue_in(modules, course_state(modules)) == (1, True)
    marks = [ResourceMark(11, False, T0), ResourceMark(12, False, T0)]
    assert resume_at(marks, opened=True) == 11


def test_without_an_opened_resource_it_starts_at_the_first_unfinished_one() -> None:
    modules = [
        ModuleCount(1, "Done", total=1, done=1),
        ModuleCount(2, "Empty", total=0, done=0),
        ModuleCount(3, "Half", total=2, done=1),
    ]
    assert continue_in(modules, course_state(modules)) == (3, False)
    assert resume_at([ResourceMark(31, True), ResourceMark(32, False)], opened=False) == 32
    finished = [ModuleCount(1, "Done", total=1, done=1)]
    assert continue_in(finished, course_state(finished)) == (None, False)
    assert resume_at([ResourceMark(11, True)], opened=False) is None
