"""`manage.py render_record_pdfs [--cohort ID]`: render and store the PDF of every record that
has no stored rendering of its present state (records/stored.py), in parallel. After an upgrade
(the table starts empty), or with rendering on change turned off, so that exports pack stored
PDFs instead of rendering them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assessment.records.access import RecordScope
from assessment.records.selectors import RecordFilters, row_key, search_records
from assessment.records.stored import render_missing, render_processes


class Command(BaseCommand):
    help = (
        "Render and store the PDF of each assessment record whose stored PDF is missing or "
        "stale, in RECORD_PDF_PROCESSES processes (one per CPU by default)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--cohort", type=int, help="Only the records of this cohort (its id).")

    def handle(self, *args: Any, **options: Any) -> None:
        filters = RecordFilters(cohort_id=options.get("cohort"))
        rows = search_records(RecordScope(everything=True), filters).iterator(chunk_size=2000)
        keys = [row_key(row) for row in rows]
        self.stdout.write(f"{len(keys)} records, {render_processes()} processes.")
        counts = render_missing(keys)
        self.stdout.write(
            f"Rendered and stored {counts['rendered']}; {counts['fresh']} were already stored."
        )
