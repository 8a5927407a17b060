"""Thin Celery tasks: load by id or window, call a service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def send_marking_digests(hours: int = 24) -> int:
    """Each assessor's digest of what arrived in their queue in the last `hours`."""
    from assessment.marking.digests import send_marking_digests as send

    return send(since=timezone.now() - timedelta(hours=hours))


@shared_task(acks_late=True)
def purge_stale_uploads(days: int = 7) -> int:
    """Partial uploads nobody resumed for `days` are removed from the staging folder."""
    from assessment.evidence.services import purge_stale_uploads as purge

    return purge(older_than=timedelta(days=days))


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def build_record_export(self: Any, export_id: int) -> str:
    """Build a bulk export's archive. Enqueued on the "exports" queue (`exports.enqueue`), so
    marking and pages stay fast. Idempotent: a redelivered job (its worker died) starts the
    archive again."""
    from assessment.records.exports import build_record_export as build

    # Redelivered by the broker: the worker that had it died, so its run is taken over.
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return build(export_id, take_over=redelivered)


@shared_task(acks_late=True)
def resume_stale_exports() -> int:
    """Re-enqueue exports whose job was lost (no heartbeat, or queued, for ten minutes)."""
    from assessment.records.exports import resume_stale_exports as resume

    return resume()


@shared_task(acks_late=True)
def expire_record_exports() -> int:
    """Delete the archives of exports past their download period."""
    from assessment.records.exports import expire_record_exports as expire

    return expire()
