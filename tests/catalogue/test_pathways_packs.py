"""The `pathways:` key of content packs: imported with the sample pack, refused with file and
line for a cycle, a step that can never be met or an unknown code (nothing written), and
exported with the courses it names."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from catalogue.models import Pathway
from delivery.models import Course, Unit
from delivery.packs import PackError, export_pack, import_pack

SAMPLE = Path(__file__).resolve().parents[2] / "packs" / "infection-control"
BLOCK_START = "pathways:\n"


@pytest.fixture(autouse=True)
def _media(settings: object, tmp_path: Path) -> None:
    settings.STORAGES = {  # type: ignore[attr-defined]
        **settings.STORAGES,  # type: ignore[attr-defined]
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }


def sample_with(tmp_path: Path, pathways: str) -> tuple[Path, str]:
    """The sample pack with its `pathways:` block replaced by `pathways`."""
    folder = tmp_path / "pack"
    shutil.copytree(SAMPLE, folder)
    text = (folder / "pack.yaml").read_text()
    text = text[: text.index(BLOCK_START)] + pathways
    (folder / "pack.yaml").write_text(text)
    return folder, text


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle, text.index(BLOCK_START))].count("\n") + 1


def refused(folder: Path) -> list[str]:
    with pytest.raises(PackError) as error:
        import_pack(folder)
    assert not Pathway.objects.exists()
    assert not Unit.objects.exists()
    assert not Course.objects.exists()
    return error.value.problems


@pytest.mark.django_db
def test_the_sample_pack_brings_its_pathway() -> None:
    result = import_pack(SAMPLE)

    pathway = Pathway.objects.get(key="infection-control-care-work")
    assert pathway.published
    assert pathway.goal.human_code == "HLTSS00065"
    basics, lead = pathway.steps.order_by("position")
    assert [a.human_code for a in basics.achievements.all()] == ["HLTINF006"]
    assert basics.milestone is not None
    assert basics.milestone.name == "Infection control basics"
    assert [s.key for s in lead.after.all()] == ["basics"]
    assert result.tallies["pathways"].created == 1
    assert result.tallies["pathway steps"].created == 2

    # Forced again: the same rows, updated in place.
    import_pack(SAMPLE, force=True)
    assert Pathway.objects.get().steps.count() == 2


@pytest.mark.django_db
def test_a_cycle_is_refused_with_its_line(tmp_path: Path) -> None:
    folder, text = sample_with(
        tmp_path,
        BLOCK_START
        + """  - key: loop
    title: Round and round
    goal: HLTSS00065
    steps:
      - key: basics
        title: Basics
        achievements: [HLTINF006]
        after: [lead]
      - key: lead
        title: Lead
        achievements: [HLTINF007]
        after: [basics]
""",
    )
    problems = refused(folder)
    [cycle] = [p for p in problems if "circle" in p]
    assert cycle.startswith(f"pack.yaml line {line_of(text, '- key: basics')} (pathways[0].steps[")
    assert "“Basics” → “Lead” → “Basics”" in cycle or "“Lead” → “Basics” → “Lead”" in cycle


@pytest.mark.django_db
def test_a_step_that_can_never_be_met_is_refused_with_its_line(tmp_path: Path) -> None:
    folder, text = sample_with(
        tmp_path,
        BLOCK_START
        + """  - key: too-many
    title: Too many
    goal: HLTSS00065
    steps:
      - key: pick
        title: Pick three
        requirement: choice
        choose: 3
        achievements: [HLTINF006, HLTINF007]
      - key: nothing
        title: Nothing
        achievements: []
      - key: ghost
        title: Ghost
        achievements: [NOSUCH001]
""",
    )
    problems = refused(folder)
    assert (
        f"pack.yaml line {line_of(text, '- key: pick')} (pathways[0].steps[0]): Step “Pick three” "
        "asks for 3 of 2 achievements, so it can never be met." in problems
    )
    assert any(
        "Step “Nothing” names no unit or course, so it can never be met" in p for p in problems
    )
    assert (
        f"pack.yaml line {line_of(text, 'NOSUCH001')} (pathways[0].steps[2].achievements[0]): "
        "no unit, course or milestone has the code 'NOSUCH001'" in problems
    )


@pytest.mark.django_db
def test_unknown_keys_and_a_missing_goal_are_refused(tmp_path: Path) -> None:
    folder, _ = sample_with(
        tmp_path,
        BLOCK_START
        + """  - key: odd
    title: Odd
    steps:
      - key: one
        achievements: [HLTINF006]
        requirment: optional
""",
    )
    problems = refused(folder)
    assert any("missing required key 'goal'" in p for p in problems)
    assert any("unknown key 'requirment' (did you mean 'requirement'?)" in p for p in problems)


@pytest.mark.django_db
def test_a_superseded_catalogue_unit_is_refused(tmp_path: Path) -> None:
    Unit.objects.create(code="BSBOLD001", title="Old", status=Unit.Status.SUPERSEDED)
    folder, _ = sample_with(
        tmp_path,
        BLOCK_START
        + """  - key: old
    title: Old
    goal: HLTSS00065
    steps:
      - key: basics
        achievements: [HLTINF006, HLTINF007]
      - key: old
        title: Old ways
        requirement: optional
        achievements: [BSBOLD001]
""",
    )
    with pytest.raises(PackError) as error:
        import_pack(folder)
    assert any(
        "Step “Old ways” can never be met: BSBOLD001 is a superseded unit." in p
        for p in error.value.problems
    )
    assert not Pathway.objects.exists()


@pytest.mark.django_db
def test_the_pathway_is_exported_with_its_courses(tmp_path: Path) -> None:
    import_pack(SAMPLE)
    out = tmp_path / "export.zip"
    export_pack(list(Course.objects.all()), pack_id="again", version=1, title="Again", out=out)
    with zipfile.ZipFile(out) as archive:
        data = yaml.safe_load(archive.read("pack.yaml"))
    [pathway] = data["pathways"]
    assert pathway["key"] == "infection-control-care-work"
    assert pathway["steps"][1] == {
        "key": "lead",
        "title": "Lead infection control in the team",
        "achievements": ["HLTINF007"],
        "after": ["basics"],
    }
