"""Stored renderings of record PDFs: rendered in the background when a record changes, packed by
bulk exports while they are still the record's state, rendered in parallel when they are not.

A record's PDF takes ~0.15 s to render; an export of a thousand records rendering each in turn
spent nearly all its time there. So a change to a record (`assessment.signals.record_changed`:
an outcome, a judgement, evidence added, withdrawn or moved) queues `render_record_pdf` once the
transaction commits, and the job stores the PDF (`RecordPdf`, the file in the default storage,
private like evidence) under the record's `fingerprint` (records/pdf.py): a hash of everything
the PDF shows, made from the loaded record without a query. An export, which loads every record
anyway to write its `record.json`, packs a stored PDF only when its fingerprint is the record's
fingerprint now and its bytes still hash to what was stored; anything else is rendered again, in
parallel (`PdfRenderer`), and stored for the next time.

When a change renders, and why not always in the embedded mode: records/changes.py.

Purged evidence: its stored PDFs (they embed its thumbnail) are deleted in the purge's
transaction, their files once it commits.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connections, transaction
from django.utils import timezone

from assessment.models import RecordPdf, record_pdf_upload_to
from delivery.records import RecordKey

if TYPE_CHECKING:
    from assessment.records.pdf import RenderJob
    from assessment.records.selectors import Record

logger = logging.getLogger(__name__)

# A pool process renders this many PDFs and is replaced: WeasyPrint's caches stay bounded.
TASKS_PER_PROCESS = 100
# A render taking longer than this is a stuck process: the export fails, saying so.
RENDER_TIMEOUT_SECONDS = 600


def render_processes() -> int:
    """Processes an export renders missing PDFs in: `RECORD_PDF_PROCESSES`, or one per CPU (at
    most four: each holds a WeasyPrint of its own)."""
    configured = getattr(settings, "RECORD_PDF_PROCESSES", None)
    if configured is not None:
        return max(1, int(configured))
    return max(1, min(os.cpu_count() or 1, 4))


def storage() -> Any:
    return RecordPdf._meta.get_field("file").storage


def pending_marker(key: RecordKey) -> str:
    """The cache key saying a render of the record is queued (records/changes.py)."""
    return f"record-pdf:pending:{key.learner_id}:{key.cohort_id}:{key.unit_id}"


# --- the job ---------------------------------------------------------------------------------


def refresh_record_pdf(key: RecordKey) -> str:
    """Render and store the record's PDF unless a stored one is already its state (the job's
    body). Returns "fresh", "rendered" or "gone" (the record no longer exists). Running twice,
    at once or not, stores one rendering per state."""
    from assessment.records.pdf import fingerprint, json_bytes, record_json, render_record_pdf
    from assessment.records.selectors import load_records
    from delivery.models import Enrolment

    cache.delete(pending_marker(key))
    if not Enrolment.objects.filter(learner_id=key.learner_id, cohort_id=key.cohort_id).exists():
        return "gone"
    loaded_at = timezone.now()
    try:
        record = load_records([key])[0]
    except KeyError:  # the learner, cohort or unit has gone
        return "gone"
    document = json_bytes(record_json(record))
    state = fingerprint(record, document)
    if RecordPdf.objects.filter(**_key_fields(key), fingerprint=state).exists():
        return "fresh"
    generated = timezone.now()
    pdf = render_record_pdf(record, document=document, generated=generated)
    store_pdfs([Rendered(key, state, pdf, generated)], loaded_at=loaded_at)
    return "rendered"


# --- storing and finding --------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    key: RecordKey
    fingerprint: str
    pdf: bytes
    generated: datetime


def _key_fields(key: RecordKey) -> dict[str, int]:
    return {"learner_id": key.learner_id, "cohort_id": key.cohort_id, "unit_id": key.unit_id}


def _rows_of(keys: Iterable[RecordKey]) -> Any:
    """The stored rows of `keys` (a superset filter, then matched exactly by the caller): one
    query whatever their number."""
    keys = list(keys)
    return RecordPdf.objects.filter(
        learner_id__in={k.learner_id for k in keys},
        cohort_id__in={k.cohort_id for k in keys},
        unit_id__in={k.unit_id for k in keys},
    )


def _key_of(row: RecordPdf) -> RecordKey:
    return RecordKey(row.learner_id, row.cohort_id, row.unit_id)


def store_pdfs(renders: Sequence[Rendered], *, loaded_at: datetime) -> int:
    """Store each rendering (files first, then the rows in one insert that skips a state stored
    meanwhile by someone else, whose file then stays and ours goes), and drop the renderings of
    the same records read before `loaded_at`: they are older states. A fixed number of queries
    whatever the number of renderings. Returns how many were stored."""
    if not renders:
        return 0
    files = storage()
    rows = []
    for made in renders:
        name = files.save(record_pdf_upload_to(None, "record.pdf"), ContentFile(made.pdf))
        rows.append(
            RecordPdf(
                **_key_fields(made.key),
                fingerprint=made.fingerprint,
                file=name,
                size=len(made.pdf),
                sha256=hashlib.sha256(made.pdf).hexdigest(),
                generated_at=made.generated,
                loaded_at=loaded_at,
            )
        )
    ours = {str(row.file.name) for row in rows}
    wanted = {(made.key, made.fingerprint) for made in renders}
    try:
        with transaction.atomic():
            RecordPdf.objects.bulk_create(rows, ignore_conflicts=True)
            kept: set[str] = set()
            older: list[RecordPdf] = []
            for row in _rows_of(made.key for made in renders).only(
                "pk", "learner_id", "cohort_id", "unit_id", "fingerprint", "file", "loaded_at"
            ):
                if (_key_of(row), row.fingerprint) in wanted:
                    kept.add(str(row.file.name))
                elif row.loaded_at < loaded_at and _key_of(row) in {k for k, _ in wanted}:
                    older.append(row)
            if older:
                RecordPdf.objects.filter(pk__in=[row.pk for row in older]).delete()
            gone = [str(row.file.name) for row in older] + sorted(ours - kept)
            transaction.on_commit(lambda: _delete_files(gone))
    except BaseException:
        _delete_files(sorted(ours))
        raise
    return len(ours & kept)


def _delete_files(names: Iterable[str]) -> None:
    files = storage()
    for name in names:
        try:
            files.delete(name)
        except OSError:  # an orphan for storage tooling; never a row without its file
            logger.warning("could not delete the stored record PDF %s", name)


def delete_stored_pdfs(keys: Sequence[RecordKey]) -> int:
    """Delete every stored PDF of `keys` (rows now, files once the transaction commits)."""
    wanted = set(keys)
    found = list(_rows_of(keys).only("pk", "learner_id", "cohort_id", "unit_id", "file"))
    doomed = [row for row in found if _key_of(row) in wanted]
    if not doomed:
        return 0
    RecordPdf.objects.filter(pk__in=[row.pk for row in doomed]).delete()
    names = [row.file.name for row in doomed]
    transaction.on_commit(lambda: _delete_files(names))
    return len(doomed)


def stored_pdfs(states: dict[RecordKey, str]) -> dict[RecordKey, RecordPdf]:
    """The stored rendering of each record whose fingerprint is `states[key]`: one query."""
    if not states:
        return {}
    found = {}
    for row in _rows_of(states).filter(fingerprint__in=set(states.values())):
        key = _key_of(row)
        if states.get(key) == row.fingerprint:
            found[key] = row
    return found


def read_stored(row: RecordPdf) -> bytes | None:
    """The stored PDF's bytes, or None when the file is gone or no longer hashes to what was
    stored (the caller renders afresh: a damaged file is never packed)."""
    try:
        with row.file.open("rb") as handle:
            data: bytes = handle.read()
    except (OSError, ValueError):
        return None
    if len(data) != row.size or hashlib.sha256(data).hexdigest() != row.sha256:
        logger.warning("stored record PDF %s does not match its hash: rendering again", row.pk)
        return None
    return data


def stored_pdf_for(record: Record, document: bytes) -> bytes | None:
    """The stored PDF of `record` in its present state, if there is one (the download view)."""
    from assessment.records.pdf import fingerprint

    state = fingerprint(record, document)
    row = stored_pdfs({record.key: state}).get(record.key)
    return read_stored(row) if row is not None else None


# --- rendering in parallel ------------------------------------------------------------------


def _render_in_child(job: RenderJob) -> bytes:
    from assessment.records.pdf import render_job

    return render_job(job)


def _child_started() -> None:
    """In a new pool process (a fork of the export's): it renders HTML only. The database
    connections it inherited belong to the parent; they are set aside unclosed (closing would
    end the parent's session) so that nothing here can use them by mistake."""
    for conn in connections.all(initialized_only=True):
        _inherited.append(conn.connection)  # kept referenced: never finalised here
        conn.connection = None


_inherited: list[Any] = []


class _Done:
    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf

    def get(self, timeout: float | None = None) -> bytes:
        return self.pdf


class _Later:
    """In-process: rendered when asked for, in the order the export packs."""

    def __init__(self, job: RenderJob) -> None:
        self.job = job

    def get(self, timeout: float | None = None) -> bytes:
        from assessment.records.pdf import render_job

        return render_job(self.job)


class PdfRenderer:
    """Renders `RenderJob`s in `processes` processes (billiard, Celery's own multiprocessing:
    it may start processes from a Celery prefork worker, whose processes are daemons that the
    standard library's pools refuse). The pool starts at the first job, so an export with
    every PDF stored starts none; with one process, jobs render here, when asked for.

    Each job's result is the PDF's bytes, whoever rendered it: `render_job` depends on the job
    alone. A pool process is replaced every `TASKS_PER_PROCESS` jobs, so memory stays bounded."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = processes if processes is not None else render_processes()
        self._pool: Any = None
        self.submitted = 0

    def submit(self, job: RenderJob) -> Any:
        self.submitted += 1
        if self.processes <= 1:
            return _Later(job)
        if self._pool is None:
            import billiard

            context = billiard.get_context("fork")
            self._pool = context.Pool(
                self.processes, initializer=_child_started, maxtasksperchild=TASKS_PER_PROCESS
            )
        return self._pool.apply_async(_render_in_child, (job,))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def terminate(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> PdfRenderer:
        return self

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()


def render_missing(keys: Sequence[RecordKey], *, batch_size: int = 50) -> dict[str, int]:
    """Render and store the PDF of each record of `keys` that has no stored rendering of its
    present state, in parallel (`PdfRenderer`): the backfill after an upgrade, or for records
    changed while rendering on change was off (`manage.py render_record_pdfs`). Returns the
    counts of "rendered" and "fresh" (already stored)."""
    from assessment.records.pdf import (
        fingerprint,
        json_bytes,
        prepare_render,
        record_json,
        renderer_identity,
    )
    from assessment.records.selectors import load_records

    identity = renderer_identity()
    counts = {"rendered": 0, "fresh": 0}
    with PdfRenderer() as renderer:
        for start in range(0, len(keys), batch_size):
            loaded_at = timezone.now()
            records = load_records(keys[start : start + batch_size])
            documents = [json_bytes(record_json(record)) for record in records]
            states = {
                r.key: fingerprint(r, d, renderer=identity)
                for r, d in zip(records, documents, strict=True)
            }
            stored = stored_pdfs(states)
            pending = []
            for record, document in zip(records, documents, strict=True):
                if record.key in stored:
                    counts["fresh"] += 1
                    continue
                job = prepare_render(record, document=document, generated=timezone.now())
                pending.append((record.key, job.generated, renderer.submit(job)))
            made = [
                Rendered(key, states[key], handle.get(timeout=RENDER_TIMEOUT_SECONDS), generated)
                for key, generated, handle in pending
            ]
            counts["rendered"] += store_pdfs(made, loaded_at=loaded_at)
    return counts
