"""Importing a content pack: check everything (delivery.packs.checking), then decide on the
version and write everything (delivery.packs.writing) in one transaction.

Registered sections (assessment's `tasks`) are checked and written at the same steps, see
delivery.packs.sections.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from delivery.models import ContentPack
from delivery.packs.checking import Plan, check_row, check_source
from delivery.packs.pack_sections import (
    TopWriteContext,
    pack_sections,
    registered_pack_sections,
)
from delivery.packs.problems import PACK_FILE, PackError, Problems
from delivery.packs.result import ImportResult, Tally
from delivery.packs.sections import registered_sections, unit_sections
from delivery.packs.source import PackSource, open_source
from delivery.packs.specs import PackSpec
from delivery.packs.writing import Writer

# check_row is imported from here by sections of apps above delivery (assessment.packs).
__all__ = ["ImportResult", "check_row", "import_pack"]


def import_pack(path: Path | str, *, force: bool = False) -> ImportResult:
    """Import the pack at `path` (a directory, its pack.yaml, or a .zip) into the catalogue.

    Everything is checked first: pack.yaml's shape, the rules between its items, the model
    rules of every row (the video embed allow-list included), units a course borrows from the
    catalogue, and every file the pack refers to (present, inside the pack, within
    CONTENT_PACK_MAX_FILE_MB). Any problem raises PackError listing them all, and nothing is
    written. Then one transaction (taking the pack's ContentPack row for update) checks what
    the sections forbid doing to the current catalogue (deleting a task learners attempted),
    raising PackError for that too, and writes it all.

    Importing the version already imported does nothing and says so; an older version raises
    PackError; `force` imports either anyway. Files are written to storage before the
    transaction commits (storage is not transactional) and deleted again if it fails.
    """
    with open_source(Path(path)) as source:
        plan = check_source(source)
        return _write(plan, source, force=force)


def _write(plan: Plan, source: PackSource, *, force: bool) -> ImportResult:
    spec = plan.spec
    stored: list[str] = []
    try:
        with transaction.atomic():
            record = ContentPack.objects.select_for_update().filter(key=spec.id).first()
            result = ImportResult(
                pack_id=spec.id,
                title=spec.title,
                version=spec.version,
                sha256=plan.sha256,
                previous_version=record.version if record is not None else None,
            )
            tallies = [s.tallies for s in registered_sections()]
            tallies += [s.tallies for s in registered_pack_sections()]
            for names in tallies:
                for name in names:
                    result.tallies.setdefault(name, Tally())
            if record is not None and not force:
                if record.version == spec.version:
                    result.skipped = True
                    result.differs = record.sha256 != plan.sha256
                    return result
                if record.version > spec.version:
                    raise PackError(
                        f"{PACK_FILE} (pack.version): version {spec.version} of pack {spec.id} "
                        f"is older than version {record.version}, imported on "
                        f"{record.imported_at:%Y-%m-%d}; nothing was imported "
                        "(use --force to go back to it)"
                    )
            _check_current(spec)
            Writer(plan, source, result, stored).write()
            for top, top_spec in pack_sections(spec):
                top.write(top_spec, TopWriteContext(pack=spec, result=result))
            record = record or ContentPack(key=spec.id)
            record.title = spec.title
            record.version = spec.version
            record.sha256 = plan.sha256
            record.imported_at = timezone.now()
            record.save()
            return result
    except BaseException:
        for name in stored:
            with suppress(Exception):
                default_storage.delete(name)
        raise


def _check_current(spec: PackSpec) -> None:
    """The sections' rules against the catalogue as it is, before anything is written."""
    problems = Problems()
    for unit in spec.units:
        for section, section_spec in unit_sections(unit):
            section.check_current(unit, section_spec, problems)
    problems.raise_if_any()
