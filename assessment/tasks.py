"""Thin Celery tasks: load by id or window, call a service.

Each task's name is written out and is the one it had when this module held all of assessment:
a queued task is found by its name, so jobs waiting in Redis (and the beat schedule and routes
in config/settings.py) keep working across a deploy that moves the code behind them.
tests/assessment/test_task_names.py pins the set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(name="assessment.tasks.send_marking_digests", acks_late=True)
def send_marking_digests(hours: int = 24) -> int:
    """Each assessor's digest of what arrived in their queue in the last `hours`."""
    from assessment.marking.digests import send_marking_digests as send

    return send(since=timezone.now() - timedelta(hours=hours))


@shared_task(name="assessment.tasks.purge_stale_uploads", acks_late=True)
def purge_stale_uploads(days: int = 7) -> int:
    """Partial uploads nobody resumed for `days` are removed from the staging folder."""
    from assessment.evidence.services import purge_stale_uploads as purge

    return purge(older_than=timedelta(days=days))


@shared_task(
    name="assessment.tasks.build_record_export",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
)
def build_record_export(self: Any, export_id: int) -> str:
    """Build a bulk export's archive. Enqueued on the "exports" queue (`exports.enqueue`), so
    marking and pages stay fast. Idempotent: a redelivered job (its worker died) starts the
    archive again."""
    from assessment.records.exports import build_record_export as build

    # Redelivered by the broker: the worker that had it died, so its run is taken over.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return build(export_id, take_over=redelivered)


@shared_task(name="assessment.tasks.render_record_pdf", acks_late=True)
def render_record_pdf(learner_id: int, cohort_id: int, unit_id: int) -> str:
    """Render and store one record's PDF after it changed (records/stored.py), so that exports
    pack it instead of rendering it. Idempotent: a record whose stored PDF is already its
    state renders nothing."""
    from assessment.records.stored import refresh_record_pdf
    from delivery.records import RecordKey

    return refresh_record_pdf(RecordKey(learner_id, cohort_id, unit_id))


@shared_task(name="assessment.tasks.resume_stale_exports", acks_late=True)
def resume_stale_exports() -> int:
    """Re-enqueue exports whose job was lost (no heartbeat, or queued, for ten minutes)."""
    from assessment.records.exports import resume_stale_exports as resume

    return resume()


@shared_task(name="assessment.tasks.expire_record_exports", acks_late=True)
def expire_record_exports() -> int:
    """Delete the archives of exports past their download period."""
    from assessment.records.exports import expire_record_exports as expire

    return expire()
