"""The rules a pathway must keep, on plain data, so the staff pages and content packs check
them alike (packs add the file and line). No ORM here: callers describe the achievements.

"Never met" covers what no learner could ever hold: a step with no achievements, "choose n"
with fewer than n achievements that can be earned, and an achievement that cannot be earned
(a deleted or superseded unit, a unit no published course teaches, an unpublished course, a
single-unit course, which has no credential of its own, or a milestone no step awards). A goal
that is a unit's or a course's must be reachable from the steps: every unit it needs is named
by a step. A milestone goal is issued on completing the pathway, so it always is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

REQUIRED = "required"
OPTIONAL = "optional"
CHOICE = "choice"
REQUIREMENTS = (REQUIRED, OPTIONAL, CHOICE)


@dataclass(frozen=True)
class AchievementInfo:
    """An achievement as the rules see it. `units`: the unit codes holding it stands for (a
    unit: itself; a course: its units). `problem`: why no learner can earn it, if so."""

    code: str
    name: str
    kind: str  # "unit", "course" or "milestone"
    units: frozenset[str] = frozenset()
    problem: str = ""


@dataclass
class StepInfo:
    key: str
    title: str
    requirement: str = REQUIRED
    choose: int | None = None
    achievements: Sequence[AchievementInfo] = ()
    after: Sequence[str] = ()


@dataclass(frozen=True)
class Problem:
    message: str
    step: str = ""  # the step's key, when the problem is one step's


@dataclass
class PathwayInfo:
    goal: AchievementInfo | None
    steps: list[StepInfo] = field(default_factory=list)


def requirement_label(requirement: str, choose: int | None, count: int) -> str:
    """The requirement in words, as the map and the list say it."""
    if requirement == CHOICE:
        return f"Choose {choose} of {count}"
    return "Optional" if requirement == OPTIONAL else "Required"


def check_step(step: StepInfo) -> list[Problem]:
    """One step's own rules: it can be met."""
    problems: list[Problem] = []
    name = f"Step “{step.title or step.key}”"
    if step.requirement not in REQUIREMENTS:
        problems.append(Problem(f"{name}: choose required, optional or “choose some”.", step.key))
        return problems
    if step.requirement == CHOICE:
        if not step.choose or step.choose < 1:
            problems.append(
                Problem(f"{name}: say how many of its achievements to choose.", step.key)
            )
    elif step.choose:
        problems.append(
            Problem(f"{name}: only a “choose some” step says how many to choose.", step.key)
        )
    if not step.achievements:
        problems.append(
            Problem(f"{name} names no unit or course, so it can never be met.", step.key)
        )
        return problems
    codes = [a.code for a in step.achievements]
    twice = sorted({code for code in codes if codes.count(code) > 1})
    if twice:
        problems.append(Problem(f"{name} names {', '.join(twice)} twice.", step.key))
    blocked = [a for a in step.achievements if a.problem]
    if step.requirement == CHOICE and step.choose:
        earnable = len(step.achievements) - len(blocked)
        if step.choose > len(step.achievements):
            problems.append(
                Problem(
                    f"{name} asks for {step.choose} of {len(step.achievements)} "
                    f"achievement{'s' if len(step.achievements) != 1 else ''}, "
                    "so it can never be met.",
                    step.key,
                )
            )
        elif earnable < step.choose:
            reasons = "; ".join(f"{a.code}: {a.problem}" for a in blocked)
            problems.append(
                Problem(
                    f"{name} asks for {step.choose}, but only {earnable} can still be earned "
                    f"({reasons}), so it can never be met.",
                    step.key,
                )
            )
    else:
        problems.extend(
            Problem(f"{name} can never be met: {a.code} {a.problem}.", step.key) for a in blocked
        )
    return problems


def find_cycle(steps: Sequence[StepInfo]) -> list[str] | None:
    """A cycle of `after` links as step keys (first repeated at the end), or None."""
    after = {step.key: [k for k in step.after if k] for step in steps}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for before in after.get(key, []):
            if before not in after:
                continue
            if state.get(before) == 1:
                return [*path[path.index(before) :], before]
            if state.get(before) is None and (found := visit(before)) is not None:
                return found
        path.pop()
        state[key] = 2
        return None

    for step in steps:
        if state.get(step.key) is None and (found := visit(step.key)) is not None:
            # `after` points backwards; say the cycle in the order a learner would walk it.
            return list(reversed(found))
    return None


def check_order(steps: Sequence[StepInfo]) -> list[Problem]:
    """Every `after` names a step of the pathway, and the links form no cycle."""
    problems: list[Problem] = []
    titles = {step.key: step.title or step.key for step in steps}
    for step in steps:
        for before in step.after:
            if before == step.key:
                problems.append(
                    Problem(f"Step “{titles[step.key]}” cannot come after itself.", step.key)
                )
            elif before not in titles:
                problems.append(
                    Problem(
                        f"Step “{titles[step.key]}” comes after “{before}”, "
                        "which is not a step of this pathway.",
                        step.key,
                    )
                )
    if problems:
        return problems
    cycle = find_cycle(steps)
    if cycle:
        named = " → ".join(f"“{titles[key]}”" for key in cycle)
        problems.append(
            Problem(
                f"The recommended order goes round in a circle: {named}. "
                "Remove one of these “after” links.",
                cycle[0],
            )
        )
    return problems


def check_goal(pathway: PathwayInfo) -> list[Problem]:
    """The goal can be earned, and the steps lead to it."""
    goal = pathway.goal
    if goal is None:
        return [Problem("Choose the goal: the unit or course code of the end-goal credential.")]
    problems: list[Problem] = []
    if goal.problem:
        problems.append(Problem(f"The goal {goal.code} can never be earned: {goal.problem}."))
    if goal.kind == "milestone":
        return problems
    named: set[str] = set()
    for step in pathway.steps:
        if step.requirement == OPTIONAL:
            continue
        for achievement in step.achievements:
            if achievement.code == goal.code:
                return problems
            named |= achievement.units
    missing = sorted(goal.units - named)
    if missing:
        problems.append(
            Problem(
                f"No required step leads to the goal {goal.code}: it needs "
                f"{', '.join(missing)}, which no required or “choose” step names."
            )
        )
    return problems


def check_pathway(pathway: PathwayInfo, *, complete: bool = True) -> list[Problem]:
    """Every problem at once. `complete=False` (a pathway still being drawn) leaves out what a
    pathway needs only before it is published: steps at all, and a goal the steps lead to."""
    problems: list[Problem] = []
    keys = [step.key for step in pathway.steps]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(Problem(f"Two steps have the key “{key}”.", key))
    for step in pathway.steps:
        problems.extend(check_step(step))
    problems.extend(check_order(pathway.steps))
    if complete:
        if not pathway.steps:
            problems.append(Problem("A pathway needs at least one step."))
        problems.extend(check_goal(pathway))
    return problems
