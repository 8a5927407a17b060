"""Thin Celery tasks: load by id or window, call a service."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def send_marking_digests(hours: int = 24) -> int:
    """Each assessor's digest of what arrived in their queue in the last `hours`."""
    from assessment.digests import send_marking_digests as send

    return send(since=timezone.now() - timedelta(hours=hours))


@shared_task(acks_late=True)
def purge_stale_uploads(days: int = 7) -> int:
    """Partial uploads nobody resumed for `days` are removed from the staging folder."""
    from assessment.evidence import purge_stale_uploads as purge

    return purge(older_than=timedelta(days=days))
