"""A unit's `tasks` in a content pack (assessment's section of the format): import with items,
mapping and required modules; the rules and their messages; re-import in place with version
bumps and learners' answers kept; the uncovered-criteria warning; the sample packs; export and
the round trip."""

from __future__ import annotations

import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from assessment.models import Answer, Item, Task
from assessment.services import save_answers, start_attempt, uncovered_criteria
from delivery.models import Course, Module, Unit
from delivery.packs import PackError, export_pack, import_pack, register_section
from delivery.packs import sections as pack_sections
from delivery.services import enrol_learner
from tests.delivery.test_packs import (
    HANDOUT,
    PACK,
    SAMPLES,
    catalogue,
    empty_catalogue,
    line_of,
    snapshot,
    write_pack,
)
from tests.factories import CohortFactory

TASKS = """\
    tasks:
      - key: quiz
        title: Quick quiz
        kind: quiz
        requires:
          - intro
        items:
          - key: pick-one
            kind: single_choice
            prompt: Which colour is the middle one?
            choices:
              - Red
              - Green
              - Blue
            correct: [2]
            criteria: [1.1]
            knowledge_evidence: [1]
          - key: pick-some
            kind: multiple_choice
            prompt: Which colours are primary?
            choices:
              - Red
              - Purple
              - Blue
            correct: [1, 3]
            criteria: [1.10]
      - key: essay
        title: Essay
        kind: written
        max_attempts: 2
        instructions: |
          Write it in your own words.
        conditions: Open book.
        items:
          - key: explain
            kind: long_answer
            prompt: |
              Explain the thing.
            evidence_required: true
            evidence_hint: A photo of your work.
            criteria: [2.1]
            performance_evidence: [2]
"""

# The test pack of tests/delivery/test_packs.py, with tasks for its unit.
TASK_PACK = PACK.replace("      - Did another thing\n", "      - Did another thing\n" + TASKS)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """File storage in a temporary folder, not var/."""
    location = tmp_path / "media"
    location.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }
    return location


def pack(tmp_path: Path, text: str = TASK_PACK, name: str = "pack") -> Path:
    return write_pack(tmp_path / name, text, {"files/handout.pdf": HANDOUT})


def changed(old: str, new: str, text: str = TASK_PACK, version: int | None = None) -> str:
    assert old in text, old
    text = text.replace(old, new, 1)
    if version is not None:
        text = text.replace("  version: 1\n", f"  version: {version}\n", 1)
    return text


def problems_of(path: Path, media: Path) -> list[str]:
    """The problems import_pack reports for `path`, checking that it changed nothing."""
    before = snapshot(media)
    with pytest.raises(PackError) as raised:
        import_pack(path)
    assert snapshot(media) == before
    return raised.value.problems


def task(key: str) -> Task:
    return Task.objects.get(key=key)


# Importing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_tasks_with_their_items_mapping_and_required_modules(
    media: Path, tmp_path: Path
) -> None:
    result = import_pack(pack(tmp_path))

    unit = Unit.objects.get(code="TSTU001")
    quiz, essay = Task.objects.filter(unit=unit)
    assert (quiz.key, quiz.title, quiz.kind, quiz.position, quiz.max_attempts, quiz.version) == (
        "quiz",
        "Quick quiz",
        "quiz",
        1,
        3,
        1,
    )
    assert list(quiz.requires_modules.all()) == [Module.objects.get(key="intro")]
    assert (essay.max_attempts, essay.instructions, essay.conditions) == (
        2,
        "Write it in your own words.",
        "Open book.",
    )
    assert not essay.requires_modules.exists()
    one, some = quiz.items.all()
    assert (one.key, one.position, one.kind, one.choices, one.correct) == (
        "pick-one",
        1,
        "single_choice",
        ["Red", "Green", "Blue"],
        [1],  # the pack counts choices from 1, the model from 0
    )
    assert (some.position, some.correct) == (2, [0, 2])
    assert [c.number for c in one.criteria.all()] == ["1.1"]
    assert [c.number for c in some.criteria.all()] == ["1.10"]
    assert [(e.kind, e.number) for e in one.evidence_items.all()] == [("knowledge", 1)]
    explain = essay.items.get()
    assert (explain.prompt, explain.evidence_required, explain.evidence_hint) == (
        "Explain the thing.",
        True,
        "A photo of your work.",
    )
    assert (explain.choices, explain.correct) == ([], [])
    assert [(e.kind, e.number) for e in explain.evidence_items.all()] == [("performance", 2)]
    assert uncovered_criteria(unit) == []
    assert result.warnings == []
    assert (result.tallies["tasks"].created, result.tallies["items"].created) == (2, 3)
    assert "  tasks: 2 created, 0 updated, 0 deleted, 0 unchanged" in result.summary()
    assert "  items: 3 created, 0 updated, 0 deleted, 0 unchanged" in result.summary()


@pytest.mark.django_db
def test_it_imports_the_example_in_the_documentation_with_its_tasks(
    media: Path, tmp_path: Path
) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "content-packs.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    write_pack(tmp_path / "example", example, {"files/drsabcd-chart.pdf": HANDOUT})

    result = import_pack(tmp_path / "example")

    assert result.tallies["tasks"].created >= 2
    assert Task.objects.filter(requires_modules__isnull=False).exists()
    assert result.warnings == []


# The rules -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "        kind: quiz\n",
            "        colour: blue\n        kind: quiz\n",
            "(units[0].tasks[0].colour): unknown key 'colour'",
        ),
        (
            "            correct: [1, 3]\n",
            "            answer: [1, 3]\n            correct: [1, 3]\n",
            "(units[0].tasks[0].items[1].answer): unknown key 'answer' (the right choices are "
            "listed under 'correct')",
        ),
        (
            "            criteria: [2.1]\n",
            "            evidence: [performance 2]\n",
            "(units[0].tasks[1].items[0].evidence): unknown key 'evidence' (list evidence under "
            "'knowledge_evidence' and 'performance_evidence', by number)",
        ),
        (
            "        kind: written\n",
            "        kind: exam\n",
            "(units[0].tasks[1].kind): must be one of quiz, written, project, observation, "
            "third_party_report, not 'exam'",
        ),
        (
            "        max_attempts: 2\n",
            "        max_attempts: two\n",
            "(units[0].tasks[1].max_attempts): must be a whole number, not 'two'",
        ),
        (
            "        max_attempts: 2\n",
            "        max_attempts: 0\n",
            "(units[0].tasks[1].max_attempts): must be at least 1, not 0",
        ),
        (
            "            evidence_required: true\n",
            "            evidence_required: yes\n",
            "(units[0].tasks[1].items[0].evidence_required): must be true or false, not 'yes'",
        ),
        (
            "            kind: long_answer\n",
            "            kind: essay\n",
            "(units[0].tasks[1].items[0].kind): must be one of single_choice, multiple_choice",
        ),
        (
            "            criteria: [1.1]\n",
            "            criteria: 1.1\n",
            "(units[0].tasks[0].items[0].criteria): must be a list (lines starting with '- '), "
            "not '1.1'",
        ),
        (
            "            correct: [2]\n",
            "            correct: [second]\n",
            "(units[0].tasks[0].items[0].correct[0]): must be a whole number, not 'second'",
        ),
        (
            "      - key: essay\n",
            "      - key: An essay\n",
            "(units[0].tasks[1].key): 'An essay' must be letters, digits, hyphens and "
            "underscores only",
        ),
        (
            "        items:\n          - key: explain\n",
            "        items: []\n        unused:\n          - key: explain\n",
            "(units[0].tasks[1].items): a task needs at least one item",
        ),
    ],
)
def test_it_refuses_unknown_keys_and_wrong_types(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = changed(old, new)

    problems = problems_of(pack(tmp_path, text), media)

    assert expected in problems[0], problems
    assert problems[0].startswith(f"pack.yaml line {line_of(text, new)} ("), problems
    if "unused" not in new:
        assert len(problems) == 1, problems


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "expected"),
    [
        ("        title: Quick quiz\n", "(units[0].tasks[0]): missing required key 'title'"),
        ("        kind: written\n", "(units[0].tasks[1]): missing required key 'kind'"),
        (
            "            prompt: Which colours are primary?\n",
            "(units[0].tasks[0].items[1]): missing required key 'prompt'",
        ),
        (
            "            correct: [2]\n",
            "(units[0].tasks[0].items[0]): say which choices are right under 'correct', by "
            "number from 1, e.g. [2]",
        ),
    ],
)
def test_it_refuses_missing_keys(media: Path, tmp_path: Path, old: str, expected: str) -> None:
    problems = problems_of(pack(tmp_path, changed(old, "")), media)

    assert len(problems) == 1, problems
    assert expected in problems[0]


@pytest.mark.django_db
def test_it_refuses_repeated_task_and_item_keys(media: Path, tmp_path: Path) -> None:
    text = changed("      - key: essay\n", "      - key: quiz\n")
    text = changed("          - key: pick-some\n", "          - key: pick-one\n", text)

    problems = problems_of(pack(tmp_path, text), media)

    assert problems == [
        f"pack.yaml line {line_of(text, '- key: pick-one' + chr(10) + '            kind: multi')} "
        "(units[0].tasks[0].items[1].key): item key pick-one is repeated in task quiz "
        f"(first at line {line_of(text, '- key: pick-one')})",
        f"pack.yaml line {line_of(text, '- key: quiz' + chr(10) + '        title: Essay')} "
        "(units[0].tasks[1].key): task key quiz is repeated in unit TSTU001 "
        f"(first at line {line_of(text, '- key: quiz')})",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "            criteria: [1.1]\n",
            "            criteria: [1.1, 3.1]\n",
            "(units[0].tasks[0].items[0].criteria[1]): unit TSTU001 has no criterion 3.1",
        ),
        (
            "            criteria: [1.10]\n",
            "            criteria: [1.10, 1.10]\n",
            "(units[0].tasks[0].items[1].criteria[1]): criterion 1.10 is repeated in this item",
        ),
        (
            "            performance_evidence: [2]\n",
            "            performance_evidence: [3]\n",
            "(units[0].tasks[1].items[0].performance_evidence[0]): unit TSTU001 has no "
            "performance evidence item 3 (it has 2)",
        ),
        (
            "            knowledge_evidence: [1]\n",
            "            knowledge_evidence: [2]\n",
            "(units[0].tasks[0].items[0].knowledge_evidence[0]): unit TSTU001 has no "
            "knowledge evidence item 2 (it has 1)",
        ),
        (
            "          - intro\n",
            "          - outro\n",
            "(units[0].tasks[0].requires[0]): requires module 'outro', which is not in course "
            "TSTC001 (the courses in this pack with unit TSTU001)",
        ),
    ],
)
def test_it_refuses_a_reference_to_what_the_pack_does_not_have(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = changed(old, new)

    problems = problems_of(pack(tmp_path, text), media)

    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert problems[0].startswith(f"pack.yaml line {line_of(text, new)} (")


@pytest.mark.django_db
def test_it_refuses_a_requirement_when_no_course_of_the_pack_has_the_unit(
    media: Path, tmp_path: Path
) -> None:
    text = TASK_PACK[: TASK_PACK.index("courses:")]

    problems = problems_of(pack(tmp_path, text), media)

    assert problems == [
        f"pack.yaml line {line_of(text, '          - intro')} (units[0].tasks[0].requires[0]): "
        "requires module 'intro', but no course in this pack has unit TSTU001"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "            correct: [2]\n",
            "            correct: [4]\n",
            "(units[0].tasks[0].items[0].correct[0]): correct choice 4 is out of range: this "
            "item has 3 choices, numbered from 1",
        ),
        (
            "            correct: [2]\n",
            "            correct: [0]\n",
            "(units[0].tasks[0].items[0].correct[0]): must be at least 1, not 0",
        ),
        (
            "            correct: [2]\n",
            "            correct: [1, 2]\n",
            "(units[0].tasks[0].items[0].correct): a single_choice item has exactly one "
            "correct choice, not 2",
        ),
        (
            "            correct: [1, 3]\n",
            "            correct: [1, 1]\n",
            "(units[0].tasks[0].items[1].correct[1]): correct choice 1 is repeated",
        ),
        (
            "            correct: [1, 3]\n",
            "            correct: []\n",
            "(units[0].tasks[0].items[1].correct): say which choices are right under 'correct'",
        ),
        (
            "              - Red\n              - Green\n              - Blue\n",
            "              - Red\n",
            "(units[0].tasks[0].items[0].choices): a single_choice item needs at least two choices",
        ),
        (
            "              - Purple\n",
            "              - Red\n",
            "(units[0].tasks[0].items[1].choices[1]): choice Red is repeated",
        ),
        (
            "            evidence_required: true\n",
            "            evidence_required: true\n            choices: [Yes, No]\n",
            "(units[0].tasks[1].items[0].choices): only single_choice and multiple_choice items "
            "have choices, not a long_answer item",
        ),
        (
            "            evidence_required: true\n",
            "            evidence_required: true\n            correct: [1]\n",
            "(units[0].tasks[1].items[0].correct): only single_choice and multiple_choice items "
            "have correct, not a long_answer item",
        ),
    ],
)
def test_it_refuses_choices_and_answers_that_do_not_fit_the_item(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = problems_of(pack(tmp_path, changed(old, new)), media)

    assert len(problems) == 1, problems
    assert expected in problems[0]


@pytest.mark.django_db
def test_it_applies_the_models_own_rules(media: Path, tmp_path: Path) -> None:
    text = changed(
        "            evidence_hint: A photo of your work.\n",
        f"            evidence_hint: {'x' * 501}\n",
    )

    problems = problems_of(pack(tmp_path, text), media)

    assert problems == [
        f"pack.yaml line {line_of(text, 'evidence_hint: xxx')} "
        "(units[0].tasks[1].items[0].evidence_hint): "
        "Ensure this value has at most 500 characters (it has 501)."
    ]


@pytest.mark.django_db
def test_it_reports_the_tasks_problems_with_every_other_one(media: Path, tmp_path: Path) -> None:
    text = changed("    title: Test course\n", "    title: [Test course]\n")
    text = changed("            correct: [2]\n", "            correct: [9]\n", text)
    text = changed("            criteria: [2.1]\n", "            criteria: [9.9]\n", text)

    problems = problems_of(pack(tmp_path, text), media)

    assert [p.split(": ", 1)[1] for p in problems] == [
        "correct choice 9 is out of range: this item has 3 choices, numbered from 1",
        "unit TSTU001 has no criterion 9.9",
        "must be text, not a list",
    ]


@pytest.mark.django_db
def test_it_refuses_tasks_when_no_app_reads_them(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pack_sections, "_SECTIONS", {})

    problems = problems_of(pack(tmp_path), media)

    assert problems == [
        f"pack.yaml line {line_of(TASK_PACK, '    tasks:')} (units[0].tasks): unknown key "
        "'tasks' (this server reads assessment tasks only with its assessment app installed)"
    ]


def test_it_refuses_a_section_for_a_key_of_the_format_itself() -> None:
    class Elements:
        key = "elements"

    with pytest.raises(ValueError, match="'elements' is a key of the format itself"):
        register_section(Elements())  # type: ignore[arg-type]


# Re-importing --------------------------------------------------------------------------------


@pytest.fixture
def answered(media: Path, tmp_path: Path, learner: Any) -> Answer:
    """TASK_PACK imported, and the learner's draft of the essay with an answer saved."""
    import_pack(pack(tmp_path, name="v1"))
    cohort = CohortFactory(course=Course.objects.get(code="TSTC001"))
    enrol_learner(learner, cohort)
    attempt = start_attempt(learner, task("essay"), cohort)
    (answer,) = save_answers(attempt, learner=learner, answers={"explain": "Like this."})
    return answer


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("prompt: Which colour is the middle one?", "prompt: Which colour is in the middle?"),
        ("              - Purple\n", "              - Yellow\n"),
        ("            correct: [1, 3]\n", "            correct: [1]\n"),
        ("            kind: multiple_choice\n", "            kind: single_choice\n"),
        ("            criteria: [1.1]\n", "            criteria: [1.1, 2.1]\n"),
        ("            knowledge_evidence: [1]\n", ""),
        (
            "            criteria: [1.10]\n",
            "            criteria: [1.10]\n"
            "          - key: extra\n"
            "            kind: short_answer\n"
            "            prompt: One more thing?\n",
        ),
        (
            TASKS[TASKS.index("          - key: pick-some") : TASKS.index("      - key: essay")],
            "",
        ),
    ],
    ids=["prompt", "choices", "correct", "kind", "criteria", "evidence", "added", "removed"],
)
def test_it_raises_the_version_of_a_task_whose_items_change(
    answered: Answer, tmp_path: Path, old: str, new: str
) -> None:
    text = changed(old, new, version=2)
    if "kind: single_choice" in new:
        text = changed("            correct: [1, 3]\n", "            correct: [3]\n", text)

    result = import_pack(pack(tmp_path, text, name="v2"))

    assert task("quiz").version == 2
    assert task("essay").version == 1  # unchanged
    assert result.tallies["tasks"].updated == 1
    assert result.tallies["tasks"].unchanged == 1
    assert Answer.objects.get(pk=answered.pk).text == "Like this."


@pytest.mark.django_db
def test_it_updates_tasks_in_place_and_keeps_the_answers(answered: Answer, tmp_path: Path) -> None:
    explain = answered.item
    text = changed("              Explain the thing.\n", "              Explain it again.\n")
    text = changed("        title: Quick quiz\n", "        title: A quick quiz\n", text, version=2)

    result = import_pack(pack(tmp_path, text, name="v2"))

    assert task("essay").version == 2  # its item changed
    assert task("quiz").version == 1  # only its title did
    assert task("quiz").title == "A quick quiz"
    item = Item.objects.get(pk=explain.pk)
    assert item.prompt == "Explain it again."
    answer = Answer.objects.get(pk=answered.pk)
    assert (answer.item_id, answer.text) == (explain.pk, "Like this.")
    items = result.tallies["items"]
    assert (items.created, items.updated, items.deleted, items.unchanged) == (0, 1, 0, 2)
    assert result.tallies["tasks"].updated == 2


@pytest.mark.django_db
def test_it_refuses_to_delete_an_item_that_learners_answered(
    answered: Answer, tmp_path: Path, media: Path
) -> None:
    old = TASKS[TASKS.index("          - key: explain") :]
    text = changed(
        old,
        "          - key: describe\n"
        "            kind: short_answer\n"
        "            prompt: Describe it.\n"
        "            criteria: [2.1]\n",
        version=2,
    )

    problems = problems_of(pack(tmp_path, text, name="v2"), media)

    items_line = line_of(text, "        items:\n          - key: describe")
    assert problems == [
        f"pack.yaml line {items_line} (units[0].tasks[1].items): item explain of task essay is "
        "not in the pack, but it is used by 1 attempt (answers, judgements or evidence), so it "
        "cannot be deleted: keep the item (its prompt, choices and mapping may still change)"
    ]
    assert Item.objects.filter(key="explain").exists()


@pytest.mark.django_db
def test_it_refuses_to_delete_a_task_that_learners_attempted(
    answered: Answer, tmp_path: Path, media: Path
) -> None:
    text = changed(TASKS[TASKS.index("      - key: essay") :], "", version=2)

    problems = problems_of(pack(tmp_path, text, name="v2"), media)

    assert problems == [
        f"pack.yaml line {line_of(text, '    tasks:')} (units[0].tasks): task essay of unit "
        "TSTU001 is not in the pack, but learners have made 1 attempt at it, so it cannot be "
        "deleted: keep it in the pack (its items may still change)"
    ]


@pytest.mark.django_db
def test_it_does_not_check_deletions_when_the_version_is_already_imported(
    answered: Answer, tmp_path: Path
) -> None:
    text = changed(TASKS[TASKS.index("      - key: essay") :], "")

    result = import_pack(pack(tmp_path, text, name="same-version"))

    assert result.skipped
    assert result.differs
    assert task("essay").attempts.count() == 1


@pytest.mark.django_db
def test_it_deletes_tasks_and_items_nobody_used(media: Path, tmp_path: Path) -> None:
    import_pack(pack(tmp_path, name="v1"))
    text = changed(TASKS[TASKS.index("      - key: essay") :], "", version=2)
    text = changed(
        TASKS[TASKS.index("          - key: pick-some") : TASKS.index("      - key: essay")],
        "",
        text,
    )

    result = import_pack(pack(tmp_path, text, name="v2"))

    assert list(Task.objects.values_list("key", flat=True)) == ["quiz"]
    assert list(Item.objects.values_list("key", flat=True)) == ["pick-one"]
    assert (result.tallies["tasks"].deleted, result.tallies["items"].deleted) == (1, 2)


@pytest.mark.django_db
def test_it_leaves_tasks_alone_when_the_unit_has_no_tasks_key(media: Path, tmp_path: Path) -> None:
    import_pack(pack(tmp_path, name="v1"))

    import_pack(pack(tmp_path, changed(TASKS, "", version=2), name="v2"))
    assert Task.objects.count() == 2
    import_pack(pack(tmp_path, changed(TASKS, "    tasks:\n", version=3), name="v3"))
    assert Task.objects.count() == 2  # (an empty value is a value not given)

    import_pack(pack(tmp_path, changed(TASKS, "    tasks: []\n", version=4), name="v4"))
    assert not Task.objects.exists()


# The mapping rule ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_a_unit_with_uncovered_criteria_and_warns(media: Path, tmp_path: Path) -> None:
    text = changed("            criteria: [1.10]\n", "")
    text = changed("            criteria: [2.1]\n", "", text)
    out = StringIO()

    call_command("import_pack", str(pack(tmp_path, text)), stdout=out)

    warning = (
        "Warning: unit TSTU001 cannot be opened for assessment until every criterion is "
        "assessed: no item maps to criteria 1.10, 2.1"
    )
    assert warning in out.getvalue().splitlines()
    unit = Unit.objects.get(code="TSTU001")
    assert [c.number for c in uncovered_criteria(unit)] == ["1.10", "2.1"]
    assert Task.objects.count() == 2


# The sample packs ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_the_sample_packs_with_every_criterion_covered(media: Path) -> None:
    results = [import_pack(SAMPLES / "infection-control"), import_pack(SAMPLES / "first-aid")]

    assert [result.warnings for result in results] == [[], []]
    assert [result.version for result in results] == [5, 3]
    for unit in Unit.objects.all():
        assert uncovered_criteria(unit) == [], unit.code
        tasks = Task.objects.filter(unit=unit)
        kinds = {t.kind for t in tasks}
        assert "quiz" in kinds, unit.code
        assert tasks.filter(requires_modules__isnull=False).exists(), unit.code
        choice_items = Item.objects.filter(task__unit=unit, kind__endswith="_choice")
        assert {i.kind for i in choice_items} == {"single_choice", "multiple_choice"}
        for item in choice_items:
            assert item.correct, item.key
            assert all(0 <= i < len(item.choices) for i in item.correct), item.key
            if item.kind == "single_choice":
                assert len(item.correct) == 1, item.key
        if unit.code == "HLTINF007":  # the demo's third-party report, for the journeys
            assert "third_party_report" in kinds
        if unit.code.startswith("HLTINF"):
            assert "written" in kinds, unit.code
            assert Item.objects.filter(
                task__unit=unit, task__kind="written", evidence_required=True
            ).exists()
    observation = Task.objects.get(unit__code="HLTAID011", kind="observation")
    assert set(observation.items.values_list("kind", flat=True)) == {"checklist"}


# Exporting -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_round_trips_tasks_through_an_exported_zip(
    media: Path, tmp_path: Path, settings: Any
) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")
    import_pack(pack(tmp_path))
    before = catalogue()
    out = tmp_path / "export.zip"

    export_pack(
        list(Course.objects.order_by("code")), pack_id="all", version=1, title="All", out=out
    )

    with zipfile.ZipFile(out) as archive:
        exported = yaml.safe_load(archive.read("pack.yaml"))
    test_unit = next(u for u in exported["units"] if u["code"] == "TSTU001")
    assert test_unit["tasks"][0]["requires"] == ["intro"]
    assert test_unit["tasks"][0]["items"][0]["correct"] == [2]  # numbered from 1 again
    assert test_unit["tasks"][1]["items"][0]["evidence_required"] is True
    empty_catalogue()
    fresh = tmp_path / "fresh-media"
    fresh.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": fresh},
        },
    }

    result = import_pack(out)

    assert catalogue() == before
    assert sum(len(unit["tasks"]) for unit in before["units"].values()) == 10
    assert result.tallies["tasks"].created == 10
    assert result.warnings == []


@pytest.mark.django_db
def test_it_refuses_to_export_a_task_requiring_a_module_outside_the_export(
    media: Path, tmp_path: Path
) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")
    quiz = Task.objects.get(unit__code="HLTAID011", kind="quiz")
    quiz.requires_modules.add(Module.objects.get(key="how-infections-spread"))

    with pytest.raises(PackError) as raised:
        export_pack(
            [Course.objects.get(code="HLTAID011")],
            pack_id="first-aid",
            version=3,
            title="First aid",
            out=tmp_path / "x.zip",
        )

    assert raised.value.problems == [
        "task knowledge-quiz of unit HLTAID011 requires module how-infections-spread of course "
        "HLTSS00065, which is not an exported course with the unit, so a pack cannot express it"
    ]
    assert not (tmp_path / "x.zip").exists()


@pytest.mark.django_db
def test_it_refuses_an_item_of_a_kind_its_task_is_not_made_of(media: Path, tmp_path: Path) -> None:
    text = changed("            kind: long_answer\n", "            kind: checklist\n")

    problems = problems_of(pack(tmp_path, text), media)

    assert problems == [
        f"pack.yaml line {line_of(text, '            kind: checklist')} "
        "(units[0].tasks[1].items[0].kind): a written task is made of long_answer, "
        "multiple_choice, short_answer, single_choice items, not checklist"
    ]


@pytest.mark.django_db
def test_the_admin_refuses_an_item_of_a_kind_its_task_is_not_made_of() -> None:
    from django.core.exceptions import ValidationError

    from tests.factories import ItemFactory, TaskFactory

    observation = TaskFactory(kind="observation")
    item = ItemFactory.build(task=observation, kind="long_answer", key="essay", prompt="Why?")
    with pytest.raises(ValidationError, match="an observation task is made of checklist items"):
        item.full_clean()
