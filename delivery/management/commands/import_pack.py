"""`manage.py import_pack PATH [--force]`: the content-pack import, for authors and deploys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from delivery.packs import PackError, import_pack


class Command(BaseCommand):
    help = (
        "Import a content pack (a directory with pack.yaml, or a .zip) into the catalogue. "
        "Nothing is imported unless the whole pack is valid; see docs/content-packs.md."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "path", type=Path, help="The pack: a directory, its pack.yaml or a .zip"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Import even if this version, or a newer one, is already imported.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = import_pack(options["path"], force=options["force"])
        except PackError as exc:
            problems = "\n".join(f"  {problem}" for problem in exc.problems)
            count = len(exc.problems)
            raise CommandError(
                f"The pack was not imported ({count} problem{'s' if count != 1 else ''}):\n"
                f"{problems}"
            ) from None
        for line in result.summary():
            self.stdout.write(line)
