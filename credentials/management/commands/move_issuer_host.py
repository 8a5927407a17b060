"""`manage.py move_issuer_host`: re-sign every credential and status list as the issuer this
deployment is now configured for (after PUBLIC_URL moved to a new host). docs/moving-host.md."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from credentials.services import move_issuer_host


class Command(BaseCommand):
    help = (
        "Move the issuer to the host this process is configured for (PUBLIC_URL, or "
        "CREDENTIALS_HOST): re-sign every status list and credential recorded under another "
        "DID, with their URLs on PUBLIC_URL. Run it once, with the new settings, after moving."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would move; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = bool(options["dry_run"])
        result = move_issuer_host(dry_run=dry_run)
        if not result.status_lists and not result.credentials:
            self.stdout.write(f"Nothing to move: everything is already issued as {result.to}.")
            return
        verb = "Would move" if dry_run else "Moved"
        sources = ", ".join(sorted(result.moved_from)) or "an unrecorded issuer"
        self.stdout.write(
            f"{verb} {result.status_lists} status list(s) and {result.credentials} "
            f"credential(s) from {sources} to {result.to}."
        )
        if not dry_run:
            self.stdout.write("Their certificates are being rendered again.")
