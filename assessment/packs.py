"""The `tasks` section of a content pack: a unit's assessment tasks, their items and each item's
mapping to the unit's criteria and evidence, read, checked, written and exported.

delivery.packs cannot import this app (it is the layer below), so AssessmentConfig.ready()
registers `TASKS` with it; see delivery.packs.sections for when each step runs, and
docs/content-packs.md for the format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from assessment.evidence.services import hint_problem
from assessment.models import ITEM_KINDS_BY_TASK_KIND, Attempt, Item, Task, item_kind_problem
from assessment.services import uncovered_criteria
from delivery.models import Course, EvidenceItem, Module, PerformanceCriterion, Unit
from delivery.packs.exporter import FlowList
from delivery.packs.importer import check_row
from delivery.packs.schema import (
    PackSpec,
    Problems,
    Reader,
    UnitSpec,
    Where,
    YamlMap,
    check_unique,
)
from delivery.packs.sections import WriteContext

TASK_KEYS = ("instructions", "conditions", "max_attempts", "requires")
ITEM_KEYS = (
    "choices",
    "correct",
    "evidence_required",
    "evidence_hint",
    "criteria",
    "knowledge_evidence",
    "performance_evidence",
)
CHOICE_KINDS = (Item.Kind.SINGLE_CHOICE.value, Item.Kind.MULTIPLE_CHOICE.value)
EVIDENCE_KINDS = {
    "knowledge_evidence": EvidenceItem.Kind.KNOWLEDGE.value,
    "performance_evidence": EvidenceItem.Kind.PERFORMANCE.value,
}


@dataclass
class ItemSpec:
    key: str
    kind: str
    prompt: str
    choices: list[str]
    # Indexes from 0, as stored; the pack numbers choices from 1.
    correct: list[int]
    evidence_required: bool
    evidence_hint: str
    criteria: list[tuple[str, Where]]
    # "knowledge_evidence" / "performance_evidence": the unit's evidence numbers, from 1.
    evidence: dict[str, list[tuple[int, Where]]]
    where: Where

    def values(self, position: int) -> dict[str, Any]:
        """The item's fields as the model has them (`position` from its place in the list)."""
        return {
            "position": position,
            "kind": self.kind,
            "prompt": self.prompt,
            "choices": self.choices,
            "correct": self.correct,
            "evidence_required": self.evidence_required,
            "evidence_hint": self.evidence_hint,
        }


@dataclass
class TaskSpec:
    key: str
    title: str
    kind: str
    instructions: str
    conditions: str
    max_attempts: int
    requires: list[tuple[str, Where]]
    items: list[ItemSpec]
    where: Where

    def values(self, position: int) -> dict[str, Any]:
        return {
            "title": self.title,
            "kind": self.kind,
            "position": position,
            "instructions": self.instructions,
            "conditions": self.conditions,
            "max_attempts": self.max_attempts,
        }


@dataclass
class TasksSpec:
    """A unit's `tasks`: the complete list, so tasks (and items) it leaves out are deleted."""

    tasks: list[TaskSpec]
    where: Where  # the `tasks` key


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


class TasksSection:
    """A unit's assessment tasks in a pack (delivery.packs.sections.PackSection)."""

    key: str = "tasks"
    tallies: tuple[str, ...] = ("tasks", "items")

    # Reading ---------------------------------------------------------------------------------

    def read(self, value: Any, where: Where, reader: Reader) -> TasksSpec | None:
        tasks = []
        for item, item_where in reader.list_items(value, where):
            task = self._task(item, item_where, reader)
            if task is not None:
                tasks.append(task)
        return TasksSpec(tasks=tasks, where=where)

    def _task(self, value: Any, where: Where, reader: Reader) -> TaskSpec | None:
        found = reader.mapping(
            value,
            where,
            required=("key", "title", "kind", "items"),
            optional=TASK_KEYS,
            hints={"prerequisites": " (modules a task needs are listed under 'requires')"},
        )
        if found is None:
            return None
        m, here = found
        before = len(reader.problems)
        key = reader.slug(m, here, "key")
        title = reader.line_text(m, here, "title", required=True)
        kind = reader.choice(m, here, "kind", Task.Kind.values)
        instructions = reader.text(m, here, "instructions")
        conditions = reader.text(m, here, "conditions")
        max_attempts = reader.number(m, here, "max_attempts", minimum=1)
        requires = [
            (text.strip(), item_where)
            for item, item_where in reader.items(m, here, "requires")
            if (text := reader.text_value(item, item_where)) is not None
        ]
        failed = len(reader.problems) > before
        listing = len(reader.problems)
        listed = reader.items(m, here, "items")
        if "items" in m and not listed and len(reader.problems) == listing:
            reader.problems.add(here.at("items"), "a task needs at least one item")
        items = []
        for item, item_where in listed:
            spec = self._item(item, item_where, reader)
            if spec is not None:
                items.append(spec)
        if failed or key is None or title is None or kind is None:
            return None
        return TaskSpec(
            key=key,
            title=title,
            kind=kind,
            instructions=(instructions or "").strip(),
            conditions=(conditions or "").strip(),
            max_attempts=3 if max_attempts is None else max_attempts,
            requires=requires,
            items=items,
            where=here,
        )

    def _item(self, value: Any, where: Where, reader: Reader) -> ItemSpec | None:
        found = reader.mapping(
            value,
            where,
            required=("key", "kind", "prompt"),
            optional=ITEM_KEYS,
            hints={
                "evidence": " (list evidence under 'knowledge_evidence' and "
                "'performance_evidence', by number)",
                "answer": " (the right choices are listed under 'correct')",
                "answers": " (the right choices are listed under 'correct')",
            },
        )
        if found is None:
            return None
        m, here = found
        before = len(reader.problems)
        key = reader.slug(m, here, "key")
        kind = reader.choice(m, here, "kind", Item.Kind.values)
        prompt = reader.text(m, here, "prompt", required=True)
        evidence_required = reader.flag(m, here, "evidence_required")
        evidence_hint = reader.line_text(m, here, "evidence_hint")
        if evidence_hint and (problem := hint_problem(evidence_hint)):
            reader.problems.add(here.at("evidence_hint"), problem)
        choices = self._choices(m, here, reader)
        correct = [
            (number, item_where)
            for item, item_where in reader.items(m, here, "correct")
            if (number := reader.number_value(item, item_where, minimum=1)) is not None
        ]
        criteria = [
            (text.strip(), item_where)
            for item, item_where in reader.items(m, here, "criteria")
            if (text := reader.text_value(item, item_where)) is not None
        ]
        evidence = {
            name: [
                (number, item_where)
                for item, item_where in reader.items(m, here, name)
                if (number := reader.number_value(item, item_where, minimum=1)) is not None
            ]
            for name in EVIDENCE_KINDS
        }
        if len(reader.problems) > before or key is None or kind is None or prompt is None:
            return None
        if not self._check_choices(m, here, kind, choices, correct, reader):
            return None
        return ItemSpec(
            key=key,
            kind=kind,
            prompt=prompt.strip(),
            choices=choices,
            correct=sorted(number - 1 for number, _ in correct),
            evidence_required=bool(evidence_required),
            evidence_hint=evidence_hint or "",
            criteria=criteria,
            evidence=evidence,
            where=here,
        )

    def _choices(self, m: YamlMap, here: Where, reader: Reader) -> list[str]:
        choices = []
        for item, item_where in reader.items(m, here, "choices"):
            text = reader.text_value(item, item_where)
            if text is None:
                continue
            if "\n" in text.strip():
                reader.problems.add(item_where, "must be on one line")
                continue
            choices.append((text.strip(), item_where))
        check_unique(choices, "choice", "", reader.problems)
        return [text for text, _ in choices]

    def _check_choices(
        self,
        m: YamlMap,
        here: Where,
        kind: str,
        choices: list[str],
        correct: list[tuple[int, Where]],
        reader: Reader,
    ) -> bool:
        """The rules between an item's kind, choices and correct answers; False if broken."""
        problems = reader.problems
        before = len(problems)
        if kind not in CHOICE_KINDS:
            for name in ("choices", "correct"):
                if m.get(name):
                    problems.add(
                        here.at(name),
                        f"only single_choice and multiple_choice items have {name}, "
                        f"not a {kind} item",
                    )
            return len(problems) == before
        if len(choices) < 2:
            problems.add(
                here.at("choices") if "choices" in m else here,
                f"a {kind} item needs at least two choices",
            )
        if not correct:
            problems.add(
                here.at("correct") if "correct" in m else here,
                "say which choices are right under 'correct', by number from 1, e.g. [2]",
            )
        elif kind == Item.Kind.SINGLE_CHOICE and len(correct) > 1:
            problems.add(
                here.at("correct"),
                f"a single_choice item has exactly one correct choice, not {len(correct)}",
            )
        check_unique(correct, "correct choice", "", problems)
        if len(choices) >= 2:
            for number, where in correct:
                if number > len(choices):
                    problems.add(
                        where,
                        f"correct choice {number} is out of range: this item has "
                        f"{len(choices)} choices, numbered from 1",
                    )
        return len(problems) == before

    # Checking --------------------------------------------------------------------------------

    def check(self, unit: UnitSpec, spec: TasksSpec, pack: PackSpec, problems: Problems) -> None:
        check_unique(
            [(task.key, task.where.at("key")) for task in spec.tasks],
            "task key",
            f" in unit {unit.code}",
            problems,
        )
        numbers = unit.criterion_numbers()
        evidence_counts = {
            "knowledge_evidence": len(unit.knowledge_evidence),
            "performance_evidence": len(unit.performance_evidence),
        }
        with_unit = [course for course in pack.courses if course.has_unit(unit.code)]
        courses = [course.code for course in with_unit]
        modules = {module.key for course in with_unit for module in course.modules()}
        for task in spec.tasks:
            check_row(
                Task(**task.values(position=0), key=task.key),
                task.where,
                problems,
                exclude=["unit"],
            )
            if pack.courses_complete:  # else the module may be in one that could not be read
                for key, where in task.requires:
                    if not courses:
                        problems.add(
                            where,
                            f"requires module {key!r}, but no course in this pack has "
                            f"unit {unit.code}",
                        )
                    elif key not in modules:
                        problems.add(
                            where,
                            f"requires module {key!r}, which is not in "
                            f"{_courses(courses)} (the courses in this pack with unit "
                            f"{unit.code})",
                        )
            check_unique(
                [(item.key, item.where.at("key")) for item in task.items],
                "item key",
                f" in task {task.key}",
                problems,
            )
            for item in task.items:
                check_row(
                    Item(**item.values(position=0), key=item.key),
                    item.where,
                    problems,
                    exclude=["task"],
                )
                allowed = ITEM_KINDS_BY_TASK_KIND.get(task.kind, set())
                if task.kind in ITEM_KINDS_BY_TASK_KIND and item.kind not in allowed:
                    problems.add(item.where.at("kind"), item_kind_problem(task.kind, item.kind))
                check_unique(item.criteria, "criterion", " in this item", problems)
                for name, numbered in item.evidence.items():
                    check_unique(numbered, name.replace("_", " "), " in this item", problems)
                if not unit.complete:  # a criterion or evidence item may not have been read
                    continue
                for number, where in item.criteria:
                    if number not in numbers:
                        problems.add(where, f"unit {unit.code} has no criterion {number}")
                for name, numbered in item.evidence.items():
                    for evidence_number, where in numbered:
                        if evidence_number > evidence_counts[name]:
                            problems.add(
                                where,
                                f"unit {unit.code} has no {name.replace('_', ' ')} item "
                                f"{evidence_number} (it has {evidence_counts[name]})",
                            )

    def check_current(self, unit: UnitSpec, spec: TasksSpec, problems: Problems) -> None:
        """Tasks and items the pack leaves out are deleted, unless learners' records use them:
        then the import is refused, naming each one and how many attempts use it."""
        wanted = {task.key: task for task in spec.tasks}
        for task in Task.objects.filter(unit__code=unit.code).order_by("position", "id"):
            if task.key not in wanted:
                attempts = task.attempts.count()
                if attempts:
                    problems.add(
                        spec.where,
                        f"task {task.key} of unit {unit.code} is not in the pack, but learners "
                        f"have made {_plural(attempts, 'attempt')} at it, so it cannot be "
                        "deleted: keep it in the pack (its items may still change)",
                    )
                continue
            task_spec = wanted[task.key]
            keep = {item.key for item in task_spec.items}
            for item in task.items.exclude(key__in=keep).order_by("position", "id"):
                attempts = (
                    Attempt.objects.filter(
                        Q(answers__item=item) | Q(judgements__item=item) | Q(evidence__item=item)
                    )
                    .distinct()
                    .count()
                )
                if attempts:
                    problems.add(
                        task_spec.where.at("items"),
                        f"item {item.key} of task {task.key} is not in the pack, but it is "
                        f"used by {_plural(attempts, 'attempt')} (answers, judgements or "
                        "evidence), so it cannot be deleted: keep the item (its prompt, "
                        "choices and mapping may still change)",
                    )

    # Writing ---------------------------------------------------------------------------------

    def write(self, unit: Unit, spec: TasksSpec, context: WriteContext) -> None:
        """Tasks and items updated in place by key; a task whose items changed in any way goes
        up one version. Warns when the unit's tasks leave a criterion uncovered."""
        mapping = _Mapping(unit)
        modules = context.modules_for(unit.code)
        current = {task.key: task for task in Task.objects.filter(unit=unit)}
        for position, task_spec in enumerate(spec.tasks, start=1):
            task = current.pop(task_spec.key, None)
            created = task is None
            if task is None:
                task = Task(unit=unit, key=task_spec.key)
            changed = _assign(task, task_spec.values(position))
            if created:
                task.save()
            if self._items(task, task_spec, mapping, context, created=created) and not created:
                task.version += 1
                changed = True
            if changed and not created:
                task.save()
            wanted = {module.pk for key, _ in task_spec.requires for module in modules[key]}
            have = set() if created else set(task.requires_modules.values_list("pk", flat=True))
            if wanted != have:
                task.requires_modules.set(wanted)
                changed = True
            context.count("tasks", created=created, changed=changed)
        if current:
            doomed = list(current.values())
            context.result.tallies["items"].deleted += Item.objects.filter(task__in=doomed).count()
            context.result.tallies["tasks"].deleted += len(doomed)
            Task.objects.filter(pk__in=[task.pk for task in doomed]).delete()
        uncovered = uncovered_criteria(unit)
        if uncovered:
            context.warn(
                f"unit {unit.code} cannot be opened for assessment until every criterion is "
                f"assessed: no item maps to {_criteria(c.number for c in uncovered)}"
            )

    def _items(
        self,
        task: Task,
        spec: TaskSpec,
        mapping: _Mapping,
        context: WriteContext,
        *,
        created: bool,
    ) -> bool:
        """Write the task's items; True if any was created, changed or deleted."""
        current = {} if created else {item.key: item for item in task.items.all()}
        touched = False
        for position, item_spec in enumerate(spec.items, start=1):
            item = current.pop(item_spec.key, None)
            new = item is None
            if item is None:
                item = Item(task=task, key=item_spec.key)
            changed = _assign(item, item_spec.values(position))
            if new or changed:
                item.save()
            criteria = {mapping.criteria[number].pk for number, _ in item_spec.criteria}
            evidence = {
                mapping.evidence[EVIDENCE_KINDS[name], number].pk
                for name, numbered in item_spec.evidence.items()
                for number, _ in numbered
            }
            if new or criteria != set(item.criteria.values_list("pk", flat=True)):
                item.criteria.set(criteria)
                changed = True
            if new or evidence != set(item.evidence_items.values_list("pk", flat=True)):
                item.evidence_items.set(evidence)
                changed = True
            context.count("items", created=new, changed=changed)
            touched = touched or new or changed
        if current:
            Item.objects.filter(pk__in=[item.pk for item in current.values()]).delete()
            context.result.tallies["items"].deleted += len(current)
            touched = True
        return touched

    # Exporting -------------------------------------------------------------------------------

    def export(
        self, unit: Unit, courses: Sequence[Course], problems: list[str]
    ) -> list[dict[str, Any]] | None:
        tasks = list(
            Task.objects.filter(unit=unit)
            .order_by("position", "id")
            .prefetch_related(
                "requires_modules__course",
                "items__criteria__element",
                "items__evidence_items",
            )
        )
        if not tasks:
            return None  # (so a re-import leaves tasks authored elsewhere alone)
        # The modules a task's `requires` can name: those of exported courses with the unit.
        nameable: dict[str, set[int]] = {}
        for module in Module.objects.filter(
            course__in=[course.pk for course in courses], course__course_units__unit=unit
        ):
            nameable.setdefault(module.key, set()).add(module.pk)
        return [self._export_task(unit, task, nameable, problems) for task in tasks]

    def _export_task(
        self, unit: Unit, task: Task, nameable: dict[str, set[int]], problems: list[str]
    ) -> dict[str, Any]:
        required: dict[str, set[int]] = {}
        for module in task.requires_modules.all():
            required.setdefault(module.key, set()).add(module.pk)
            if module.pk not in nameable.get(module.key, set()):
                problems.append(
                    f"task {task.key} of unit {unit.code} requires module {module.key} of "
                    f"course {module.course.code}, which is not an exported course with the "
                    "unit, so a pack cannot express it"
                )
        for key, pks in required.items():
            others = nameable.get(key, set()) - pks
            if pks <= nameable.get(key, set()) and others:
                problems.append(
                    f"task {task.key} of unit {unit.code} requires module {key} of some "
                    "exported courses with the unit but not of others, which a pack cannot "
                    "express (a module key in a task's requires names it in every such course)"
                )
        items = sorted(task.items.all(), key=lambda item: (item.position, item.pk))
        return _without_empty(
            {
                "key": task.key,
                "title": task.title,
                "kind": task.kind,
                "max_attempts": task.max_attempts,
                "requires": FlowList(sorted(required)),
                "instructions": task.instructions,
                "conditions": task.conditions,
                "items": [_export_item(item) for item in items],
            },
            keep={"max_attempts", "items"},
        )


def _export_item(item: Item) -> dict[str, Any]:
    criteria = sorted(item.criteria.all(), key=lambda c: (c.element.number, c.position, c.pk))
    evidence = sorted(item.evidence_items.all(), key=lambda e: e.number)
    return _without_empty(
        {
            "key": item.key,
            "kind": item.kind,
            "prompt": item.prompt,
            "choices": list(item.choices),
            "correct": FlowList(index + 1 for index in item.correct),
            "evidence_required": item.evidence_required or None,
            "evidence_hint": item.evidence_hint,
            "criteria": FlowList(criterion.number for criterion in criteria),
            **{
                name: FlowList(e.number for e in evidence if e.kind == kind)
                for name, kind in EVIDENCE_KINDS.items()
            },
        }
    )


class _Mapping:
    """A unit's criteria and evidence items as written by this import, by their numbers."""

    def __init__(self, unit: Unit) -> None:
        self.criteria = {
            c.number: c for c in PerformanceCriterion.objects.filter(element__unit=unit)
        }
        self.evidence = {(e.kind, e.number): e for e in unit.evidence_items.all()}


def _assign(row: Task | Item, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _without_empty(data: dict[str, Any], keep: set[str] | None = None) -> dict[str, Any]:
    """Optional keys are left out when empty, as an author would write the pack."""
    return {k: v for k, v in data.items() if k in (keep or set()) or v not in ("", None, [])}


def _courses(codes: list[str]) -> str:
    return f"course {codes[0]}" if len(codes) == 1 else f"courses {', '.join(codes)}"


def _criteria(numbers: Any) -> str:
    listed = list(numbers)
    return f"criterion {listed[0]}" if len(listed) == 1 else f"criteria {', '.join(listed)}"


TASKS = TasksSection()
