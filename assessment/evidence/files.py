"""What an evidence file really is: the allow-list of types, sniffing the content (never the
name or the browser's word), active content refused with a clear message, limits on size and
pixels, cleaned display names, and streaming SHA-256. No ORM: every path that takes a file in
(the tus staging, the multipart form, observation photos, RPL documents) checks it here.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from pathlib import Path
from typing import IO

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from PIL import Image
from pillow_heif import register_heif_opener

from assessment.evidence import video

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
VIEWING_FORMAT = {"HEIF": "JPEG"}
_VIEWING_TYPE = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def preview_type(content_type: str) -> str:
    """The content type of the viewing copy of a file of `content_type` (an image re-encoded,
    or a video or M4A recording with its metadata boxes neutralised)."""
    if content_type in video.ISO_BMFF_TYPES:
        return content_type
    fmt = PREVIEW_FORMATS[content_type]
    return _VIEWING_TYPE[VIEWING_FORMAT.get(fmt, fmt)]


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
ZIP_MAGIC = b"PK\x03\x04"
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


def signature_type(head: bytes) -> str | None:
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
    if head.startswith(ZIP_MAGIC):
        return
    mime = signature_type(head)
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
    if head.startswith(ZIP_MAGIC):
        return _office_type(fileobj)
    mime = signature_type(head)
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


def staging_dir() -> Path:
    """Where uploads in progress live (`EVIDENCE_STAGING_DIR`, default MEDIA_ROOT/uploads-partial).

    On the same file system as MEDIA_ROOT, a finished upload is moved into storage, not copied.
    """
    configured = getattr(settings, "EVIDENCE_STAGING_DIR", None)
    path = Path(configured) if configured else Path(settings.MEDIA_ROOT) / "uploads-partial"
    path.mkdir(parents=True, exist_ok=True)
    return path


# Storing ------------------------------------------------------------------------------------


class StagedFile(File):
    """A file already on this machine's disk. Like Django's TemporaryUploadedFile it offers
    `temporary_file_path()`, so local storage moves it into place instead of copying it."""

    def temporary_file_path(self) -> str:
        return str(self.name)
