"""`manage.py purge_evidence [--confirm]`: list, or purge, the evidence the retention policy
no longer requires (see assessment/evidence/retention.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.template.defaultfilters import filesizeformat

from assessment.evidence.retention import Policy, iter_purgeable, purge


class Command(BaseCommand):
    help = (
        "List the evidence files the retention policy allows to purge (outcome older than "
        "RETENTION_EVIDENCE_MONTHS, no legal hold); with --confirm, delete their bytes, keeping "
        "each file's name, size and SHA-256 and an audit event."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="Purge the files listed. Without it nothing is deleted.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        policy = Policy.from_settings()
        self.stdout.write(f"Policy: {policy.describe()}; legal holds respected.")
        count = total = purged = 0
        for evidence in iter_purgeable(policy):
            count += 1
            total += evidence.size
            attempt = evidence.attempt
            line = (
                f"{attempt.learner.get_username()}\t{attempt.task.unit.code}\t"
                f"outcome {evidence.outcome_at:%Y-%m-%d}\t{evidence.original_name}\t"  # type: ignore[attr-defined]
                f"{evidence.size}\tsha256:{evidence.sha256}"
            )
            if options["confirm"]:
                if purge(evidence, policy=policy, actor=None):
                    purged += 1
                    self.stdout.write(f"purged\t{line}")
                else:
                    self.stdout.write(f"kept (held or already purged)\t{line}")
            else:
                self.stdout.write(line)
        if options["confirm"]:
            self.stdout.write(f"Purged {purged} of {count} files ({filesizeformat(total)}).")
        else:
            self.stdout.write(
                f"{count} files ({filesizeformat(total)}) may be purged. "
                "Nothing was deleted: run again with --confirm to purge them."
            )
