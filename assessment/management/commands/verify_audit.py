"""`manage.py verify_audit`: checks the audit trail's hash chain, for auditors and monitoring.

Exits 0 and says how many events are intact, or exits 1 naming the first broken link.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assessment.audit.services import verify_chain
from assessment.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Check the audit trail's hash chain from the first event to the last; exit 1 naming "
        "the first event whose link does not hold."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        check = verify_chain()
        if check.broken_at is None:
            self.stdout.write(f"audit trail OK: {_events(check.checked)}")
            return
        event = AuditEvent.objects.get(pk=check.broken_at)
        raise CommandError(
            f"audit trail BROKEN at event #{event.pk}: {check.problem}\n"
            f"  event #{event.pk}: {event.at.isoformat()} {event.action} "
            f"{event.object_type} {event.object_id}\n"
            f"  intact before it: {_events(check.checked)}"
        )


def _events(count: int) -> str:
    return f"{count} event{'' if count == 1 else 's'}"
