"""The rules between the items of one pack that need neither the database nor the pack's files:
codes and keys unique, criteria numbered under their element, module prerequisites that exist
and do not go round in a cycle. The models' own rules and the files are checked by
`delivery.packs.checking`."""

from __future__ import annotations

import re

from delivery.packs.problems import Problems, Where, check_unique
from delivery.packs.sections import unit_sections
from delivery.packs.specs import CourseSpec, PackSpec, UnitSpec

CRITERION_NUMBER = re.compile(r"^([0-9]+)\.([0-9]+)$")


def check_pack(pack: PackSpec, problems: Problems) -> None:
    """Uniqueness, numbering and prerequisite rules between the items of one pack, and each
    section's own `check`."""
    check_unique(
        [(unit.code, unit.where.at("code")) for unit in pack.units], "unit code", "", problems
    )
    check_unique(
        [(course.code, course.where.at("code")) for course in pack.courses],
        "course code",
        "",
        problems,
    )
    for unit in pack.units:
        _check_numbering(unit, problems)
    for course in pack.courses:
        check_unique(
            [(cu.unit, cu.where.at("unit")) for cu in course.units],
            "unit",
            f" in course {course.code}",
            problems,
        )
        keys = [(module.key, module.where.at("key")) for module in course.modules()]
        check_unique(keys, "module key", f" in course {course.code}", problems)
        for module in course.modules():
            check_unique(
                [(resource.key, resource.where.at("key")) for resource in module.resources],
                "resource key",
                f" in module {module.key}",
                problems,
            )
        if len({key for key, _ in keys}) == len(keys):  # else which one is required?
            _check_prerequisites(course, problems, references=pack.complete)
    _check_course_prerequisites(pack, problems)
    for unit in pack.units:
        for section, spec in unit_sections(unit):
            section.check(unit, spec, pack, problems)


def _check_course_prerequisites(pack: PackSpec, problems: Problems) -> None:
    """A course's `catalogue.prerequisites`: never itself, and never in a cycle through the
    pack's courses (no learner could ever enrol in any of them)."""
    graph: dict[str, list[str]] = {}
    wheres: dict[str, Where] = {}
    for course in pack.courses:
        if course.catalogue is None:
            continue
        wheres[course.code] = course.catalogue.where.at("prerequisites")
        graph[course.code] = []
        for code, where in course.catalogue.prerequisites:
            if code == course.code:
                problems.add(where, f"course {code} cannot be its own prerequisite")
            elif code not in graph[course.code]:
                graph[course.code].append(code)
    colour: dict[str, int] = dict.fromkeys(graph, 0)
    reported: set[frozenset[str]] = set()

    def visit(code: str, stack: list[str]) -> None:
        colour[code] = 1
        stack.append(code)
        for target in graph.get(code, []):
            if target not in graph:
                continue
            if colour[target] == 1:
                cycle = [*stack[stack.index(target) :], target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    problems.add(
                        wheres[cycle[0]],
                        f"courses {' -> '.join(cycle)} are prerequisites of each other in a "
                        "cycle, so no learner could ever enrol in them",
                    )
            elif colour[target] == 0:
                visit(target, stack)
        stack.pop()
        colour[code] = 2

    for code in graph:
        if colour[code] == 0:
            visit(code, [])


def _check_numbering(unit: UnitSpec, problems: Problems) -> None:
    check_unique(
        [(element.number, element.where.at("number")) for element in unit.elements],
        "element number",
        f" in unit {unit.code}",
        problems,
    )
    seen: dict[str, Where] = {}
    for element in unit.elements:
        for criterion in element.criteria:
            where = criterion.where.at("number")
            match = CRITERION_NUMBER.match(criterion.number)
            if match is None:
                problems.add(
                    where,
                    f"criterion number {criterion.number!r} must be the element's number, "
                    f"a dot and a number, like {element.number}.1",
                )
            elif int(match.group(1)) != element.number:
                problems.add(
                    where,
                    f"criterion {criterion.number} does not start with the number of its "
                    f"element, {element.number} (expected {element.number}.<n>)",
                )
            if criterion.number in seen:
                problems.add(
                    where,
                    f"criterion {criterion.number} is repeated in unit {unit.code} "
                    f"(first at line {seen[criterion.number].line})",
                )
            else:
                seen[criterion.number] = where


def _check_prerequisites(course: CourseSpec, problems: Problems, *, references: bool) -> None:
    modules = {module.key: module for module in course.modules()}
    graph: dict[str, list[str]] = {}
    for module in modules.values():
        graph[module.key] = []
        for key, where in module.requires:
            if key not in modules:
                if not references:
                    continue
                problems.add(
                    where, f"requires module {key!r}, which is not in course {course.code}"
                )
            else:
                graph[module.key].append(key)
    # Depth-first search; a grey node met again closes a cycle, reported once per cycle.
    colour: dict[str, int] = dict.fromkeys(graph, 0)  # 0 unseen, 1 on the stack, 2 done
    reported: set[frozenset[str]] = set()

    def visit(key: str, stack: list[str]) -> None:
        colour[key] = 1
        stack.append(key)
        for target in graph[key]:
            if colour[target] == 1:
                cycle = [*stack[stack.index(target) :], target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    first = modules[cycle[0]]
                    problems.add(
                        first.where.at("requires"),
                        f"modules {' -> '.join(cycle)} require each other in a cycle, "
                        "so none of them could ever open",
                    )
            elif colour[target] == 0:
                visit(target, stack)
        stack.pop()
        colour[key] = 2

    for key in graph:
        if colour[key] == 0:
            visit(key, [])
