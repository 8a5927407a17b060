"""A course's `catalogue` keys in content packs: read, checked with every problem named by line,
written (prerequisites once every course exists), left alone when not given, and exported so
that the round trip keeps them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from delivery.models import Course
from delivery.packs import export_pack, import_pack
from tests.delivery.test_packs import (
    HANDOUT,
    PACK,
    line_of,
    problems_of,
    write_pack,
)
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """File storage in a temporary folder, not var/ (as in test_packs)."""
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


CATALOGUE = """\
    catalogue:
      published: true
      area: Health and safety
      outcomes:
        - Use standard precautions
        - Clean up a spill of blood
      effort_hours: 8
      delivery: [self_paced, workplace_observation]
      enrolment: approval
      prerequisites: [TSTC002, OUTSIDE01]
"""
SECOND = """\
  - code: TSTC002
    title: Second course
    kind: skill_set
    catalogue:
      published: false
      delivery: [live_tutorials]
    units:
      - unit: TSTU001
"""
ANCHOR = "    validity_months: 12\n"
P = "(courses[1].catalogue."


def pack_text(catalogue: str = CATALOGUE, second: str = SECOND) -> str:
    text = PACK.replace(ANCHOR, ANCHOR + catalogue, 1)
    return text.replace("courses:\n", "courses:\n" + second, 1)


def write(tmp_path: Path, text: str, name: str = "pack") -> Path:
    return write_pack(tmp_path / name, text)


def fields(code: str) -> tuple[Any, ...]:
    c = Course.objects.get(code=code)
    return (
        c.published,
        c.area,
        c.outcomes,
        c.effort_hours,
        c.self_paced,
        c.live_tutorials,
        c.workplace_observation,
        c.enrolment,
        sorted(c.prerequisites.values_list("code", flat=True)),
    )


def test_it_imports_the_catalogue_keys(media: Path, tmp_path: Path) -> None:
    CourseFactory(code="OUTSIDE01")

    result = import_pack(write(tmp_path, pack_text()))

    assert fields("TSTC001") == (
        True,
        "Health and safety",
        "Use standard precautions\nClean up a spill of blood",
        8,
        True,
        False,
        True,
        "approval",
        ["OUTSIDE01", "TSTC002"],
    )
    # Keys left out inside `catalogue` take a new course's values.
    assert fields("TSTC002") == (False, "", "", None, False, True, False, "open", [])
    assert result.tallies["courses"].created == 2


def test_without_catalogue_keys_what_the_admin_set_stays(media: Path, tmp_path: Path) -> None:
    import_pack(write(tmp_path, PACK))
    Course.objects.filter(code="TSTC001").update(published=True, area="Set in the admin")

    import_pack(write(tmp_path, PACK.replace("version: 1\n", "version: 2\n", 1), "v2"))

    course = Course.objects.get(code="TSTC001")
    assert (course.published, course.area) == (True, "Set in the admin")


def test_a_changed_prerequisite_alone_counts_the_course_updated(
    media: Path, tmp_path: Path
) -> None:
    CourseFactory(code="OUTSIDE01")
    import_pack(write(tmp_path, pack_text()))
    text = (
        pack_text()
        .replace("[TSTC002, OUTSIDE01]", "[TSTC002]")
        .replace("version: 1\n", "version: 2\n", 1)
    )

    result = import_pack(write(tmp_path, text, "v2"))

    assert fields("TSTC001")[-1] == ["TSTC002"]
    assert (result.tallies["courses"].updated, result.tallies["courses"].unchanged) == (1, 1)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      published: true\n",
            "      published: maybe\n",
            P + "published): must be true or false, not 'maybe'",
        ),
        (
            "      area: Health and safety\n",
            "      area: [Health]\n",
            P + "area): must be text, not a list",
        ),
        (
            "      area: Health and safety\n",
            "      area: " + "x" * 81 + "\n",
            P + "area): Ensure this value has at most 80 characters",
        ),
        (
            "      effort_hours: 8\n",
            "      effort_hours: 0\n",
            P + "effort_hours): must be at least 1, not 0",
        ),
        (
            "      effort_hours: 8\n",
            "      effort_hours: a day\n",
            P + "effort_hours): must be a whole number, not 'a day'",
        ),
        (
            "      delivery: [self_paced, workplace_observation]\n",
            "      delivery: [self_paced, teleport]\n",
            P + "delivery[1]): must be one of self_paced, live_tutorials, "
            "workplace_observation, not 'teleport'",
        ),
        (
            "      delivery: [self_paced, workplace_observation]\n",
            "      delivery: self_paced\n",
            P + "delivery): must be a list",
        ),
        (
            "      delivery: [self_paced, workplace_observation]\n",
            "      delivery: [self_paced, self_paced]\n",
            P + "delivery[1]): delivery self_paced is repeated",
        ),
        (
            "      enrolment: approval\n",
            "      enrolment: invite\n",
            P + "enrolment): must be one of open, approval, closed, not 'invite'",
        ),
        (
            "        - Use standard precautions\n",
            "        - [Use, precautions]\n",
            P + "outcomes[0]): must be text, not a list",
        ),
        (
            "        - Use standard precautions\n",
            "        - |\n          Use standard\n          precautions\n",
            P + "outcomes[0]): must be on one line",
        ),
        (
            "      prerequisites: [TSTC002, OUTSIDE01]\n",
            "      prerequisites: [TSTC002, NOWHERE9]\n",
            P + "prerequisites[1]): prerequisite course NOWHERE9 is neither in the pack "
            "nor in the catalogue",
        ),
        (
            "      prerequisites: [TSTC002, OUTSIDE01]\n",
            "      prerequisites: [TSTC001]\n",
            P + "prerequisites[0]): course TSTC001 cannot be its own prerequisite",
        ),
        (
            "      prerequisites: [TSTC002, OUTSIDE01]\n",
            "      prerequisites: [TSTC002, TSTC002]\n",
            P + "prerequisites[1]): prerequisite TSTC002 is repeated",
        ),
        (
            "      enrolment: approval\n",
            "      enrolement: approval\n",
            P + "enrolement): unknown key 'enrolement' (did you mean 'enrolment'?)",
        ),
    ],
)
def test_it_refuses_bad_catalogue_values_with_their_line(
    media: Path, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    CourseFactory(code="OUTSIDE01")
    before = fields("OUTSIDE01")
    assert old in pack_text()
    text = pack_text().replace(old, new, 1)

    problems = problems_of(write(tmp_path, text), media)

    assert len(problems) == 1, problems
    assert expected in problems[0], problems
    assert problems[0].startswith(f"pack.yaml line {line_of(text, new)} ("), problems
    assert fields("OUTSIDE01") == before
    assert not Course.objects.filter(code__startswith="TSTC").exists()


def test_it_refuses_courses_that_are_prerequisites_of_each_other(
    media: Path, tmp_path: Path
) -> None:
    CourseFactory(code="OUTSIDE01")
    text = pack_text(
        second=SECOND.replace(
            "      delivery: [live_tutorials]\n",
            "      delivery: [live_tutorials]\n      prerequisites: [TSTC001]\n",
        )
    )

    problems = problems_of(write(tmp_path, text), media)

    assert len(problems) == 1, problems
    assert "courses TSTC002 -> TSTC001 -> TSTC002 are prerequisites of each other" in problems[0]
    assert problems[0].startswith(
        f"pack.yaml line {line_of(text, '      prerequisites: [TSTC001]')} ("
    )


def test_a_bad_catalogue_on_reimport_changes_nothing(media: Path, tmp_path: Path) -> None:
    CourseFactory(code="OUTSIDE01")
    import_pack(write(tmp_path, pack_text()))
    before = fields("TSTC001")
    text = pack_text().replace("version: 1\n", "version: 2\n", 1)
    text = text.replace("      published: true\n", "      published: false\n")
    text = text.replace("      effort_hours: 8\n", "      effort_hours: -3\n")

    problems_of(write(tmp_path, text, "v2"), media)

    assert fields("TSTC001") == before


def test_export_round_trips_the_catalogue_keys(media: Path, tmp_path: Path) -> None:
    CourseFactory(code="OUTSIDE01")
    import_pack(write(tmp_path, pack_text()))
    before = {code: fields(code) for code in ("TSTC001", "TSTC002")}
    out = tmp_path / "export.zip"

    export_pack(
        list(Course.objects.filter(code__startswith="TSTC").order_by("code")),
        pack_id="again",
        version=1,
        title="Again",
        out=out,
    )

    with zipfile.ZipFile(out) as archive:
        document = yaml.safe_load(archive.read("pack.yaml"))
    first = document["courses"][0]["catalogue"]
    assert first["prerequisites"] == ["OUTSIDE01", "TSTC002"]
    assert first["delivery"] == ["self_paced", "workplace_observation"]
    Course.objects.filter(code__startswith="TSTC").update(published=False, area="")
    for course in Course.objects.filter(code__startswith="TSTC"):
        course.prerequisites.clear()
    import_pack(out)
    assert {code: fields(code) for code in ("TSTC001", "TSTC002")} == before


def test_a_course_with_a_new_courses_values_exports_no_catalogue_key(
    media: Path, tmp_path: Path
) -> None:
    import_pack(write_pack(tmp_path / "plain", PACK, {"files/handout.pdf": HANDOUT}))
    out = tmp_path / "plain.zip"

    export_pack(list(Course.objects.all()), pack_id="plain", version=1, title="Plain", out=out)

    with zipfile.ZipFile(out) as archive:
        document = yaml.safe_load(archive.read("pack.yaml"))
    assert "catalogue" not in document["courses"][0]
