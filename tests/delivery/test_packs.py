"""Content packs: the format's rules, import (directory and zip, re-import, versions), export,
the round trip between them, the sample packs and the two management commands. A unit's
`tasks` (assessment's section of the format) are in tests/assessment/test_pack_tasks.py; the
catalogue compared here includes them."""

from __future__ import annotations

import hashlib
import re
import zipfile
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connections

from assessment.models import Answer, Attempt, Item, Task
from delivery.management.commands.import_pack import Command as ImportPackCommand
from delivery.models import (
    ContentPack,
    Course,
    CourseUnit,
    Element,
    EvidenceItem,
    Module,
    PerformanceCriterion,
    Resource,
    ResourceProgress,
    Unit,
)
from delivery.packs import PackError, export_pack, import_pack
from tests.factories import UnitFactory

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "packs"

PACK = """\
format: flipside-pack/1
pack:
  id: test-pack
  version: 1
  title: Test pack
units:
  - code: TSTU001
    title: Test unit one
    version: 2.0
    description: |
      What the unit is about.
    elements:
      - number: 1
        title: First element
        criteria:
          - number: 1.1
            text: First criterion
          - number: 1.10
            text: Tenth criterion, not the first again
      - number: 2
        title: Second element
        criteria:
          - number: 2.1
            text: Third criterion
    knowledge_evidence:
      - Knows a thing
    performance_evidence:
      - Did a thing
      - Did another thing
courses:
  - code: TSTC001
    title: Test course
    kind: unit
    validity_months: 12
    units:
      - unit: TSTU001
        modules:
          - key: intro
            title: Introduction
            summary: Where to start.
            resources:
              - key: welcome
                title: Welcome
                kind: text
                minutes: 3
                body: |
                  Hello **there**.
              - key: handout
                title: Handout
                kind: file
                file: files/handout.pdf
          - key: practice
            title: Practice
            requires: [intro]
            resources:
              - key: demo
                title: Demo video
                kind: video
                embed_url: https://www.youtube-nocookie.com/embed/abc123
              - key: reading
                title: Further reading
                kind: link
                url: https://example.org/reading
"""

HANDOUT = b"%PDF-1.4 a pretend handout"


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


def write_pack(folder: Path, text: str = PACK, files: dict[str, bytes] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text(text)
    for name, content in ({"files/handout.pdf": HANDOUT} if files is None else files).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def zip_folder(folder: Path, out: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(out, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return out


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def snapshot(media: Path) -> dict[str, Any]:
    """Everything an import could touch."""
    models = [
        Unit,
        Element,
        PerformanceCriterion,
        EvidenceItem,
        Course,
        CourseUnit,
        Module,
        Resource,
        ResourceProgress,
        ContentPack,
        Task,
        Item,
        Attempt,
        Answer,
        Task.requires_modules.through,
        Item.criteria.through,
        Item.evidence_items.through,
    ]
    rows = {m.__name__: sorted(m.objects.values_list("pk", flat=True)) for m in models}
    rows["versions"] = sorted(Task.objects.values_list("pk", "version"))
    rows["files"] = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    return rows


def problems_of(path: Path, media: Path) -> list[str]:
    """The problems import_pack reports for `path`, checking that it changed nothing."""
    before = snapshot(media)
    with pytest.raises(PackError) as raised:
        import_pack(path)
    assert snapshot(media) == before
    return raised.value.problems


def sha(name: str) -> str | None:
    if not name:
        return None
    with default_storage.open(name, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def catalogue() -> dict[str, Any]:
    """The catalogue as plain data, without database ids or storage names."""
    units = {
        unit.code: {
            "title": unit.title,
            "version": unit.version,
            "status": unit.status,
            "description": unit.description,
            "assessment_conditions": unit.assessment_conditions,
            "elements": [
                (e.number, e.title, [(c.number, c.position, c.text) for c in e.criteria.all()])
                for e in unit.elements.all()
            ],
            "evidence": [(e.kind, e.number, e.text) for e in unit.evidence_items.all()],
            # (Not a task's version: a count of its changes on this server, not pack content.)
            "tasks": [
                {
                    "key": t.key,
                    "title": t.title,
                    "kind": t.kind,
                    "position": t.position,
                    "instructions": t.instructions,
                    "conditions": t.conditions,
                    "max_attempts": t.max_attempts,
                    "requires": sorted((m.course.code, m.key) for m in t.requires_modules.all()),
                    "items": [
                        (
                            i.key,
                            i.position,
                            i.kind,
                            i.prompt,
                            i.choices,
                            i.correct,
                            i.evidence_required,
                            i.evidence_hint,
                            sorted(c.number for c in i.criteria.all()),
                            sorted((e.kind, e.number) for e in i.evidence_items.all()),
                        )
                        for i in t.items.all()
                    ],
                }
                for t in Task.objects.filter(unit=unit)
            ],
        }
        for unit in Unit.objects.all()
    }
    courses = {}
    for course in Course.objects.all():
        units_of_course = []
        for course_unit in course.course_units.all():
            modules = [
                {
                    "key": m.key,
                    "title": m.title,
                    "summary": m.summary,
                    "position": m.position,
                    "requires": sorted(p.key for p in m.prerequisites.all()),
                    "resources": [
                        (
                            r.key,
                            r.title,
                            r.kind,
                            r.position,
                            r.estimated_minutes,
                            r.body,
                            sha(r.file.name),
                            sha(r.captions.name),
                            r.embed_url,
                            r.url,
                        )
                        for r in m.resources.all()
                    ],
                }
                for m in course_unit.modules.all()
            ]
            units_of_course.append((course_unit.unit.code, course_unit.position, modules))
        courses[course.code] = {
            "title": course.title,
            "kind": course.kind,
            "description": course.description,
            "validity_months": course.validity_months,
            "units": units_of_course,
        }
    return {"units": units, "courses": courses}


def empty_catalogue() -> None:
    ResourceProgress.objects.all().delete()
    Task.objects.all().delete()  # (a unit's tasks protect it)
    # A pack's pathways (catalogue's `pathways` key) protect the achievements, which protect
    # their units and courses.
    apps.get_model("catalogue", "Pathway").objects.all().delete()
    apps.get_model("credentials", "Achievement").objects.all().delete()
    Course.objects.all().delete()
    Unit.objects.all().delete()
    ContentPack.objects.all().delete()


# Importing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_a_pack_directory(media: Path, tmp_path: Path) -> None:
    result = import_pack(write_pack(tmp_path / "pack"))

    unit = Unit.objects.get(code="TSTU001")
    assert unit.version == "2.0"
    assert unit.description == "What the unit is about.\n"
    assert [
        (c.element.number, c.number, c.position)
        for c in PerformanceCriterion.objects.filter(element__unit=unit)
    ] == [(1, "1.1", 1), (1, "1.10", 2), (2, "2.1", 1)]
    assert list(unit.evidence_items.values_list("kind", "number", "text")) == [
        ("knowledge", 1, "Knows a thing"),
        ("performance", 1, "Did a thing"),
        ("performance", 2, "Did another thing"),
    ]
    course = Course.objects.get(code="TSTC001")
    assert (course.kind, course.validity_months) == ("unit", 12)
    assert list(course.units.values_list("code", flat=True)) == ["TSTU001"]
    intro, practice = course.modules.all()
    assert (intro.key, intro.position, practice.key, practice.position) == (
        "intro",
        1,
        "practice",
        2,
    )
    assert list(practice.prerequisites.all()) == [intro]
    welcome, handout = intro.resources.all()
    assert (welcome.kind, welcome.estimated_minutes, welcome.body) == (
        "text",
        3,
        "Hello **there**.\n",
    )
    assert handout.file.name.startswith("resources/")
    assert handout.file.name.endswith("/handout.pdf")
    assert handout.file.read() == HANDOUT
    demo = practice.resources.get(key="demo")
    assert demo.embed_url == "https://www.youtube-nocookie.com/embed/abc123"

    record = ContentPack.objects.get()
    assert (record.key, record.version, record.title) == ("test-pack", 1, "Test pack")
    assert record.sha256 == result.sha256
    assert len(record.sha256) == 64
    assert result.tallies["resources"].created == 4
    assert result.files_stored == 1
    assert result.summary()[0] == "Imported pack test-pack version 1: Test pack"


@pytest.mark.django_db
def test_it_imports_a_zip_the_same_as_the_directory(media: Path, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "pack")
    archive = zip_folder(folder, tmp_path / "pack.zip")

    result = import_pack(archive)

    assert result.tallies["resources"].created == 4
    assert Resource.objects.get(key="handout").file.read() == HANDOUT
    empty_catalogue()
    assert import_pack(folder).sha256 == result.sha256  # same content, same digest


@pytest.mark.django_db
def test_it_accepts_the_path_of_pack_yaml_itself(media: Path, tmp_path: Path) -> None:
    import_pack(write_pack(tmp_path / "pack") / "pack.yaml")

    assert Course.objects.filter(code="TSTC001").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["infection-control", "first-aid"])
def test_it_imports_the_sample_pack_from_its_directory_and_as_a_zip(
    media: Path, tmp_path: Path, name: str
) -> None:
    result = import_pack(SAMPLES / name)
    first = catalogue()
    empty_catalogue()
    import_pack(zip_folder(SAMPLES / name, tmp_path / f"{name}.zip"))

    assert catalogue() == first
    assert result.files_stored >= 3
    for path in (SAMPLES / name / "files").iterdir():
        assert path.stat().st_size < 60 * 1024, path
    kinds = set(Resource.objects.values_list("kind", flat=True))
    assert kinds == {"text", "video", "audio", "file", "link"}
    assert Module.objects.filter(prerequisites__isnull=False).exists()
    for unit in Unit.objects.all():
        assert unit.elements.count() >= 2
        assert PerformanceCriterion.objects.filter(element__unit=unit).exists()
        assert unit.evidence_items.filter(kind="knowledge").exists()
        assert unit.evidence_items.filter(kind="performance").exists()
        for course_unit in unit.course_units.all():
            assert 2 <= course_unit.modules.count() <= 4
            for module in course_unit.modules.all():
                assert 2 <= module.resources.count() <= 4


@pytest.mark.django_db
def test_it_imports_the_skill_set_and_the_first_aid_course(media: Path) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")

    skill_set = Course.objects.get(code="HLTSS00065")
    assert (skill_set.title, skill_set.kind) == ("Infection Control Skill Set", "skill_set")
    assert list(skill_set.units.values_list("code", flat=True)) == ["HLTINF006", "HLTINF007"]
    first_aid = Course.objects.get(code="HLTAID011")
    assert (first_aid.kind, first_aid.validity_months) == ("unit", 36)
    assert Unit.objects.get(code="HLTAID011").title == "Provide first aid"
    assert set(ContentPack.objects.values_list("key", "version")) == {
        ("infection-control", 5),
        ("first-aid", 3),
    }
    for resource in Resource.objects.filter(kind="video"):
        assert resource.embed_url.startswith("https://www.youtube-nocookie.com/embed/")


@pytest.mark.django_db
def test_it_imports_the_example_in_the_documentation(media: Path, tmp_path: Path) -> None:
    doc = (REPO / "docs" / "content-packs.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    write_pack(tmp_path / "example", example, {"files/drsabcd-chart.pdf": HANDOUT})

    result = import_pack(tmp_path / "example")

    assert (result.pack_id, result.version) == ("first-aid", 3)
    assert Module.objects.get(key="after-the-incident").prerequisites.get().key == "drsabcd"
    assert Course.objects.get(code="HLTAID011").published


@pytest.mark.django_db
def test_it_stores_an_uploaded_video_with_its_captions(media: Path, tmp_path: Path) -> None:
    text = PACK.replace(
        "                embed_url: https://www.youtube-nocookie.com/embed/abc123\n",
        "                file: files/demo.mp4\n                captions: files/demo.vtt\n",
    )
    write_pack(
        tmp_path / "pack",
        text,
        {
            "files/handout.pdf": HANDOUT,
            "files/demo.mp4": b"pretend video",
            "files/demo.vtt": b"WEBVTT\n",
        },
    )

    import_pack(tmp_path / "pack")

    demo = Resource.objects.get(key="demo")
    assert (demo.file.read(), demo.captions.read()) == (b"pretend video", b"WEBVTT\n")
    assert demo.embed_url == ""


@pytest.mark.django_db
def test_it_lets_a_course_use_a_unit_already_in_the_catalogue(media: Path, tmp_path: Path) -> None:
    UnitFactory(code="OLDU001", title="Borrowed")
    text = PACK.replace(
        "      - unit: TSTU001\n",
        "      - unit: OLDU001\n        modules: []\n      - unit: TSTU001\n",
    )
    import_pack(write_pack(tmp_path / "pack", text))

    course = Course.objects.get(code="TSTC001")
    assert list(course.units.values_list("code", flat=True)) == ["OLDU001", "TSTU001"]
    assert Unit.objects.get(code="OLDU001").title == "Borrowed"


# Re-importing --------------------------------------------------------------------------------


def version_2(text: str = PACK) -> str:
    """Version 2: a renamed module, a resource removed (reading), one added (checklist)."""
    return (
        text.replace("  version: 1\n", "  version: 2\n")
        .replace("title: Introduction", "title: Getting started")
        .replace(
            "              - key: reading\n"
            "                title: Further reading\n"
            "                kind: link\n"
            "                url: https://example.org/reading\n",
            "              - key: checklist\n"
            "                title: Checklist\n"
            "                kind: text\n"
            "                body: Tick these off.\n",
        )
    )


@pytest.mark.django_db
def test_it_reimports_a_newer_version_in_place_keeping_progress(
    media: Path, tmp_path: Path, learner: Any
) -> None:
    import_pack(write_pack(tmp_path / "v1"))
    welcome = Resource.objects.get(key="welcome")
    handout = Resource.objects.get(key="handout")
    progress = ResourceProgress.objects.create(learner=learner, resource=welcome)
    ResourceProgress.objects.create(learner=learner, resource=Resource.objects.get(key="reading"))
    stored = sorted(p for p in media.rglob("*") if p.is_file())

    result = import_pack(write_pack(tmp_path / "v2", version_2()))

    assert ResourceProgress.objects.get(pk=progress.pk).resource_id == welcome.pk
    assert ResourceProgress.objects.count() == 1  # the removed resource's progress went with it
    intro = Module.objects.get(key="intro")
    assert intro.title == "Getting started"
    assert list(Module.objects.get(key="practice").resources.values_list("key", flat=True)) == [
        "demo",
        "checklist",
    ]
    assert Resource.objects.get(pk=handout.pk).file.name == handout.file.name
    assert sorted(p for p in media.rglob("*") if p.is_file()) == stored  # not stored again
    assert (result.files_stored, result.files_unchanged) == (0, 1)
    assert result.previous_version == 1
    resources = result.tallies["resources"]
    assert (resources.created, resources.updated, resources.deleted, resources.unchanged) == (
        1,
        0,
        1,
        3,
    )
    assert result.tallies["modules"].updated == 1
    assert ContentPack.objects.get().version == 2
    assert result.summary()[0] == "Imported pack test-pack version 2 (was version 1): Test pack"


@pytest.mark.django_db
def test_it_deletes_what_the_pack_no_longer_has(media: Path, tmp_path: Path) -> None:
    import_pack(write_pack(tmp_path / "v1"))
    text = (
        PACK.replace("  version: 1\n", "  version: 2\n")
        .replace(
            "          - number: 1.10\n            text: Tenth criterion, not the first again\n", ""
        )
        .replace("      - Did another thing\n", "")
        .replace(PACK[PACK.index("          - key: practice") :], "")
    )

    result = import_pack(write_pack(tmp_path / "v2", text))

    assert list(Module.objects.values_list("key", flat=True)) == ["intro"]
    assert not Resource.objects.filter(key__in=["demo", "reading"]).exists()
    assert not PerformanceCriterion.objects.filter(number="1.10").exists()
    assert EvidenceItem.objects.filter(kind="performance").count() == 1
    assert (result.tallies["modules"].deleted, result.tallies["resources"].deleted) == (1, 2)
    assert result.tallies["criteria"].deleted == 1


@pytest.mark.django_db
def test_it_stores_a_changed_file_anew_and_leaves_the_old_one(media: Path, tmp_path: Path) -> None:
    import_pack(write_pack(tmp_path / "v1"))
    old_name = Resource.objects.get(key="handout").file.name
    text = PACK.replace("  version: 1\n", "  version: 2\n")

    result = import_pack(write_pack(tmp_path / "v2", text, {"files/handout.pdf": b"%PDF new"}))

    handout = Resource.objects.get(key="handout")
    assert handout.file.name != old_name
    assert handout.file.read() == b"%PDF new"
    assert (media / old_name).read_bytes() == HANDOUT  # never overwritten
    assert result.files_stored == 1
    assert result.tallies["resources"].updated == 1


@pytest.mark.django_db
def test_it_does_nothing_when_the_same_version_is_imported_again(
    media: Path, tmp_path: Path
) -> None:
    folder = write_pack(tmp_path / "pack")
    import_pack(folder)
    before = snapshot(media)
    imported_at = ContentPack.objects.get().imported_at

    result = import_pack(folder)

    assert result.skipped
    assert not result.differs
    assert result.summary() == ["Pack test-pack version 1 is already imported: nothing changed."]
    assert snapshot(media) == before
    assert ContentPack.objects.get().imported_at == imported_at


@pytest.mark.django_db
def test_it_says_when_the_same_version_has_different_content(media: Path, tmp_path: Path) -> None:
    import_pack(write_pack(tmp_path / "v1"))

    result = import_pack(write_pack(tmp_path / "v1b", PACK.replace("Welcome", "Hello")))

    assert result.skipped
    assert result.differs
    assert "raise pack.version" in result.summary()[1]
    assert Resource.objects.get(key="welcome").title == "Welcome"


@pytest.mark.django_db
def test_it_refuses_an_older_version_unless_forced(media: Path, tmp_path: Path) -> None:
    import_pack(write_pack(tmp_path / "v2", version_2()))
    older = write_pack(tmp_path / "v1")

    problems = problems_of(older, media)

    assert len(problems) == 1
    assert "version 1 of pack test-pack is older than version 2" in problems[0]
    assert "--force" in problems[0]
    result = import_pack(older, force=True)
    assert ContentPack.objects.get().version == 1
    assert Module.objects.get(key="intro").title == "Introduction"
    assert result.summary()[0].startswith("Imported pack test-pack version 1 (was version 2)")


@pytest.mark.django_db
def test_it_writes_nothing_and_removes_stored_files_when_a_write_fails(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Resource.save

    def failing_save(self: Resource, *args: Any, **kwargs: Any) -> None:
        if self.key == "reading":
            raise RuntimeError("disk on fire")
        original(self, *args, **kwargs)

    monkeypatch.setattr(Resource, "save", failing_save)
    before = snapshot(media)

    with pytest.raises(RuntimeError, match="disk on fire"):
        import_pack(write_pack(tmp_path / "pack"))

    assert snapshot(media) == before


# Bad packs -----------------------------------------------------------------------------------


def bad_pack(tmp_path: Path, old: str, new: str, files: dict[str, bytes] | None = None) -> Path:
    assert old in PACK
    return write_pack(tmp_path / "bad", PACK.replace(old, new, 1), files)


@pytest.mark.django_db
def test_it_reports_bad_yaml_syntax_with_its_line(media: Path, tmp_path: Path) -> None:
    path = bad_pack(tmp_path, "    title: Test unit one\n", "    title: Test: [unit\n")

    problems = problems_of(path, media)

    line = line_of(PACK, "    title: Test unit one")
    assert problems == [f"pack.yaml line {line}, column 16: mapping values are not allowed here"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  title: Test pack\n",
            "  title: Test pack\n  colour: blue\n",
            "(pack.colour): unknown key 'colour'",
        ),
        (
            "                minutes: 3\n",
            "                minuts: 3\n",
            "(courses[0].units[0].modules[0].resources[0].minuts): unknown key 'minuts' "
            "(did you mean 'minutes'?)",
        ),
        (
            "    validity_months: 12\n",
            "    validity_months: 12\n    tasks: []\n",
            "(courses[0].tasks): unknown key 'tasks'",  # (a unit's key, not a course's)
        ),
        (
            "            requires: [intro]\n",
            "            prerequisites: [intro]\n",
            "unknown key 'prerequisites' (prerequisites are listed under 'requires')",
        ),
    ],
)
def test_it_refuses_unknown_keys(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = problems_of(bad_pack(tmp_path, old, new), media)

    assert len(problems) == 1
    assert expected in problems[0]
    key = re.search(r"unknown key '(\w+)'", expected)
    assert key is not None
    line = line_of(PACK.replace(old, new), f" {key[1]}:")
    assert problems[0].startswith(f"pack.yaml line {line} (")


@pytest.mark.django_db
def test_it_reports_missing_required_keys(media: Path, tmp_path: Path) -> None:
    path = bad_pack(tmp_path, "                title: Handout\n", "")

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, '              - key: handout')} "
        "(courses[0].units[0].modules[0].resources[1]): missing required key 'title'"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  version: 1\n", "  version: two\n", "(pack.version): must be a whole number, not 'two'"),
        ("  version: 1\n", "  version: 0\n", "(pack.version): must be at least 1, not 0"),
        (
            "    validity_months: 12\n",
            "    validity_months: 1.5\n",
            "(courses[0].validity_months): must be a whole number",
        ),
        (
            "    title: Test course\n",
            "    title: [Test, course]\n",
            "(courses[0].title): must be text, not a list",
        ),
        (
            "    knowledge_evidence:\n      - Knows a thing\n",
            "    knowledge_evidence: Knows a thing\n",
            "(units[0].knowledge_evidence): must be a list",
        ),
        (
            "    kind: unit\n",
            "    kind: degree\n",
            "(courses[0].kind): must be one of unit, skill_set",
        ),
        (
            "              - key: welcome\n",
            "              - key: Welcome page\n",
            "(courses[0].units[0].modules[0].resources[0].key): 'Welcome page' must be letters",
        ),
        (
            "      - number: 2\n",
            "      - number: second\n",
            "(units[0].elements[1].number): must be a whole number",
        ),
        (
            "                title: Welcome\n",
            "                title:\n",
            "(courses[0].units[0].modules[0].resources[0].title): must not be empty",
        ),
    ],
)
def test_it_refuses_wrong_types(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    problems = problems_of(bad_pack(tmp_path, old, new), media)

    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert problems[0].startswith(f"pack.yaml line {line_of(PACK.replace(old, new), new)} (")


@pytest.mark.django_db
def test_it_refuses_repeated_unit_and_course_codes(media: Path, tmp_path: Path) -> None:
    unit = PACK[PACK.index("  - code: TSTU001") : PACK.index("courses:")]
    course = PACK[PACK.index("  - code: TSTC001") :]
    text = PACK.replace("courses:\n", unit + "courses:\n") + course
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    first_unit = line_of(text, "  - code: TSTU001")
    first_course = line_of(text, "  - code: TSTC001")
    assert any(
        f"(units[1].code): unit code TSTU001 is repeated (first at line {first_unit})" in p
        for p in problems
    ), problems
    assert any(
        f"(courses[1].code): course code TSTC001 is repeated (first at line {first_course})" in p
        for p in problems
    ), problems


@pytest.mark.django_db
def test_it_refuses_repeated_module_and_resource_keys(media: Path, tmp_path: Path) -> None:
    text = PACK.replace("          - key: practice\n", "          - key: intro\n").replace(
        "              - key: handout\n", "              - key: welcome\n"
    )
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    assert sorted(p.split(": ", 1)[1] for p in problems) == [
        f"module key intro is repeated in course TSTC001 (first at line "
        f"{line_of(text, '- key: intro')})",
        f"resource key welcome is repeated in module intro (first at line "
        f"{line_of(text, '- key: welcome')})",
    ]


@pytest.mark.django_db
def test_it_refuses_a_repeated_criterion_number(media: Path, tmp_path: Path) -> None:
    text = PACK.replace("          - number: 1.10\n", "          - number: 1.1\n")
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    assert problems == [
        f"pack.yaml line {line_of(text, '1.1' + chr(10) + '            text: Tenth')} "
        "(units[0].elements[0].criteria[1].number): criterion 1.1 is repeated in unit TSTU001 "
        f"(first at line {line_of(text, '- number: 1.1')})"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("2.2", "criterion 2.2 does not start with the number of its element, 1 (expected 1.<n>)"),
        (
            "1-3",
            "criterion number '1-3' must be the element's number, a dot and a number, like 1.1",
        ),
    ],
)
def test_it_refuses_a_criterion_outside_its_element(
    media: Path, tmp_path: Path, number: str, expected: str
) -> None:
    path = bad_pack(tmp_path, "          - number: 1.10\n", f"          - number: {number}\n")

    problems = problems_of(path, media)

    assert len(problems) == 1
    assert f"(units[0].elements[0].criteria[1].number): {expected}" in problems[0]


@pytest.mark.django_db
def test_it_refuses_a_requirement_on_an_unknown_module(media: Path, tmp_path: Path) -> None:
    path = bad_pack(tmp_path, "requires: [intro]", "requires: [intro, outro]")

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, 'requires: [intro]')} "
        "(courses[0].units[0].modules[1].requires[1]): requires module 'outro', "
        "which is not in course TSTC001"
    ]


@pytest.mark.django_db
def test_it_refuses_modules_that_require_each_other(media: Path, tmp_path: Path) -> None:
    path = bad_pack(
        tmp_path,
        "            summary: Where to start.\n",
        "            summary: Where to start.\n            requires: [practice]\n",
    )

    problems = problems_of(path, media)

    assert len(problems) == 1
    assert (
        "(courses[0].units[0].modules[0].requires): modules intro -> practice -> intro"
        in (problems[0])
    )
    assert "cycle" in problems[0]


@pytest.mark.django_db
def test_it_refuses_a_course_unit_neither_in_the_pack_nor_the_catalogue(
    media: Path, tmp_path: Path
) -> None:
    path = bad_pack(tmp_path, "      - unit: TSTU001\n", "      - unit: NOPE999\n")

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, '      - unit: TSTU001')} "
        "(courses[0].units[0].unit): unit NOPE999 is neither in the pack nor in the catalogue"
    ]


@pytest.mark.django_db
def test_it_refuses_a_file_missing_from_the_pack(media: Path, tmp_path: Path) -> None:
    path = bad_pack(tmp_path, "file: files/handout.pdf", "file: files/missing.pdf")

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, 'file: files/handout.pdf')} "
        "(courses[0].units[0].modules[0].resources[1].file): files/missing.pdf is not in the pack"
    ]


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_size_limit(media: Path, tmp_path: Path, settings: Any) -> None:
    settings.CONTENT_PACK_MAX_FILE_MB = 1
    path = write_pack(tmp_path / "bad", files={"files/handout.pdf": b"x" * (1024 * 1024 + 1)})

    problems = problems_of(path, media)

    assert len(problems) == 1
    assert (
        "(courses[0].units[0].modules[0].resources[1].file): files/handout.pdf is 1.0 MB"
        in (problems[0])
    )
    assert "over the 1 MB a pack's file may be (CONTENT_PACK_MAX_FILE_MB)" in problems[0]


@pytest.mark.django_db
@pytest.mark.parametrize("escape", ["../secret.pdf", "/etc/passwd", "files/../../secret.pdf"])
def test_it_refuses_a_path_out_of_the_pack(media: Path, tmp_path: Path, escape: str) -> None:
    (tmp_path / "secret.pdf").write_bytes(b"secret")
    path = bad_pack(tmp_path, "file: files/handout.pdf", f"file: {escape}")

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, 'file: files/handout.pdf')} "
        f"(courses[0].units[0].modules[0].resources[1].file): {escape} is outside the pack "
        "(give a path relative to pack.yaml, without '..' and not starting with '/')"
    ]


@pytest.mark.django_db
def test_it_refuses_a_symbolic_link_out_of_the_pack(media: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.pdf").write_bytes(b"secret")
    path = write_pack(tmp_path / "bad", files={})
    (path / "files").mkdir()
    (path / "files" / "handout.pdf").symlink_to(tmp_path / "secret.pdf")

    problems = problems_of(path, media)

    assert len(problems) == 1
    assert problems[0].endswith("files/handout.pdf is not in the pack")


@pytest.mark.django_db
@pytest.mark.parametrize("member", ["../evil.sh", "/etc/evil.sh", "files/..\\..\\evil.sh"])
def test_it_refuses_a_zip_with_an_unsafe_member_name(
    media: Path, tmp_path: Path, member: str
) -> None:
    archive = zip_folder(write_pack(tmp_path / "pack"), tmp_path / "pack.zip")
    with zipfile.ZipFile(archive, "a") as appending:
        appending.writestr(member, b"#!/bin/sh\n")

    problems = problems_of(archive, media)

    assert problems == [
        f"pack.zip: member {member} has an unsafe name (absolute, or with '..' or '\\'); "
        "nothing was imported"
    ]


@pytest.mark.django_db
def test_it_says_when_a_zip_holds_the_folder_rather_than_its_contents(
    media: Path, tmp_path: Path
) -> None:
    archive = zip_folder(write_pack(tmp_path / "pack"), tmp_path / "pack.zip", prefix="pack/")

    problems = problems_of(archive, media)

    assert problems == [
        "pack.zip: no pack.yaml at the root of the zip "
        "(found pack/pack.yaml: zip the folder's contents, not the folder)"
    ]


@pytest.mark.django_db
def test_it_refuses_a_video_from_a_host_not_allowed(media: Path, tmp_path: Path) -> None:
    path = bad_pack(
        tmp_path,
        "embed_url: https://www.youtube-nocookie.com/embed/abc123",
        "embed_url: https://videos.example.com/embed/abc123",
    )

    problems = problems_of(path, media)

    assert problems == [
        f"pack.yaml line {line_of(PACK, 'embed_url: https://www.youtube-nocookie.com')} "
        "(courses[0].units[0].modules[1].resources[0].embed_url): Videos can be embedded only "
        "from these hosts: www.youtube-nocookie.com, player.vimeo.com."
    ]


@pytest.mark.django_db
def test_it_applies_the_other_resource_and_model_rules(media: Path, tmp_path: Path) -> None:
    text = PACK.replace("                kind: file\n", "                kind: audio\n").replace(
        "                file: files/handout.pdf\n", ""
    )
    text = text.replace("    title: Test course\n", f"    title: {'x' * 300}\n")
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    assert problems == [
        f"pack.yaml line {line_of(text, '    title: xxx')} (courses[0].title): "
        "Ensure this value has at most 255 characters (it has 300).",
        f"pack.yaml line {line_of(text, '- key: handout')} "
        "(courses[0].units[0].modules[0].resources[1].file): A audio resource needs a file.",
    ]


@pytest.mark.django_db
def test_it_reports_every_problem_at_once_in_line_order(media: Path, tmp_path: Path) -> None:
    text = (
        PACK.replace("  title: Test pack\n", "  title: Test pack\n  colour: blue\n")
        .replace("file: files/handout.pdf", "file: files/missing.pdf")
        .replace("embed_url: https://www.youtube-nocookie.com", "embed_url: https://evil.example")
        .replace("      - number: 2\n", "      - number: 1\n")
    )
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    assert len(problems) == 5, problems
    assert [int(p.split()[2]) for p in problems] == sorted(int(p.split()[2]) for p in problems)
    assert "unknown key 'colour'" in problems[0]
    assert "element number 1 is repeated in unit TSTU001" in problems[1]
    assert "criterion 2.1 does not start with the number of its element, 1" in problems[2]
    assert "files/missing.pdf is not in the pack" in problems[3]
    assert "Videos can be embedded only from these hosts" in problems[4]


@pytest.mark.django_db
def test_it_does_not_call_a_reference_wrong_when_its_target_could_not_be_read(
    media: Path, tmp_path: Path
) -> None:
    text = PACK.replace("    title: Test unit one\n", "").replace(
        "            title: Introduction\n", "            title: [Introduction]\n"
    )
    write_pack(tmp_path / "bad", text)

    problems = problems_of(tmp_path / "bad", media)

    assert [p.split(": ", 1)[1] for p in problems] == [
        "missing required key 'title'",
        "must be text, not a list",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "pack.yaml: is empty"),
        ("- just\n- a list\n", "pack.yaml line 1: must be a mapping of keys to values, not a list"),
        (
            PACK.replace("flipside-pack/1", "flipside-pack/9"),
            "pack.yaml line 1 (format): unsupported format 'flipside-pack/9': this server "
            "reads flipside-pack/1",
        ),
        (
            PACK.replace("  title: Test pack\n", "  title: Test pack\n  title: Again\n"),
            "pack.yaml line 6, column 3: key 'title' appears twice in one mapping "
            "(first at line 5)",
        ),
        (
            PACK.replace("    title: Test unit one\n", "    title: &name Test unit one\n").replace(
                "    title: Test course\n", "    title: *name\n"
            ),
            "aliases (*name) are not supported in a content pack",
        ),
    ],
)
def test_it_refuses_a_pack_yaml_that_is_not_a_pack(
    media: Path, tmp_path: Path, text: str, expected: str
) -> None:
    problems = problems_of(write_pack(tmp_path / "bad", text), media)

    assert len(problems) == 1
    assert expected in problems[0]


@pytest.mark.django_db
def test_it_says_when_there_is_no_pack(media: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello")

    assert problems_of(tmp_path / "empty", media) == [
        f"{tmp_path / 'empty'}: no pack.yaml in this directory"
    ]
    assert problems_of(tmp_path / "nowhere", media) == [
        f"{tmp_path / 'nowhere'}: no such file or directory"
    ]
    assert (
        "not a directory, a pack.yaml or a zip file"
        in problems_of(tmp_path / "notes.txt", media)[0]
    )


# Exporting -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_round_trips_the_catalogue_through_an_exported_zip(
    media: Path, tmp_path: Path, settings: Any
) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")
    text = PACK.replace(
        "                embed_url: https://www.youtube-nocookie.com/embed/abc123\n",
        "                file: files/handout.pdf\n                captions: files/demo.vtt\n",
    )
    import_pack(
        write_pack(
            tmp_path / "own", text, {"files/handout.pdf": HANDOUT, "files/demo.vtt": b"WEBVTT\n"}
        )
    )
    before = catalogue()
    out = tmp_path / "export.zip"

    result = export_pack(
        list(Course.objects.order_by("code")),
        pack_id="everything",
        version=3,
        title="Everything",
        out=out,
    )

    assert (result.courses, result.units, result.path) == (5, 4, out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names[0] == "pack.yaml"
        assert archive.read("pack.yaml").startswith(b"format: flipside-pack/1\n")
    assert all(name == "pack.yaml" or name.startswith("files/") for name in names)
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

    import_pack(out)

    assert catalogue() == before
    assert ContentPack.objects.get().key == "everything"


@pytest.mark.django_db
def test_it_exports_the_same_bytes_for_the_same_content(media: Path, tmp_path: Path) -> None:
    import_pack(SAMPLES / "first-aid")
    courses = list(Course.objects.all())

    export_pack(courses, pack_id="first-aid", version=2, title="First aid", out=tmp_path / "a.zip")
    export_pack(courses, pack_id="first-aid", version=2, title="First aid", out=tmp_path / "b.zip")

    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


@pytest.mark.django_db
def test_it_refuses_to_export_what_a_pack_cannot_say(media: Path, tmp_path: Path) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")
    first_aid = Module.objects.get(key="drsabcd")
    first_aid.prerequisites.add(Module.objects.get(key="how-infections-spread"))

    with pytest.raises(PackError) as raised:
        export_pack(
            [first_aid.course], pack_id="bad id", version=0, title=" ", out=tmp_path / "x.zip"
        )

    assert raised.value.problems == [
        "pack id 'bad id' must be letters, digits, hyphens and underscores",
        "pack version must be a whole number from 1, not 0",
        "a pack needs a title",
        "module drsabcd of course HLTAID011 requires module how-infections-spread of another "
        "course, which a pack cannot express",
    ]
    assert not (tmp_path / "x.zip").exists()


# Commands ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_imports_from_the_command_line_and_prints_the_counts(
    media: Path, tmp_path: Path
) -> None:
    out = StringIO()
    call_command("import_pack", str(write_pack(tmp_path / "pack")), stdout=out)
    call_command("import_pack", str(tmp_path / "pack"), stdout=out)

    printed = out.getvalue()
    assert "Imported pack test-pack version 1: Test pack" in printed
    assert "  resources: 4 created, 0 updated, 0 deleted, 0 unchanged" in printed
    assert "  files: 1 stored, 0 already in storage" in printed
    assert "Pack test-pack version 1 is already imported: nothing changed." in printed


@pytest.mark.django_db
def test_it_forces_an_import_from_the_command_line(media: Path, tmp_path: Path) -> None:
    call_command("import_pack", str(write_pack(tmp_path / "v2", version_2())), stdout=StringIO())
    out = StringIO()

    call_command("import_pack", str(write_pack(tmp_path / "v1")), "--force", stdout=out)

    assert "Imported pack test-pack version 1 (was version 2)" in out.getvalue()


@pytest.mark.django_db
def test_it_lists_the_problems_and_fails_on_the_command_line(media: Path, tmp_path: Path) -> None:
    path = bad_pack(tmp_path, "file: files/handout.pdf", "file: files/missing.pdf")

    with pytest.raises(CommandError) as raised:
        call_command("import_pack", str(path), stdout=StringIO())

    assert raised.value.returncode == 1
    assert str(raised.value).startswith("The pack was not imported (1 problem):\n  pack.yaml line")
    assert "files/missing.pdf is not in the pack" in str(raised.value)
    assert not Course.objects.exists()


@pytest.mark.django_db
def test_it_exits_with_status_1_from_manage_py(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # run_from_argv closes every connection when done, which would end the test's transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    path = bad_pack(tmp_path, "kind: unit", "kind: degree")

    with pytest.raises(SystemExit) as exited:
        ImportPackCommand().run_from_argv(["manage.py", "import_pack", str(path), "--skip-checks"])

    assert exited.value.code == 1
    assert "(courses[0].kind): must be one of" in capsys.readouterr().err


@pytest.mark.django_db
def test_it_exports_from_the_command_line(media: Path, tmp_path: Path) -> None:
    import_pack(SAMPLES / "infection-control")
    import_pack(SAMPLES / "first-aid")
    out = StringIO()
    target = tmp_path / "both.zip"

    call_command(
        "export_pack",
        "--course",
        "HLTSS00065",
        "--course",
        "HLTAID011",
        "--pack-id",
        "both",
        "--version",
        "4",
        "--output",
        str(target),
        stdout=out,
    )

    assert out.getvalue().startswith(f"Wrote {target} (")
    assert "2 course(s), 3 unit(s), 10 module(s), 30 resource(s), 6 file(s)." in out.getvalue()
    with zipfile.ZipFile(target) as archive:
        header = archive.read("pack.yaml").decode()
    assert "  id: both\n  version: 4\n  title: both\n" in header


@pytest.mark.django_db
def test_it_names_a_course_it_cannot_export(media: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No course with code NOPE"):
        call_command(
            "export_pack",
            "--course",
            "NOPE",
            "--pack-id",
            "x",
            "--version",
            "1",
            "--output",
            str(tmp_path / "x.zip"),
            stdout=StringIO(),
        )
