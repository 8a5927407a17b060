"""Bulk exports of assessment records: one zip archive, built by a Celery job on its own queue.

`start_record_export` (a view calls it) counts the records the requester may read that match
their filters, writes the `export.requested` audit event and enqueues `build_record_export` on
the "exports" queue once the transaction commits. The job claims the export with a conditional
UPDATE and writes, for each record (loaded `BATCH_SIZE` at a time through `load_records`, so
queries and memory stay bounded):

    records/<learner id>-<unit code>-<cohort id>/record.pdf
    records/<learner id>-<unit code>-<cohort id>/record.json
    records/<learner id>-<unit code>-<cohort id>/evidence/<attempt number>/<original name>

Each record's PDF is the stored rendering of its present state when there is one (rendered in
the background when the record changed: records/stored.py): the record JSON the export writes
anyway gives its fingerprint, so finding them costs one query per batch. The others are rendered
in parallel across processes (`stored.PdfRenderer`) while the job packs, a batch ahead, and are
stored for the next export. A PDF is the same bytes whoever rendered it, and the manifest's
SHA-256 is of the bytes packed.

and at the root `audit-events.json` (the records' audit events), `manifest.csv` and
`manifest.json` (path, size and SHA-256 of every other file in the archive; for evidence also
the SHA-256 recorded at upload and whether it matched, or "missing" when the file has gone from
storage). Files are streamed in chunks into a zip in a temporary file (stored as they are when
already compressed, deflated when text), and the manifests and events are spooled to temporary
files as they grow, so memory does not grow with the archive. The finished zip is saved through
Django's storage API under exports/.

Restarts: each claim increments `runs`, and every progress write and the finish are conditional
on that run still being the current one. A redelivered job (its worker was killed) finds the
export RUNNING with a stale heartbeat, claims it again and starts the archive from scratch; the
superseded run, if it is somehow still alive, stops at its next write and deletes its file.
`resume_stale_exports` re-enqueues exports whose job was lost altogether.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.models import Evidence, RecordExport
from assessment.records.access import record_scope
from assessment.records.pdf import (
    event_json,
    fingerprint,
    json_bytes,
    prepare_render,
    record_json,
    renderer_identity,
)
from assessment.records.pdf import (
    render_record_pdf as render_record_pdf,  # kept importable: tests stand in for it
)
from assessment.records.selectors import (
    Record,
    RecordFilters,
    load_records,
    row_key,
    search_records,
)
from assessment.records.stored import (
    RENDER_TIMEOUT_SECONDS,
    PdfRenderer,
    Rendered,
    read_stored,
    store_pdfs,
    stored_pdfs,
)
from delivery.records import RecordKey
from delivery.roles import Role, roles_of
from delivery.spreadsheets import csv_writer

logger = logging.getLogger(__name__)

QUEUE = "exports"
BATCH_SIZE = 50
# Progress is written after each batch, and within one at most this often (seconds).
PROGRESS_EVERY = 2.0
CHUNK = 1024 * 1024
# A running export whose heartbeat is younger than this is left to the worker running it.
HEARTBEAT_GRACE = timedelta(minutes=2)
STALE_AFTER = timedelta(minutes=10)
# Evidence that is already compressed is stored as it is; deflating it again costs CPU for
# nothing. Text (and anything not listed) is deflated.
STORED_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    }
)
MANIFEST_COLUMNS = ["path", "size", "sha256", "kind", "recorded_sha256", "status"]


class Superseded(Exception):
    """Another run of the same export claimed it: this run stops and keeps nothing."""


def export_days() -> int:
    return int(getattr(settings, "RECORD_EXPORT_DAYS", 7))


# --- requesting and reading exports ---------------------------------------------------------


def start_record_export(user: Any, *, filters: RecordFilters) -> RecordExport:
    """Queue an export of the records `user` may read (`record_scope`) matching `filters`.

    Atomic: the export row and its `export.requested` audit event (data: the filters and the
    number of records) commit together, and the job is enqueued on the "exports" queue only
    after the commit. Raises PermissionDenied when `user` may read no records.
    """
    scope = record_scope(user)
    with transaction.atomic():
        total = search_records(scope, filters).count()
        export = RecordExport.objects.create(
            requested_by=user, filters=filters.as_json(), total=total
        )
        record_event(
            "export.requested",
            export,
            actor=user,
            data={"filters": filters.as_json(), "total": total},
        )
        transaction.on_commit(lambda: enqueue(export.pk))
    return export


def enqueue(export_id: int) -> None:
    """Send the job to the "exports" queue, whatever the routing settings say."""
    from assessment.tasks import build_record_export as task

    task.apply_async(args=[export_id], queue=QUEUE)


def may_see_all_exports(user: Any) -> bool:
    return Role.ADMINISTRATOR in roles_of(user)


def access_record_export(user: Any, public_id: UUID) -> RecordExport:
    """The export, for the user who requested it or an administrator; Http404 otherwise."""
    exports = RecordExport.objects.select_related("requested_by")
    if not may_see_all_exports(user):
        exports = exports.filter(requested_by=user)
    export = exports.filter(public_id=public_id).first()
    if export is None:
        raise Http404("No such export.")
    return export


def is_expired(export: RecordExport, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return export.status == RecordExport.Status.EXPIRED or (
        export.expires_at is not None and export.expires_at <= now
    )


def archive_name(export: RecordExport) -> str:
    """The name the archive downloads as."""
    stamp = timezone.localtime(export.created_at).strftime("%Y%m%d-%H%M")
    return f"records-{stamp}-{str(export.public_id)[:8]}.zip"


# --- the archive ----------------------------------------------------------------------------


def _safe_part(text: str, fallback: str) -> str:
    """One path component: no separators, no dot-files, no control characters."""
    cleaned = "".join(
        "_" if c in '/\\:*?"<>|' or ord(c) < 32 or ord(c) == 127 else c for c in text
    ).strip(" .")
    return cleaned[:150] or fallback


def record_folder(record: Record) -> str:
    unit_code = _safe_part(record.unit.code, f"unit{record.unit.pk}")
    return f"records/{record.key.learner_id}-{unit_code}-{record.key.cohort_id}"


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or `name (2).ext`, `name (3).ext`... when a file of that name is already there."""
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    path = PurePosixPath(name)
    number = 2
    while True:
        candidate = f"{path.stem} ({number}){path.suffix}"
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
        number += 1


def _zip_time(moment: datetime | None) -> tuple[int, int, int, int, int, int]:
    local = timezone.localtime(moment or timezone.now())
    if local.year < 1980:  # the zip format starts in 1980
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


class Spool:
    """Text that grows as the archive does (manifests, events), kept in a temporary file."""

    def __init__(self) -> None:
        self.handle: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.count = 0

    def close(self) -> None:
        self.handle.close()


class ArchiveWriter:
    """Writes members into `zf`, each streamed and hashed, and records them in the manifest."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.csv_spool = Spool()
        self.json_spool = Spool()
        self.events_spool = Spool()
        self.csv = csv_writer(self.csv_spool.handle)
        self.csv.writerow(MANIFEST_COLUMNS)
        self.missing = 0
        self.files = 0

    def close(self) -> None:
        for spool in (self.csv_spool, self.json_spool, self.events_spool):
            spool.close()

    def _note(self, entry: dict[str, Any]) -> None:
        self.csv.writerow([entry.get(column, "") for column in MANIFEST_COLUMNS])
        spool = self.json_spool
        spool.handle.write(("," if spool.count else "") + "\n  ")
        spool.handle.write(json.dumps(entry, ensure_ascii=False))
        spool.count += 1

    def _info(self, path: str, moment: datetime | None, *, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(path, date_time=_zip_time(moment))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        return info

    def write_bytes(
        self, path: str, data: bytes, *, kind: str, compress: bool, moment: datetime | None = None
    ) -> None:
        with self.zf.open(self._info(path, moment, compress=compress), "w") as out:
            out.write(data)
        self.files += 1
        self._note(
            {
                "path": path,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "kind": kind,
                "recorded_sha256": "",
                "status": "ok",
            }
        )

    def write_stream(
        self,
        path: str,
        source: IO[bytes],
        *,
        kind: str,
        compress: bool,
        moment: datetime | None = None,
        large: bool = False,
    ) -> tuple[int, str]:
        digest = hashlib.sha256()
        size = 0
        info = self._info(path, moment, compress=compress)
        with self.zf.open(info, "w", force_zip64=large) as out:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        self.files += 1
        return size, digest.hexdigest()

    def write_evidence(self, path: str, evidence: Evidence) -> None:
        entry: dict[str, Any] = {
            "path": path,
            "kind": "evidence",
            "recorded_sha256": evidence.sha256,
            "evidence_id": evidence.pk,
        }
        try:
            source = evidence.file.open("rb")
        except (OSError, ValueError):
            # Gone from storage: the archive says so rather than failing the whole export.
            self.missing += 1
            self._note({**entry, "size": "", "sha256": "", "status": "missing"})
            return
        with source:
            size, sha256 = self.write_stream(
                path,
                source,
                kind="evidence",
                compress=evidence.content_type not in STORED_TYPES,
                moment=evidence.uploaded_at,
                large=evidence.size > 2**31,
            )
        status = "ok" if sha256 == evidence.sha256 else "mismatch"
        self._note({**entry, "size": size, "sha256": sha256, "status": status})

    def add_events(self, events: Sequence[Any], key: RecordKey) -> None:
        spool = self.events_spool
        for event in events:
            spool.handle.write(("," if spool.count else "") + "\n  ")
            data = {**event_json(event), "learner_id": key.learner_id, "unit_id": key.unit_id}
            spool.handle.write(json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder))
            spool.count += 1

    def _copy_spool(self, path: str, spool: Spool, head: str, tail: str, *, kind: str) -> None:
        spool.handle.flush()
        spool.handle.seek(0)
        digest = hashlib.sha256()
        size = 0
        with self.zf.open(self._info(path, None, compress=True), "w", force_zip64=True) as out:
            for piece in _pieces(head, spool.handle, tail):
                data = piece.encode("utf-8")
                digest.update(data)
                out.write(data)
                size += len(data)
        self.files += 1
        if kind:
            self._note(
                {
                    "path": path,
                    "size": size,
                    "sha256": digest.hexdigest(),
                    "kind": kind,
                    "recorded_sha256": "",
                    "status": "ok",
                }
            )

    def finish(self, export: RecordExport) -> None:
        """The root files: the audit events, then the two manifests of everything else."""
        generated = timezone.now().isoformat()
        self._copy_spool(
            "audit-events.json",
            self.events_spool,
            '{\n"generated_at": ' + json.dumps(generated) + ',\n"events": [',
            "\n]\n}\n",
            kind="audit-events",
        )
        self._copy_spool("manifest.csv", self.csv_spool, "", "", kind="")
        head = {
            "export": str(export.public_id),
            "generated_at": generated,
            "filters": export.filters,
            "records": export.total,
            "missing_files": self.missing,
            "note": "manifest.csv and manifest.json list every other file of the archive",
        }
        opening = json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "files": ['
        self._copy_spool("manifest.json", self.json_spool, opening, "\n ]\n}\n", kind="")


def _pieces(head: str, handle: IO[str], tail: str) -> Iterator[str]:
    yield head
    while piece := handle.read(CHUNK):
        yield piece
    yield tail


def write_record(writer: ArchiveWriter, record: Record, document: bytes, pdf: bytes) -> None:
    """One record's folder: its JSON (`document`), its PDF (carrying the same JSON), its
    evidence."""
    folder = record_folder(record)
    writer.write_bytes(f"{folder}/record.json", document, kind="record-json", compress=True)
    writer.write_bytes(f"{folder}/record.pdf", pdf, kind="record-pdf", compress=False)
    taken: dict[int, set[str]] = {}
    for entry in record.tasks:
        for attempt in entry["attempts"]:
            number = attempt["attempt"].number
            for evidence in attempt["evidence"]:
                names = taken.setdefault(number, set())
                name = _unique(_safe_part(evidence.original_name, f"file-{evidence.pk}"), names)
                writer.write_evidence(f"{folder}/evidence/{number}/{name}", evidence)


@dataclass(frozen=True)
class _Pending:
    handle: Any  # .get(timeout) -> the PDF's bytes
    generated: datetime


@dataclass
class _Batch:
    """One batch of records ready to pack: each with its JSON and its PDF, stored bytes or a
    render under way."""

    records: list[Record]
    documents: list[bytes]
    states: list[str]
    pdfs: list[bytes | _Pending]  # stored bytes, or a render under way
    loaded_at: datetime


def _prepare(keys: Sequence[RecordKey], renderer: PdfRenderer, identity: str) -> _Batch:
    """Load a batch, find its stored PDFs that are the records' present state, and start
    rendering the others. A fixed number of queries whatever the batch's size."""
    loaded_at = timezone.now()
    records = load_records(keys)
    documents = [json_bytes(record_json(record)) for record in records]
    states = [
        fingerprint(record, document, renderer=identity)
        for record, document in zip(records, documents, strict=True)
    ]
    stored = stored_pdfs({r.key: state for r, state in zip(records, states, strict=True)})
    pdfs: list[Any] = []
    for record, document in zip(records, documents, strict=True):
        row = stored.get(record.key)
        data = read_stored(row) if row is not None else None
        if data is None:
            job = prepare_render(record, document=document, generated=timezone.now())
            pdfs.append(_Pending(renderer.submit(job), job.generated))
        else:
            pdfs.append(data)
    return _Batch(records, documents, states, pdfs, loaded_at)


def _batches(keys: Sequence[RecordKey], size: int) -> Iterator[Sequence[RecordKey]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


# --- the job --------------------------------------------------------------------------------


def claim_export(
    export_id: int, *, take_over: bool = False, now: datetime | None = None
) -> int | None:
    """Claim the export for this run: the run number, or None when it is finished or another
    worker is running it (its heartbeat is recent, unless `take_over`: the broker redelivered
    the job because the worker that had it died). One conditional UPDATE, so two workers given
    the same job cannot both claim it."""
    now = now or timezone.now()
    stale = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=now - HEARTBEAT_GRACE)
    running = Q(status=RecordExport.Status.RUNNING) & (Q() if take_over else stale)
    claimable = Q(status=RecordExport.Status.QUEUED) | running
    claimed = RecordExport.objects.filter(claimable, pk=export_id).update(
        status=RecordExport.Status.RUNNING,
        runs=F("runs") + 1,
        started_at=now,
        heartbeat_at=now,
        done=0,
        missing_files=0,
        error="",
    )
    if not claimed:
        return None
    return int(RecordExport.objects.values_list("runs", flat=True).get(pk=export_id))


def _current(export_id: int, run: int) -> Any:
    return RecordExport.objects.filter(pk=export_id, runs=run, status=RecordExport.Status.RUNNING)


def build_record_export(export_id: int, *, take_over: bool = False) -> str:
    """Build the archive of export `export_id` (the Celery task's body); returns its status.

    Idempotent: a finished, failed or expired export is left as it is, and one another worker
    is running (recent heartbeat) is left to it unless `take_over`. Progress (`done`,
    `missing_files`, `heartbeat_at`) is written after each batch, and within a batch at most
    every `PROGRESS_EVERY` seconds. Any error marks the export failed with the message and
    writes an `export.failed` audit event; success writes `export.finished`.
    """
    run = claim_export(export_id, take_over=take_over)
    if run is None:
        status = RecordExport.objects.filter(pk=export_id).values_list("status", flat=True)
        return str(status.first() or "missing")
    export = RecordExport.objects.select_related("requested_by").get(pk=export_id)
    try:
        _build(export, run)
    except Superseded:
        logger.info("export %s: run %s was superseded by a later run", export.pk, run)
        return "superseded"
    except Exception as exc:
        logger.exception("export %s failed", export.pk)
        _fail(export, run, exc)
        return str(RecordExport.Status.FAILED)
    return str(RecordExport.Status.DONE)


def _build(export: RecordExport, run: int) -> None:
    scope = record_scope(export.requested_by)
    filters = RecordFilters.from_json(export.filters)
    keys = [row_key(row) for row in search_records(scope, filters).iterator(chunk_size=2000)]
    if not _current(export.pk, run).update(total=len(keys), heartbeat_at=timezone.now()):
        raise Superseded
    export.total = len(keys)
    storage = export.archive.storage
    tmp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    identity = renderer_identity()
    with tempfile.TemporaryFile(dir=tmp_dir, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as zf, PdfRenderer() as renderer:
            writer = ArchiveWriter(zf)
            try:
                state = _Packing(export.pk, run, writer)
                # A batch ahead: the pool renders the next batch's missing PDFs while this
                # process packs the one before.
                waiting: _Batch | None = None
                for batch in _batches(keys, BATCH_SIZE):
                    prepared = _prepare(batch, renderer, identity)
                    if waiting is not None:
                        state.pack(waiting)
                    waiting = prepared
                if waiting is not None:
                    state.pack(waiting)
                writer.finish(export)
            finally:
                writer.close()
        size = tmp.tell()
        tmp.seek(0)
        digest = hashlib.sha256()
        while chunk := tmp.read(CHUNK):
            digest.update(chunk)
        tmp.seek(0)
        name = storage.save(f"exports/{archive_name(export)}", File(tmp, name="archive.zip"))
    _finish(export, run, name=name, size=size, sha256=digest.hexdigest(), missing=writer.missing)


class _Packing:
    """Writes prepared batches in order, reports progress as records are packed (not as they
    are loaded or rendered), and stores the PDFs this export had to render."""

    def __init__(self, export_id: int, run: int, writer: ArchiveWriter) -> None:
        self.export_id, self.run, self.writer = export_id, run, writer
        self.seen: set[tuple[int, int]] = set()
        self.done = 0
        self.reported = time.monotonic()

    def pack(self, batch: _Batch) -> None:
        rendered = []
        count = len(batch.records)
        for number, (record, document, state, pdf) in enumerate(
            zip(batch.records, batch.documents, batch.states, batch.pdfs, strict=True), start=1
        ):
            if isinstance(pdf, _Pending):
                data: bytes = pdf.handle.get(timeout=RENDER_TIMEOUT_SECONDS)
                rendered.append(Rendered(record.key, state, data, pdf.generated))
            else:
                data = pdf
            write_record(self.writer, record, document, data)
            pair = (record.key.learner_id, record.key.unit_id)
            if pair not in self.seen:  # events belong to a learner and unit
                self.seen.add(pair)
                self.writer.add_events(record.events, record.key)
            if number == count or time.monotonic() - self.reported >= PROGRESS_EVERY:
                _progress(self.export_id, self.run, self.done + number, self.writer.missing)
                self.reported = time.monotonic()
        self.done += count
        store_pdfs(rendered, loaded_at=batch.loaded_at)


def _progress(export_id: int, run: int, done: int, missing: int) -> None:
    updated = _current(export_id, run).update(
        done=done, missing_files=missing, heartbeat_at=timezone.now()
    )
    if not updated:
        raise Superseded


def _finish(
    export: RecordExport, run: int, *, name: str, size: int, sha256: str, missing: int
) -> None:
    now = timezone.now()
    with transaction.atomic():
        finished = _current(export.pk, run).update(
            status=RecordExport.Status.DONE,
            archive=name,
            size=size,
            sha256=sha256,
            done=export.total,
            missing_files=missing,
            heartbeat_at=now,
            finished_at=now,
            expires_at=now + timedelta(days=export_days()),
        )
        if finished:
            record_event(
                "export.finished",
                export,
                actor=None,
                data={
                    "requested_by": export.requested_by_id,
                    "records": export.total,
                    "missing_files": missing,
                    "size": size,
                    "sha256": sha256,
                    "run": run,
                },
            )
    if not finished:
        export.archive.storage.delete(name)
        raise Superseded


def _fail(export: RecordExport, run: int, exc: BaseException) -> None:
    message = (str(exc) or type(exc).__name__)[:2000]
    with transaction.atomic():
        failed = _current(export.pk, run).update(
            status=RecordExport.Status.FAILED,
            error=message,
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
        if failed:
            record_event(
                "export.failed",
                export,
                actor=None,
                data={"requested_by": export.requested_by_id, "error": message, "run": run},
            )


# --- housekeeping ---------------------------------------------------------------------------


def stale_exports(*, now: datetime | None = None) -> list[int]:
    """Exports whose job seems lost: running without a heartbeat for `STALE_AFTER`, or queued
    for that long."""
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    running = Q(status=RecordExport.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    queued = Q(status=RecordExport.Status.QUEUED, created_at__lt=cutoff)
    return list(RecordExport.objects.filter(running | queued).values_list("pk", flat=True))


def resume_stale_exports(*, now: datetime | None = None) -> int:
    """Enqueue again every stale export (see `stale_exports`); the job claims it again and
    starts its archive from scratch. Returns how many."""
    found = stale_exports(now=now)
    for export_id in found:
        enqueue(export_id)
    return len(found)


def expire_record_exports(*, now: datetime | None = None) -> int:
    """Delete the archives of finished exports past `expires_at` and mark them expired."""
    now = now or timezone.now()
    expired = 0
    due = RecordExport.objects.filter(status=RecordExport.Status.DONE, expires_at__lte=now)
    for export in due.only("pk", "archive"):
        name = export.archive.name
        if RecordExport.objects.filter(pk=export.pk, status=RecordExport.Status.DONE).update(
            status=RecordExport.Status.EXPIRED, archive=""
        ):
            if name:
                export.archive.storage.delete(name)
            expired += 1
    return expired


def open_archive(export: RecordExport) -> IO[bytes]:
    handle: IO[bytes] = export.archive.storage.open(export.archive.name or "", "rb")
    return handle
