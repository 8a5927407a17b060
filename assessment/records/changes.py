"""What a change to a record does to its stored PDF (`assessment.signals.record_changed`,
connected in `AssessmentConfig.ready`): queue its rendering once the change commits, or, for
purged evidence, delete its stored PDFs with the purge.

When a change renders (`render_triggers`): with Celery workers, on every outcome, judgement,
evidence and credential (issued, revoked: the record shows it) change, `RECORD_PDF_DELAY`
seconds later (20 by default), with at most one job per record waiting at a time (a marker in
the cache), so a learner's burst of uploads renders once and the credential an outcome issues is
usually in the PDF already (its issuing queues a render too). In the embedded mode Celery runs a
job inside the request that committed the change, and a render takes ~0.2 s: there only a
recorded outcome renders (its request already issues the credential and renders its PDF), not
each assessor's save or learner's upload; exports render the rest in parallel, and store them.
`RECORD_PDF_RENDER_ON` (a list of reasons) overrides either choice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from assessment.records.stored import delete_stored_pdfs, pending_marker
from delivery.records import RecordKey

ALL_TRIGGERS = frozenset({"outcome", "judgement", "evidence", "credential"})
EMBEDDED_TRIGGERS = frozenset({"outcome"})
DEFAULT_DELAY_SECONDS = 20
PENDING_GRACE_SECONDS = 120


def render_triggers() -> frozenset[str]:
    configured = getattr(settings, "RECORD_PDF_RENDER_ON", None)
    if configured is not None:
        return frozenset(configured)
    return EMBEDDED_TRIGGERS if settings.CELERY_TASK_ALWAYS_EAGER else ALL_TRIGGERS


def render_delay() -> int:
    return int(getattr(settings, "RECORD_PDF_DELAY", DEFAULT_DELAY_SECONDS))


def on_record_changed(sender: Any, *, key: RecordKey, reason: str, **kwargs: Any) -> None:
    """`record_changed` receiver, inside the transaction that changed the record."""
    if reason == "evidence_purged":
        delete_stored_pdfs([key])
    elif reason in render_triggers():
        transaction.on_commit(lambda: enqueue_render(key))


def enqueue_render(key: RecordKey) -> None:
    """Queue the record's render, unless one is already waiting (the job clears the marker as
    it starts, so a change made while it renders queues another)."""
    from assessment.tasks import render_record_pdf as task

    delay = render_delay()
    # The marker outlives the job's due time by a little: a job lost on its way (a purged
    # queue) delays the record's next render by that much, never for long.
    if not settings.CELERY_TASK_ALWAYS_EAGER and not cache.add(
        pending_marker(key), 1, timeout=delay + PENDING_GRACE_SECONDS
    ):
        return
    task.apply_async(args=list(key), countdown=delay or None)
