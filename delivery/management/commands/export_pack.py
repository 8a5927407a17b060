"""`manage.py export_pack --course CODE ... --pack-id ID --version N --output FILE.zip`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from delivery.models import Course
from delivery.packs import PackError, export_pack


class Command(BaseCommand):
    help = (
        "Export courses (with their units, modules, resources and files) as a content pack zip "
        "that import_pack reads; see docs/content-packs.md."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> Any:
        # --version is the pack's version here, not Django's: ours replaces the built-in one.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--course",
            action="append",
            dest="courses",
            required=True,
            metavar="CODE",
            help="A course to export, by code; repeat for several.",
        )
        parser.add_argument("--pack-id", required=True, help="The pack's id, e.g. first-aid")
        parser.add_argument(
            "--version", type=int, required=True, help="The pack's version, a whole number"
        )
        parser.add_argument("--title", help="The pack's title (default: the course's title)")
        parser.add_argument("--output", type=Path, required=True, help="The zip file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = list(dict.fromkeys(options["courses"]))
        found = {course.code: course for course in Course.objects.filter(code__in=codes)}
        missing = [code for code in codes if code not in found]
        if missing:
            raise CommandError(f"No course with code {', '.join(missing)}.")
        courses = [found[code] for code in codes]
        title = options["title"] or (courses[0].title if len(courses) == 1 else options["pack_id"])
        try:
            result = export_pack(
                courses,
                pack_id=options["pack_id"],
                version=options["version"],
                title=title,
                out=options["output"],
            )
        except PackError as exc:
            problems = "\n".join(f"  {problem}" for problem in exc.problems)
            raise CommandError(f"Nothing was exported:\n{problems}") from None
        self.stdout.write(
            f"Wrote {result.path} ({result.size / 1024:.0f} KB): {result.courses} course(s), "
            f"{result.units} unit(s), {result.modules} module(s), {result.resources} "
            f"resource(s), {result.files} file(s)."
        )
