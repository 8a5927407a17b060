"""Evidence rows: storing a file privately with its SHA-256 and recording it, withdrawing and
moving a learner's files, and the staging area of resumable (tus) uploads. The room's door:
what other rooms and the app's modules need of evidence is here, passed on from `files`
(sniffing, limits), `rules` (what a question asks for) and `previews` (viewing copies).

Rules kept here (DESIGN.md, "Rules that hold everywhere"):
- the type is sniffed from the content against an allow-list, never taken from the name or the
  browser; active content (SVG, HTML, XML, programs, macros) is refused with a clear message;
- files are stored through Django's storage API under random keys, so nothing is overwritten;
- the row and its `evidence.added` audit event are written in one transaction;
- what the assessor views of a photo is a re-encoded copy without location or other metadata;
  the original is kept untouched for the record.

Staging of resumable uploads: each upload in progress is two files in `staging_dir()` named by
an unguessable id: `<id>.part` (the bytes so far: its size is the offset, so the offset can never
disagree with the data) and `<id>.json` (owner, attempt, item, display name, length, and once
complete the evidence id). Nothing a request needs is held in a process between requests, so
any web process that can see the folder can continue an upload. The SHA-256 is computed as the
bytes arrive, on a second thread beside the copy; its state stays in the process that served
the last PATCH (hashlib objects neither pickle nor cross processes), and when the next PATCH
lands elsewhere the staged file is simply hashed from disk on completion. Staged bytes leave
the page cache a few MB behind the end of the file (`_drop_behind`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from assessment.audit.services import record_event
from assessment.evidence import video
from assessment.evidence.files import (
    BUFFER_BYTES,
    DOCX,
    DROP_BEHIND_BYTES,
    INLINE_TYPES,
    PPTX,
    SNIFF_BYTES,
    SUBMITTED_MESSAGE,
    THUMBNAIL_PX,
    THUMBNAIL_TYPE,
    XLSX,
    ZIP_MAGIC,
    EmptyFile,
    FileTooLarge,
    ImageTooLarge,
    OffsetMismatch,
    StagedFile,
    TooManyUploads,
    UnsupportedFileType,
    UploadBusy,
    check_start,
    clean_name,
    digest,
    has_viewing_copy,
    max_open_uploads,
    max_upload_bytes,
    preview_type,
    signature_type,
    sniff,
    staging_dir,
)
from assessment.evidence.previews import make_previews
from assessment.evidence.rules import (
    check_item_evidence,
    evidence_rule,
    find_item,
    hint_problem,
    media_length,
)
from assessment.models import Attempt, Evidence, Item
from assessment.signals import record_changed
from delivery.records import RecordKey

logger = logging.getLogger(__name__)

# The room's door: what the rest of assessment uses of evidence, its own functions and those of
# files, rules and previews it passes on (tests/test_layering.py: other rooms come in here).
__all__ = [
    "BUFFER_BYTES",
    "DOCX",
    "DROP_BEHIND_BYTES",
    "INLINE_TYPES",
    "PPTX",
    "SNIFF_BYTES",
    "SUBMITTED_MESSAGE",
    "THUMBNAIL_PX",
    "THUMBNAIL_TYPE",
    "XLSX",
    "EmptyFile",
    "FileTooLarge",
    "ImageTooLarge",
    "OffsetMismatch",
    "PartialUpload",
    "Readable",
    "TooManyUploads",
    "UnsupportedFileType",
    "UploadBusy",
    "access_upload",
    "active_evidence",
    "add_evidence",
    "append_to_upload",
    "check_start",
    "clean_name",
    "digest",
    "discard_upload",
    "evidence_rule",
    "find_item",
    "hint_problem",
    "make_previews",
    "max_upload_bytes",
    "move_evidence",
    "open_uploads",
    "preview_type",
    "purge_stale_uploads",
    "sniff",
    "staging_dir",
    "start_upload",
    "withdraw_evidence",
]


def add_evidence(
    attempt: Attempt,
    *,
    uploaded_by: Any,
    name: str,
    content: File | IO[bytes] | Path,
    item: Item | None = None,
    require_draft: bool = True,
    known_digest: tuple[str, int] | None = None,
) -> Evidence:
    """Check, store and record one evidence file of `attempt`, and make the viewing copies of a
    photo, a video or an M4A recording.

    - The type is sniffed from the content (`sniff`); the name is only cleaned for display.
    - SHA-256 and size are computed by streaming; over `max_upload_bytes()` is refused.
      `known_digest` (SHA-256 hex, size) is the hash the tus staging computed as the bytes of
      a `Path` arrived; it is used only when the file on disk has exactly that size, and the
      file is hashed again otherwise.
    - The file is stored through default storage under a random key (never overwriting), then
      the row and its `evidence.added` audit event are written in one transaction that locks the
      attempt and, with `require_draft` (learners; not assessors' observation photos), checks it
      is still a draft. If that transaction fails, the stored file is deleted again.
    - `content` as a `Path` is a local file that local storage may move into place (it is then
      gone); callers remove whatever is left of it. Other content is copied.
    - Photo previews are made once the row's transaction is done (call this outside any outer
      transaction); their failure never fails the upload.

    Who may add is the caller's check (permissions.access_attempt). Raises ValidationError:
    EmptyFile, FileTooLarge, UnsupportedFileType, an item of another task, a submitted attempt.
    """
    if item is not None and item.task_id != attempt.task_id:
        raise ValidationError("That question belongs to another task.", code="no_item")
    if require_draft and attempt.status != Attempt.Status.DRAFT:
        raise ValidationError(SUBMITTED_MESSAGE, code="submitted")
    display_name = clean_name(name)
    with contextlib.ExitStack() as stack:
        if isinstance(content, Path):
            fileobj: File = stack.enter_context(StagedFile(content.open("rb"), name=str(content)))
        elif isinstance(content, File):
            fileobj = content
        else:
            fileobj = File(content)
        content_type = sniff(fileobj)
        check_item_evidence(item, content_type, length=media_length(fileobj, content_type))
        if (
            known_digest is not None
            and isinstance(content, Path)
            and os.fstat(fileobj.fileno()).st_size == known_digest[1]
        ):
            sha256, size = known_digest
        else:
            sha256, size = digest(fileobj)
        if size > max_upload_bytes():
            raise FileTooLarge(size, max_upload_bytes())
        fileobj.seek(0)
        evidence = Evidence(
            attempt=attempt,
            item=item,
            original_name=display_name,
            size=size,
            sha256=sha256,
            content_type=content_type,
            uploaded_by=uploaded_by,
        )
        # Stored by hand rather than with `evidence.file.save`, to know the name: a disk that
        # fills up part-way through leaves what was written, which is removed again.
        field, storage = evidence.file.field, evidence.file.storage
        key = field.generate_filename(evidence, display_name)
        try:
            evidence.file = storage.save(key, fileobj, max_length=field.max_length)
        except OSError:
            with contextlib.suppress(OSError):
                storage.delete(key)
            raise
    try:
        with transaction.atomic():
            locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
            if require_draft and locked.status != Attempt.Status.DRAFT:
                raise ValidationError(SUBMITTED_MESSAGE, code="submitted")
            evidence.uploaded_at = timezone.now()
            evidence.save()
            record_event(
                "evidence.added",
                evidence,
                actor=uploaded_by,
                learner=attempt.learner,
                unit=attempt.task.unit,
                data={
                    "attempt": attempt.pk,
                    "item": item.key if item else None,
                    "name": display_name,
                    "size": size,
                    "sha256": sha256,
                    "content_type": content_type,
                },
            )
            _changed(attempt)
    except BaseException:
        evidence.file.delete(save=False)
        raise
    if has_viewing_copy(content_type):
        # In the request for now: photos are small, and a video's copy is made in the kernel
        # (copy_file_range) at disk speed. A Celery task can call this by id instead.
        try:
            make_previews(evidence.pk)
        except Exception:
            logger.exception("could not make the viewing copy of evidence %s", evidence.pk)
        evidence.refresh_from_db(fields=["preview", "thumbnail"])
    return evidence


def _lock_draft_file(evidence: Evidence, *, removed: str) -> tuple[Attempt, Evidence]:
    """The opening of a learner's change to a file of their draft, inside its transaction:
    the attempt's row locked (only that row: see services.save_answers) and still a draft, and
    the file's row locked and not removed (`removed`: the message when it was)."""
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("task__unit", "learner")
        .get(pk=evidence.attempt_id)
    )
    if attempt.status != Attempt.Status.DRAFT:
        raise ValidationError(SUBMITTED_MESSAGE, code="submitted")
    current = Evidence.objects.select_for_update().get(pk=evidence.pk)
    if current.withdrawn_at is not None:
        raise ValidationError(removed, code="withdrawn")
    return attempt, current


def withdraw_evidence(evidence: Evidence, *, by: Any) -> Evidence:
    """The learner removes a file from their draft: it disappears from the attempt, the stored
    file and row stay for the record. One transaction, locking the attempt; writes
    `evidence.withdrawn`. Raises ValidationError when the attempt is no longer a draft or the
    file was already removed. Who may is the caller's check (access_attempt with write)."""
    with transaction.atomic():
        attempt, current = _lock_draft_file(evidence, removed="That file was already removed.")
        current.withdrawn_at = timezone.now()
        current.save(update_fields=["withdrawn_at"])
        record_event(
            "evidence.withdrawn",
            current,
            actor=by,
            learner=attempt.learner,
            unit=attempt.task.unit,
            data={"attempt": attempt.pk, "name": current.original_name, "sha256": current.sha256},
        )
        _changed(attempt)
    evidence.withdrawn_at = current.withdrawn_at
    return evidence


def move_evidence(evidence: Evidence, *, item: Item | None, by: Any) -> Evidence:
    """The learner attaches a file of their draft to another question (`item`), or to the
    attempt as a whole (None). One transaction, locking the attempt; writes `evidence.moved`.
    Raises ValidationError when the attempt is no longer a draft, the file was removed, the
    question belongs to another task or cannot use this kind of file (check_item_evidence).
    Who may is the caller's check (access_attempt with write)."""
    with transaction.atomic():
        attempt, current = _lock_draft_file(
            evidence, removed="That file was removed from the attempt."
        )
        if item is not None and item.task_id != attempt.task_id:
            raise ValidationError("That question belongs to another task.", code="no_item")
        if current.item_id == (item.pk if item else None):
            return current
        if item is not None:
            with contextlib.ExitStack() as stack:
                length = None
                if current.content_type in video.ISO_BMFF_TYPES:
                    length = media_length(
                        stack.enter_context(current.file.open("rb")), current.content_type
                    )
                check_item_evidence(item, current.content_type, length=length)
        before = current.item
        current.item = item
        current.save(update_fields=["item"])
        record_event(
            "evidence.moved",
            current,
            actor=by,
            learner=attempt.learner,
            unit=attempt.task.unit,
            data={
                "attempt": attempt.pk,
                "name": current.original_name,
                "sha256": current.sha256,
                "from": before.key if before else None,
                "to": item.key if item else None,
            },
        )
        _changed(attempt)
    return current


def _changed(attempt: Attempt) -> None:
    """Inside the change's transaction: the record's PDF shows its evidence (`record_changed`)."""
    key = RecordKey(attempt.learner_id, attempt.cohort_id, attempt.task.unit_id)
    record_changed.send(sender=Evidence, key=key, reason="evidence")


def active_evidence(attempt: Attempt) -> QuerySet[Evidence]:
    """The files of an attempt that were not removed, oldest first."""
    return attempt.evidence.filter(withdrawn_at__isnull=True).select_related("item")


# Staging of resumable uploads -----------------------------------------------------------------


_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{32}")


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class _HashStates:
    """The SHA-256 states of this process's uploads in progress, so that each byte is hashed
    once, as it arrives, instead of the whole file being read again on completion.

    A state is kept with the offset it covers and taken only by the PATCH that continues at
    exactly that offset, under the upload's lock. A PATCH served by another process in between
    (the staging area is shared, hash states are not: hashlib objects neither pickle nor
    cross processes) leaves it behind at an old offset, so it is never used again and the file
    is hashed from disk on completion, as before. Bounded: the oldest states are dropped first.
    """

    def __init__(self, limit: int = 256) -> None:
        self._states: dict[str, tuple[int, Any]] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int) -> Any:
        with self._lock:
            kept = self._states.pop(upload_id, None)
        if kept is not None and kept[0] == offset:
            return kept[1]
        return hashlib.sha256() if offset == 0 else None

    def keep(self, upload_id: str, offset: int, sha: Any) -> None:
        with self._lock:
            self._states[upload_id] = (offset, sha)
            while len(self._states) > self._limit:
                del self._states[next(iter(self._states))]

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._states.pop(upload_id, None)


_hash_states = _HashStates()
# Hashing runs beside the copy of the next chunk (hashlib and os.write both release the GIL),
# on a core the request's thread is not using. One task per upload in flight at a time.
_hasher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="evidence-sha256")


@dataclass
class PartialUpload:
    """One upload in progress (or just finished), as recorded in its sidecar."""

    id: str
    owner_id: int
    attempt_id: int
    item_id: int | None
    name: str
    length: int
    created_at: str
    evidence_id: int | None = None

    @property
    def part_path(self) -> Path:
        return staging_dir() / f"{self.id}.part"

    @property
    def info_path(self) -> Path:
        return staging_dir() / f"{self.id}.json"

    @property
    def complete(self) -> bool:
        return self.evidence_id is not None

    @property
    def offset(self) -> int:
        if self.complete:
            return self.length
        return self.part_path.stat().st_size

    def save(self) -> None:
        # Written aside and renamed, so a reader never sees half a sidecar.
        tmp = self.info_path.with_suffix(f".{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text(json.dumps(asdict(self)))
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        tmp.replace(self.info_path)


def _load(upload_id: str) -> PartialUpload | None:
    if not _UPLOAD_ID.fullmatch(upload_id):
        return None
    try:
        return PartialUpload(**json.loads((staging_dir() / f"{upload_id}.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):  # gone, half-written or from another version
        return None


def start_upload(
    attempt: Attempt, *, owner: Any, name: str, length: int, item: Item | None = None
) -> PartialUpload:
    """Open a resumable upload of `length` bytes into `attempt` (the caller checked the owner
    may write it). Raises EmptyFile, FileTooLarge or ValidationError before anything is stored."""
    if length <= 0:
        raise EmptyFile()
    if length > max_upload_bytes():
        raise FileTooLarge(length, max_upload_bytes())
    if item is not None and item.task_id != attempt.task_id:
        raise ValidationError("That question belongs to another task.", code="no_item")
    if open_uploads(owner) >= max_open_uploads():
        raise TooManyUploads(max_open_uploads())
    upload = PartialUpload(
        id=secrets.token_urlsafe(24),
        owner_id=owner.pk,
        attempt_id=attempt.pk,
        item_id=item.pk if item else None,
        name=clean_name(name),
        length=length,
        created_at=timezone.now().isoformat(),
    )
    fd = os.open(upload.part_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        upload.save()
    except OSError:  # a full disk: no upload without its sidecar is left behind
        upload.part_path.unlink(missing_ok=True)
        raise
    return upload


def open_uploads(owner: Any) -> int:
    """How many unfinished uploads `owner` holds in the staging area (abandoned ones count until
    purge_stale_uploads removes them, or the learner cancels them). Reads every sidecar: the
    staging area holds only uploads in progress or finished within the last days.

    A check, not a lock: two creations at the very same moment may both pass it."""
    count = 0
    for info in staging_dir().glob("*.json"):
        upload = _load(info.stem)
        if upload is not None and upload.owner_id == owner.pk and not upload.complete:
            count += 1
    return count


def access_upload(user: Any, upload_id: str) -> PartialUpload:
    """An upload in progress of this user; anyone else's, or one gone, is Http404."""
    upload = _load(upload_id)
    if upload is None or upload.owner_id != getattr(user, "pk", None):
        raise Http404("No such upload: it may have expired. Choose the file again.")
    if not upload.complete and not upload.part_path.exists():
        raise Http404("No such upload: it may have expired. Choose the file again.")
    return upload


def discard_upload(upload: PartialUpload) -> None:
    """Remove an upload's staged data and sidecar (tus termination, refusals, expiry)."""
    _hash_states.drop(upload.id)
    upload.part_path.unlink(missing_ok=True)
    upload.info_path.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked_part(upload: PartialUpload, offset: int) -> Iterator[int]:
    """The staged file open for appending, locked against every other process; UploadBusy when
    another request holds it, OffsetMismatch/Http404 when it finished or vanished meanwhile."""
    try:
        fd = os.open(upload.part_path, os.O_WRONLY | os.O_APPEND)
    except FileNotFoundError:
        raise _gone_or_done(upload.id, offset) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy() from None
        # Another request may have finished (and moved) the file between our open and our lock.
        try:
            same = os.stat(upload.part_path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            raise _gone_or_done(upload.id, offset)
        yield fd
    finally:
        os.close(fd)


def _gone_or_done(upload_id: str, offset: int) -> Exception:
    current = _load(upload_id)
    if current is not None and current.complete:
        return OffsetMismatch(offset, current.length)
    return Http404("No such upload: it may have expired. Choose the file again.")


def append_to_upload(
    upload: PartialUpload, *, user: Any, offset: int, stream: Readable, length: int
) -> PartialUpload:
    """Append one PATCH body of `length` bytes at `offset`, streamed in constant memory, and
    complete the upload when its last byte arrives.

    Holds an exclusive lock on the staged file for the whole request (UploadBusy otherwise).
    A wrong offset raises OffsetMismatch before anything is read; a body cut short keeps what
    arrived (the client asks HEAD and resumes). The first bytes are checked as soon as they are
    there (`check_start`), the whole file on completion (`add_evidence`); a refusal removes the
    staged data. Returns the upload with `evidence_id` set once complete.
    """
    if upload.complete:
        if offset == upload.length and length == 0:
            return upload
        raise OffsetMismatch(offset, upload.length)
    with _locked_part(upload, offset) as fd:
        current = os.fstat(fd).st_size
        if offset != current:
            raise OffsetMismatch(offset, current)
        if current + length > upload.length:
            raise ValidationError(
                f"This part would take the file past its declared {upload.length} bytes.",
                code="too_long",
            )
        # Taken out of the cache: if anything below raises, the state is dropped with it.
        sha = _hash_states.take(upload.id, current)
        written = _copy_body(stream, fd, length, sha, start=current)
        new_offset = current + written
        threshold = min(upload.length, SNIFF_BYTES)
        if current < threshold <= new_offset:
            with upload.part_path.open("rb") as staged:
                head = staged.read(SNIFF_BYTES)
            try:
                check_start(head, complete=new_offset == upload.length)
                _check_item_start(upload, head)
            except ValidationError:
                discard_upload(upload)
                raise
        if new_offset == upload.length:
            known = (sha.hexdigest(), new_offset) if sha is not None else None
            _complete(upload, user=user, known_digest=known)
        elif sha is not None:
            _hash_states.keep(upload.id, new_offset, sha)
    return upload


def _check_item_start(upload: PartialUpload, head: bytes) -> None:
    """Refuse a file of the wrong kind for its question from its first bytes (a JPEG for a
    video question), before the rest is sent. Office files and text are decided at the end."""
    if upload.item_id is None or head.startswith(ZIP_MAGIC):
        return
    mime = signature_type(head)
    item = Item.objects.filter(pk=upload.item_id).first()
    if mime is not None and item is not None:
        check_item_evidence(item, mime)


def _copy_body(stream: Readable, fd: int, length: int, sha: Any = None, *, start: int = 0) -> int:
    """Copy up to `length` bytes of a request body to `fd` (the staged file, `start` bytes long),
    feeding each chunk to `sha` (when given) while the next one is read and written; a dropped
    connection ends the copy and keeps what arrived. When a write fails, `sha` has seen bytes
    the file has not: the caller drops it (append_to_upload does, since the error propagates
    past its `keep`).

    Written bytes leave the page cache DROP_BEHIND_BYTES behind the end (`_drop_behind`)."""
    written = 0
    dropped_at = 0
    hashing: Future[None] | None = None
    try:
        while written < length:
            try:
                chunk = stream.read(min(BUFFER_BYTES, length - written))
            except OSError:
                # The client went away (gunicorn's NoMoreData, Django's UnreadablePostError).
                break
            if not chunk:
                break
            if sha is not None:
                if not isinstance(chunk, bytes):
                    chunk = bytes(chunk)  # the hash thread must see bytes nobody reuses
                if hashing is not None:
                    hashing.result()  # in order, and never more than two chunks held
                hashing = _hasher.submit(sha.update, chunk)
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
            written += len(chunk)
            if written - dropped_at >= DROP_BEHIND_BYTES:
                _drop_behind(fd, start + written - DROP_BEHIND_BYTES)
                dropped_at = written
    finally:
        if hashing is not None:
            hashing.result()
    return written


def _drop_behind(fd: int, end: int) -> None:
    """Ask the kernel to write back and evict the staged file's cached pages before `end`,
    except the first page (sniffed again on completion).

    A staged upload is written once and read again only on completion, if at all (a video's
    viewing copy, remote storage, or the hash when another process served a part), so keeping
    all of it cached (up to 2 GB a file, several uploads at once) buys little and pushes out
    what the server reads all the time. Evicted pages are reused by the next writes while still
    warm, where a growing cache keeps taking fresh ones: on the benchmark's VM, whose hypervisor
    takes back memory left free for a few seconds, writing 1 GB into fresh pages took 2.0 s and
    0.5 s this way (bench/upload.py: 5.3 s -> 3.1 s for the whole upload). The price: a video's
    viewing copy reads the original from disk instead of memory. Advice only
    (POSIX_FADV_DONTNEED starts writeback of dirty pages and drops clean ones): nothing is lost,
    and where it is not supported nothing changes.
    """
    if end > SNIFF_BYTES and hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, SNIFF_BYTES, end - SNIFF_BYTES, os.POSIX_FADV_DONTNEED)


def _complete(
    upload: PartialUpload, *, user: Any, known_digest: tuple[str, int] | None = None
) -> None:
    attempt = Attempt.objects.select_related("task__unit", "learner").get(pk=upload.attempt_id)
    item = Item.objects.filter(pk=upload.item_id).first() if upload.item_id else None
    # A second name for the staged bytes: storage may move the file into place and delete it
    # again when the transaction fails (the database went away), which lost the whole upload.
    kept: Path | None = upload.part_path.with_suffix(".kept")
    try:
        os.link(upload.part_path, upload.part_path.with_suffix(".kept"))
    except OSError:  # no hard links here: as before, a failure loses the staged bytes
        kept = None
    try:
        evidence = add_evidence(
            attempt,
            uploaded_by=user,
            name=upload.name,
            content=upload.part_path,
            item=item,
            known_digest=known_digest,
        )
    except ValidationError:
        if kept is not None:
            kept.unlink(missing_ok=True)
        discard_upload(upload)
        raise
    except BaseException:
        # Not recorded: the bytes go back, less the last one, so HEAD never tells the client
        # the upload is done (tus-js-client would stop there, with no evidence recorded); the
        # client sends that byte again and its PATCH completes the upload.
        if kept is not None:
            os.replace(kept, upload.part_path)
            os.truncate(upload.part_path, upload.length - 1)
        raise
    if kept is not None:
        kept.unlink(missing_ok=True)
    # Kept (without data) until purged, so a client whose last response was lost learns from
    # HEAD that the upload is complete instead of sending the file again.
    upload.evidence_id = evidence.pk
    try:
        upload.save()
    except OSError:
        # A disk full to the last byte: the evidence is recorded, so the upload succeeded (an
        # error would make the learner send it again). The stale sidecar goes, so it does not
        # count as open; only a client whose answer was lost, asking HEAD, misses the news.
        logger.warning(
            "upload %s is evidence %s; its sidecar was not saved", upload.id, evidence.pk
        )
        upload.info_path.unlink(missing_ok=True)
    upload.part_path.unlink(missing_ok=True)


def purge_stale_uploads(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Remove uploads untouched for `older_than` (abandoned, or finished long ago); returns how
    many. Meant for a periodic job (management command or Celery beat)."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for info in staging_dir().glob("*.json"):
        part = info.with_suffix(".part")
        try:
            touched = max(info.stat().st_mtime, part.stat().st_mtime if part.exists() else 0)
        except FileNotFoundError:
            continue
        if touched < cutoff:
            part.unlink(missing_ok=True)
            info.unlink(missing_ok=True)
            removed += 1
    for tmp in staging_dir().glob("*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()
    return removed
