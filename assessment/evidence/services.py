"""Evidence files: what a file really is, storing it privately with its SHA-256, the viewing
copies of photos, and the staging area of resumable (tus) uploads.

A separate module from services.py because the concern is self-contained and large (content
sniffing, streaming, images, a staging area on disk), and because the tus views, the plain
multipart form and assessors' observation photos all share it.

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
import io
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from PIL import Image, ImageOps
from pillow_heif import register_heif_opener

from assessment.audit.services import record_event
from assessment.evidence import video
from assessment.models import Attempt, Evidence, Item
from assessment.selectors import question_numbers

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_OPEN_UPLOADS = 10
DEFAULT_MAX_PIXELS = 50_000_000
# Streaming buffer: large enough to keep Python's per-call overhead out of the way, small enough
# that a busy server holds a few MiB per upload at most.
BUFFER_BYTES = 1024 * 1024
# How far behind the end of a staged upload its bytes stay in the page cache (_drop_behind):
# a few buffers, so that the kernel has started writing them back when they are let go.
DROP_BEHIND_BYTES = 8 * 1024 * 1024
# What the sniffer looks at; every signature we accept sits in the first few hundred bytes.
SNIFF_BYTES = 8192
PREVIEW_PX = 2048
THUMBNAIL_PX = 320
# Below Pillow's own decompression-bomb threshold (89 Mpx), which would only warn.
PREVIEW_MAX_PIXELS = 80_000_000

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# The allow-list, with the words the learner sees.
ACCEPTED_TYPES: dict[str, str] = {
    "image/jpeg": "JPEG photo",
    "image/png": "PNG image",
    "image/webp": "WebP image",
    "image/heic": "HEIC photo",
    "video/mp4": "MP4 video",
    "video/webm": "WebM video",
    "video/quicktime": "QuickTime video",
    "audio/mpeg": "MP3 audio",
    "audio/mp4": "M4A audio",
    "audio/ogg": "Ogg audio",
    "audio/wav": "WAV audio",
    "application/pdf": "PDF document",
    DOCX: "Word document",
    XLSX: "Excel workbook",
    PPTX: "PowerPoint presentation",
    "text/plain": "plain text",
}
ACCEPTED_SUMMARY = (
    "photos (JPEG, PNG, WebP, HEIC), video (MP4, WebM, QuickTime), audio (MP3, M4A, Ogg, WAV), "
    "PDF, Word, Excel, PowerPoint and plain text"
)
# Shown in the browser (images, players, the PDF viewer); everything else is downloaded.
INLINE_TYPES = frozenset(
    t for t in ACCEPTED_TYPES if t.split("/")[0] in {"image", "video", "audio"}
) | {"application/pdf"}
# Photos we can re-encode (Pillow has no HEIC decoder without a plugin).
PREVIEW_FORMATS: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
}
# Browsers cannot show HEIC (iPhone photos): Pillow reads it through pillow-heif, and its
# viewing copy is a JPEG.
register_heif_opener()
_VIEWING_FORMAT = {"HEIF": "JPEG"}
_VIEWING_TYPE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def preview_type(content_type: str) -> str:
    """The content type of the viewing copy of a file of `content_type` (an image re-encoded,
    or a video or M4A recording with its metadata boxes neutralised)."""
    if content_type in video.ISO_BMFF_TYPES:
        return content_type
    fmt = PREVIEW_FORMATS[content_type]
    return _VIEWING_TYPE[_VIEWING_FORMAT.get(fmt, fmt)]


def has_viewing_copy(content_type: str) -> bool:
    """Whether files of this type get a viewing copy without location metadata."""
    return content_type in PREVIEW_FORMATS or content_type in video.ISO_BMFF_TYPES


THUMBNAIL_TYPE = "image/jpeg"

_ALIASES = {"audio/x-wav": "audio/wav", "video/x-m4v": "video/mp4"}
_PROGRAMS = {
    "application/x-executable",
    "application/x-msdownload",
    "application/x-sharedlib",
    "application/wasm",
    "application/x-google-chrome-extension",
    "application/x-deb",
    "application/x-rpm",
}
_ZIP_MAGIC = b"PK\x03\x04"
_TEXT_CONTROLS_ALLOWED = frozenset("\t\n\r\f")


# Refusals -------------------------------------------------------------------------------------
# ValidationError subclasses, so callers that only know ValidationError still catch them all;
# the tus views turn each into its HTTP status.


class EmptyFile(ValidationError):
    def __init__(self) -> None:
        super().__init__("The file is empty: choose the file again.", code="empty")


class FileTooLarge(ValidationError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The file is {_human(size)}, over the {_human(limit)} limit for one file. "
            "Shorten or compress it (a lower video resolution), or split it into parts.",
            code="too_large",
        )


class UnsupportedFileType(ValidationError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="unsupported_type")


class OffsetMismatch(ValidationError):
    def __init__(self, sent: int, current: int) -> None:
        self.current = current
        super().__init__(
            f"This part starts at byte {sent} but the server has {current} bytes: "
            "ask for the offset (HEAD) and continue from there.",
            code="offset_mismatch",
        )


class UploadBusy(ValidationError):
    def __init__(self) -> None:
        super().__init__(
            "Another request is writing to this upload right now; try again in a moment.",
            code="busy",
        )


class TooManyUploads(ValidationError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You already have {limit} uploads in progress, the most one person may have at once."
            " Let one finish, or cancel one, then choose this file again.",
            code="too_many_uploads",
        )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.1f}".removesuffix(".0")


class ImageTooLarge(ValidationError):
    def __init__(self, width: int, height: int, limit: int) -> None:
        super().__init__(
            f"This image is {width:,} by {height:,} pixels"
            f" ({_megapixels(width * height)} megapixels); images of up to"
            f" {_megapixels(limit)} megapixels are accepted. Save a smaller copy"
            " (a phone photo is 12 to 50 megapixels) and upload that.",
            code="image_too_large",
        )


SUBMITTED_MESSAGE = "This attempt has been submitted, so files can no longer be added or removed."


def max_upload_bytes() -> int:
    """The largest file a learner may upload (`EVIDENCE_MAX_BYTES`, default 2 GiB)."""
    return int(getattr(settings, "EVIDENCE_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_open_uploads() -> int:
    """How many unfinished resumable uploads one person may hold at once
    (`EVIDENCE_MAX_OPEN_UPLOADS`, default 10): each reserves up to `max_upload_bytes()`."""
    return int(getattr(settings, "EVIDENCE_MAX_OPEN_UPLOADS", DEFAULT_MAX_OPEN_UPLOADS))


def max_image_pixels() -> int:
    """The largest photo accepted, in pixels (`EVIDENCE_MAX_PIXELS`, default 50 megapixels):
    below PREVIEW_MAX_PIXELS, so every photo accepted gets a viewing copy and no browser is
    asked to decode one the server would not."""
    return int(getattr(settings, "EVIDENCE_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# Names --------------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """A safe display name: the last part of any path (a browser or a client may send
    `C:\\Users\\...` or `../../x`), without control or invisible formatting characters
    (a right-to-left override can make `cod.exe` read as `exe.doc`), whitespace collapsed,
    no leading dots, at most 200 characters keeping the extension. Never used as a storage key.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).lstrip(". ")
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: 199 - len(ext)]}.{ext}" if dot and len(ext) <= 16 else name[:200]
    return name or "evidence"


# Sniffing -----------------------------------------------------------------------------------


def _refuse_unknown() -> UnsupportedFileType:
    return UnsupportedFileType(
        "This file is not one of the accepted types (its content was checked, not its name). "
        f"Accepted: {ACCEPTED_SUMMARY}."
    )


def _refuse(mime: str) -> UnsupportedFileType:
    if mime in _PROGRAMS:
        what = "a program"
    elif mime == "application/zip":
        what = "a zip archive"
    else:
        what = f"of type {mime}"
    return UnsupportedFileType(
        f"This file is {what}, whatever its name says, and is not accepted. "
        f"Accepted: {ACCEPTED_SUMMARY}. For an archive, upload the files inside it."
    )


def _text_type(head: bytes, *, complete: bool) -> str:
    """Plain UTF-8 text, refusing markup: SVG, HTML and XML can carry scripts when a browser
    renders them, and the evidence never needs them (a drawing is accepted as PNG or PDF)."""
    body = head.removeprefix(b"\xef\xbb\xbf")
    start = body.lstrip()[:1024].lower()
    if start.startswith(b"<"):
        if b"<svg" in body.lower():
            raise UnsupportedFileType(
                "SVG drawings can carry scripts and are not accepted: "
                "export the drawing as PNG or PDF."
            )
        raise UnsupportedFileType(
            "HTML and XML files can carry scripts and are not accepted: save it as PDF instead."
        )
    if b"\x00" in body:
        raise _refuse_unknown()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end in the middle of a character; anything else is not UTF-8 text.
        if complete or exc.start < len(body) - 3 or exc.reason != "unexpected end of data":
            raise _refuse_unknown() from None
        text = body[: exc.start].decode("utf-8")
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS_ALLOWED for ch in text):
        raise _refuse_unknown()
    return "text/plain"


def _office_type(fileobj: IO[bytes]) -> str:
    """Word, Excel or PowerPoint (Office Open XML) from the zip's directory; a plain zip, a
    macro-enabled document or a broken archive is refused."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse_unknown() from None
    if "[Content_Types].xml" not in names:
        raise _refuse("application/zip")
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise UnsupportedFileType(
            "Office files with macros are not accepted: save it as a .docx, .xlsx or .pptx."
        )
    for prefix, mime in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
        if any(name.startswith(prefix) for name in names):
            return mime
    raise _refuse("application/zip")


def _signature_type(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    return _ALIASES.get(mime, mime)


def check_pixels(fileobj: IO[bytes], mime: str) -> None:
    """Refuse a photo of more than `max_image_pixels()` (ImageTooLarge), from its header alone:
    Pillow reads the size without decoding a pixel, so a 30,000 x 30,000 PNG of under 1 MB
    costs nothing to refuse. On the first bytes of an upload (check_start), a header not all
    there yet is left for the check of the whole file (sniff); so is one Pillow cannot read."""
    fmt = PREVIEW_FORMATS.get(mime)
    if fmt is None:
        return
    fileobj.seek(0)
    Image.init()
    # The format's own reader, as Image.open uses it, without Image.open's bomb check: that
    # would refuse past 179 Mpx before telling us the size.
    factory = Image.OPEN[fmt][0]
    try:
        with factory(fileobj, "") as image:
            width, height = image.size
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError):
        # A header not all there yet, or not one Pillow reads: the upload goes on as sniffed,
        # and such a photo gets no viewing copy, so it is never shown inline.
        return
    finally:
        fileobj.seek(0)
    if width * height > max_image_pixels():
        raise ImageTooLarge(width, height, max_image_pixels())


def check_start(head: bytes, *, complete: bool = False) -> None:
    """Refuse early, from the first bytes alone, what can never be accepted (a program renamed
    `.pdf`), so a learner is told before sending 2 GB of it. Zips are decided at the end."""
    if not head:
        raise EmptyFile()
    if head.startswith(_ZIP_MAGIC):
        return
    mime = _signature_type(head)
    if mime is None:
        _text_type(head, complete=complete)
    elif mime not in ACCEPTED_TYPES:
        raise _refuse(mime)
    else:
        check_pixels(io.BytesIO(head), mime)


def sniff(fileobj: IO[bytes]) -> str:
    """The accepted MIME type of a whole (seekable) file, from its content; raises EmptyFile or
    UnsupportedFileType with a message for the learner."""
    fileobj.seek(0)
    head = fileobj.read(SNIFF_BYTES)
    if not head:
        raise EmptyFile()
    if head.startswith(_ZIP_MAGIC):
        return _office_type(fileobj)
    mime = _signature_type(head)
    if mime is None:
        return _text_type(head, complete=len(head) < SNIFF_BYTES)
    if mime not in ACCEPTED_TYPES:
        raise _refuse(mime)
    check_pixels(fileobj, mime)
    return mime


def digest(fileobj: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size, streamed in constant memory."""
    fileobj.seek(0)
    sha = hashlib.sha256()
    size = 0
    buffer = bytearray(BUFFER_BYTES)
    view = memoryview(buffer)
    readinto = getattr(fileobj, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            sha.update(view[:n])
        else:
            chunk = fileobj.read(BUFFER_BYTES)
            if not chunk:
                break
            n = len(chunk)
            sha.update(chunk)
        size += n
    return sha.hexdigest(), size


# Storing ------------------------------------------------------------------------------------


class StagedFile(File):
    """A file already on this machine's disk. Like Django's TemporaryUploadedFile it offers
    `temporary_file_path()`, so local storage moves it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return str(self.name)


_ITEM_ID = re.compile(r"[0-9]{1,18}")


def find_item(attempt: Attempt, ref: str | int | None) -> Item | None:
    """The item of the attempt's task with the id `ref` (what every form, the tus metadata and
    the evidence blocks send); empty: the attempt as a whole. By id only: a key may be all
    digits ("8" is a legal key), so guessing between id and key picked the wrong question.
    Anything else (a key, "²", a number no column holds) is "no such question"."""
    if ref in (None, ""):
        return None
    text = str(ref).strip()
    item = None
    # ASCII digits only, and few enough for a bigint: str.isdigit() accepts "²", int() does not.
    if _ITEM_ID.fullmatch(text):
        item = Item.objects.filter(task_id=attempt.task_id, pk=int(text)).first()
    if item is None:
        raise ValidationError("There is no such question in this task.", code="no_item")
    return item


# What a question asks for -------------------------------------------------------------------
# An item says what evidence it wants in words (`evidence_hint`, e.g. "A video of 40 to 60
# seconds, filmed so that both hands are in view"); content packs have no separate field for the
# accepted types, so the rule is read from those words. What can be checked is: the kind of file
# (a video, a photo, a recording, a document) and a video's length. A hint that names no kind
# accepts every type on the allow-list.

_KIND_TYPES: dict[str, frozenset[str]] = {
    "video": frozenset(t for t in ACCEPTED_TYPES if t.startswith("video/")),
    "photo": frozenset(t for t in ACCEPTED_TYPES if t.startswith("image/")),
    "audio": frozenset(t for t in ACCEPTED_TYPES if t.startswith("audio/")),
    "document": frozenset({"application/pdf", DOCX, XLSX, PPTX, "text/plain"}),
    "scan": frozenset({"application/pdf"}),
}
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "video": ("video", "film", "clip", "movie"),
    "photo": ("photo", "picture", "image", "scan", "screenshot"),
    "audio": ("audio", "sound recording", "voice recording", "podcast"),
    "document": ("document", "pdf", "word file", "spreadsheet", "report", "written plan"),
    "scan": ("scan",),
}
_KIND_NAMES = {"video": "a video", "photo": "a photo", "audio": "an audio recording"}
_KIND_ACCEPT = {
    "video": "video/mp4,video/webm,video/quicktime,.mov",
    "photo": "image/jpeg,image/png,image/webp,image/heic,.heic",
    "audio": "audio/mpeg,audio/mp4,.m4a,audio/ogg,audio/wav,.wav",
    "document": "application/pdf,.docx,.xlsx,.pptx,text/plain,.txt",
    "scan": "application/pdf",
}
ACCEPT_ALL = ",".join(_KIND_ACCEPT[k] for k in ("photo", "video", "audio", "document"))
# A number may have decimals, written either way ("1.5 minutes", "1,5 minutes").
_NUMBER = r"\d+(?:[.,]\d+)?"
_LENGTH = re.compile(
    rf"(?:({_NUMBER})\s*(?:to|-|\u2013)\s*)?({_NUMBER})\s*(seconds?|secs?|minutes?|mins?)\b",
    re.IGNORECASE,
)
# Whole words (a plural too): "clip" is a video, "clipboard" is not.
_KIND_PATTERNS = {
    kind: re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")s?\b")
    for kind, words in _KIND_WORDS.items()
}


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class EvidenceRule:
    """What evidence one question accepts: content types (empty: any accepted type) and, for a
    video, a length in seconds (either bound may be missing)."""

    kinds: tuple[str, ...] = ()
    min_seconds: float | None = None
    max_seconds: float | None = None

    @property
    def types(self) -> frozenset[str]:
        return frozenset().union(*(_KIND_TYPES[k] for k in self.kinds))

    @property
    def accept(self) -> str:
        """The file input's `accept` list: the browser's picker offers these first."""
        if not self.kinds:
            return ACCEPT_ALL
        return ",".join(_KIND_ACCEPT[k] for k in self.kinds)

    @property
    def described(self) -> str:
        """ "a video", "a photo or a PDF scan": what the question asks for, in words."""
        names = [_KIND_NAMES.get(k, "a document") for k in self.kinds if k != "scan"]
        if "scan" in self.kinds and "document" not in self.kinds:
            names.append("a PDF scan")
        return " or ".join(dict.fromkeys(names))

    def accepts(self, content_type: str) -> bool:
        return not self.kinds or content_type in self.types


def evidence_rule(item: Item | None) -> EvidenceRule:
    """The rule of `item`'s evidence, read from its hint; no item (the attempt as a whole) and
    a hint without a kind of file accept any accepted type."""
    hint = (item.evidence_hint if item is not None else "").lower()
    if not hint:
        return EvidenceRule()
    kinds = tuple(k for k, pattern in _KIND_PATTERNS.items() if pattern.search(hint))
    low = high = None
    if "video" in kinds:
        match = _LENGTH.search(hint)
        if match:
            scale = 60 if match.group(3).startswith("min") else 1
            high = _number(match.group(2)) * scale
            low = _number(match.group(1)) * scale if match.group(1) else None
            if low is None and "at least" in hint[: match.start()]:
                low, high = high, None
            if low is not None and high is not None and low > high:
                # "2 to 1 minutes" asks for nothing a video can be: no length rule, rather
                # than one that refuses every video. Content-pack import refuses such hints.
                low = high = None
    return EvidenceRule(kinds, low, high)


def hint_problem(hint: str) -> str:
    """What is wrong with an evidence hint as a rule ("" if nothing), for content-pack import:
    a video length from more to less ("2 to 1 minutes") would ask for no length at all."""
    text = hint.lower()
    match = _LENGTH.search(text) if _KIND_PATTERNS["video"].search(text) else None
    if match and match.group(1) and _number(match.group(1)) > _number(match.group(2)):
        return (
            f"the video length {match.group(0)!r} runs from more to less: "
            "write the shorter length first"
        )
    return ""


def question_label(item: Item) -> str:
    """ "question 8": the number the learner sees on the task page, never its key."""
    number = question_numbers(item.task_id).get(item.pk)
    return f"question {number}" if number else "this question"


def _seconds(value: float) -> str:
    if value >= 120 and value % 60 == 0:
        return f"{value / 60:.0f} minutes"
    return f"{value:.0f} seconds"


def check_item_evidence(
    item: Item | None, content_type: str, *, length: float | None = None
) -> None:
    """Refuse a file the question cannot use, saying why: UnsupportedFileType for the wrong kind
    of file (a JPEG for a video), ValidationError for a video outside the asked length. A length
    that could not be read is not checked."""
    if item is None:
        return
    rule = evidence_rule(item)
    if not rule.accepts(content_type):
        what = ACCEPTED_TYPES.get(content_type, content_type)
        raise UnsupportedFileType(
            f"{question_label(item).capitalize()} asks for {rule.described}"
            f" ({item.evidence_hint[:1].lower()}{item.evidence_hint[1:].rstrip('.')});"
            f" this file ({what}) is not one. "
            "Choose another file, or add this one to the attempt as a whole."
        )
    if length is None or (rule.min_seconds is None and rule.max_seconds is None):
        return
    # A second either side: phones round the length they show.
    short = rule.min_seconds is not None and length < rule.min_seconds - 1
    long = rule.max_seconds is not None and length > rule.max_seconds + 1
    if short or long:
        if rule.min_seconds is not None and rule.max_seconds is not None:
            asked = f"{rule.min_seconds:.0f} to {_seconds(rule.max_seconds)}"
        elif rule.min_seconds is not None:
            asked = f"at least {_seconds(rule.min_seconds)}"
        else:
            asked = f"at most {_seconds(rule.max_seconds or 0)}"
        raise ValidationError(
            f"This video is {_seconds(round(length))} long; {question_label(item)} asks for "
            f"{asked}. Film it again, or trim it, and upload that.",
            code="wrong_length",
        )


def media_length(fileobj: IO[bytes], content_type: str) -> float | None:
    """A video's length in seconds, where its container says it (MP4, QuickTime)."""
    if content_type not in video.ISO_BMFF_TYPES or not content_type.startswith("video/"):
        return None
    fileobj.seek(0, os.SEEK_END)
    size = fileobj.tell()
    return video.duration(fileobj, size)


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
        evidence.file.save(display_name, fileobj, save=False)
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
    return current


def active_evidence(attempt: Attempt) -> QuerySet[Evidence]:
    """The files of an attempt that were not removed, oldest first."""
    return attempt.evidence.filter(withdrawn_at__isnull=True).select_related("item")


# Previews -----------------------------------------------------------------------------------


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone: a new image carries no EXIF (GPS included), XMP or comments."""
    if image.mode == "P":
        image = image.convert("RGBA")
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare


def render_previews(fileobj: IO[bytes], fmt: str) -> tuple[bytes, bytes]:
    """A viewing copy (at most PREVIEW_PX, same format but JPEG for HEIC, upright, no metadata
    but the colour profile) and a JPEG thumbnail (THUMBNAIL_PX) of a photo. Pure: no ORM, no
    storage. Raises ValueError or OSError for an image Pillow cannot read or one too large to
    decode."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            source = Image.open(fileobj, formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(str(exc)) from None
    with source:
        if source.width * source.height > PREVIEW_MAX_PIXELS:
            raise ValueError(f"{source.width}x{source.height} is too large to preview")
        if fmt == "JPEG":
            source.draft("RGB", (PREVIEW_PX, PREVIEW_PX))
        icc = source.info.get("icc_profile")
        upright = ImageOps.exif_transpose(source)
        upright.thumbnail((PREVIEW_PX, PREVIEW_PX))
    preview = _bare(upright)
    out_fmt = _VIEWING_FORMAT.get(fmt, fmt)
    if out_fmt == "JPEG" and preview.mode not in {"RGB", "L"}:
        preview, icc = preview.convert("RGB"), None
    out = io.BytesIO()
    options: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if out_fmt in {"JPEG", "WEBP"}:
        options["quality"] = 85
    preview.save(out, format=out_fmt, **options)

    thumb = preview.copy()
    thumb.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if thumb.mode in {"RGBA", "LA"}:
        flat = Image.new("RGB", thumb.size, "white")
        flat.paste(thumb, mask=thumb.getchannel("A"))
        thumb = flat
    elif thumb.mode not in {"RGB", "L"}:
        thumb = thumb.convert("RGB")
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, format="JPEG", quality=80)
    return out.getvalue(), thumb_out.getvalue()


def make_previews(evidence_id: int) -> bool:
    """Make and store the viewing copy of a photo (and its thumbnail) or of a video or M4A
    recording (`make_media_copy`); True when it made them.

    Idempotent and safe to run twice at once (the loser deletes its own files), so a Celery task
    can call it by id with acks_late. Does nothing for other types or when they exist.
    """
    evidence = Evidence.objects.get(pk=evidence_id)
    if evidence.content_type in video.ISO_BMFF_TYPES and not evidence.preview:
        return make_media_copy(evidence)
    fmt = PREVIEW_FORMATS.get(evidence.content_type)
    if fmt is None or evidence.preview:
        return False
    with evidence.file.open("rb") as original:
        preview_bytes, thumb_bytes = render_previews(original, fmt)
    preview_name = evidence.preview.field.generate_filename(evidence, "preview")
    thumb_name = evidence.thumbnail.field.generate_filename(evidence, "thumbnail")
    preview_key = evidence.preview.storage.save(preview_name, ContentFile(preview_bytes))
    thumb_key = evidence.thumbnail.storage.save(thumb_name, ContentFile(thumb_bytes))
    updated = Evidence.objects.filter(pk=evidence_id, preview="").update(
        preview=preview_key, thumbnail=thumb_key
    )
    if not updated:
        evidence.preview.storage.delete(preview_key)
        evidence.thumbnail.storage.delete(thumb_key)
    return bool(updated)


def make_media_copy(evidence: Evidence) -> bool:
    """Store the viewing copy of a video or M4A recording: the same bytes, but the boxes that
    hold where it was recorded turned into `free` boxes of zeros of the same size
    (assessment/evidence/video.py), so it plays as the original does. The original is only
    read. True when this call stored the copy.

    The copy is written to a temporary file beside the staging area and saved through the
    storage API like a finished upload (moved into place by local storage, streamed to remote
    storage), in constant memory.

    A file whose structure cannot be walked (cut short, corrupt, no `moov`) gets no copy and a
    logged warning; the upload itself stands, since it is the learner's evidence of record.
    The marking page then does not play it but offers the original as a download, saying that
    it could not be checked for location data. We chose that over hiding it: the assessor
    must be able to see everything submitted to judge it, the original is already open to them
    through the same permission check as the record, and a file we cannot walk is one a
    browser could not play anyway. Hiding it would only hide the problem from the person who
    has to ask the learner for a better copy.
    """
    fd, tmp_name = tempfile.mkstemp(dir=staging_dir(), prefix="viewing-", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as target, evidence.file.open("rb") as original:
            try:
                plan = video.clean_copy(original, target, evidence.size)
            except video.CorruptMedia as exc:
                logger.warning(
                    "evidence %s (%s) gets no viewing copy: %s",
                    evidence.pk,
                    evidence.content_type,
                    exc,
                )
                return False
        name = evidence.preview.field.generate_filename(evidence, "viewing")
        with StagedFile(tmp.open("rb"), name=str(tmp)) as staged:
            key = evidence.preview.storage.save(name, staged)
    finally:
        tmp.unlink(missing_ok=True)
    updated = Evidence.objects.filter(pk=evidence.pk, preview="").update(preview=key)
    if not updated:
        evidence.preview.storage.delete(key)
        return False
    logger.info("evidence %s: viewing copy without %s", evidence.pk, plan.neutralised or "-")
    return True


# Staging of resumable uploads -----------------------------------------------------------------


_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{32}")


def staging_dir() -> Path:
    """Where uploads in progress live (`EVIDENCE_STAGING_DIR`, default MEDIA_ROOT/uploads-partial).

    On the same file system as MEDIA_ROOT, a finished upload is moved into storage, not copied.
    """
    configured = getattr(settings, "EVIDENCE_STAGING_DIR", None)
    path = Path(configured) if configured else Path(settings.MEDIA_ROOT) / "uploads-partial"
    path.mkdir(parents=True, exist_ok=True)
    return path


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
        tmp.write_text(json.dumps(asdict(self)))
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
    upload.save()
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
    if upload.item_id is None or head.startswith(_ZIP_MAGIC):
        return
    mime = _signature_type(head)
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
    upload.save()
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
