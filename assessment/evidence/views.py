"""Evidence upload and download endpoints.

- A tus 1.0 server (core protocol with the creation and termination extensions) for the
  learner's resumable, chunked uploads from tus-js-client: `POST .../attempts/<id>/` creates an
  upload, `HEAD`/`PATCH`/`DELETE .../uploads/<upload id>` continue or cancel it. Refusals are
  short plain-text messages the widget shows as they are.
- A plain multipart form for browsers without JavaScript, the evidence list partial (htmx
  refreshes it after each upload) and the learner's "remove" button.
- Serving a file, its viewing copy (a photo re-encoded, a video or M4A recording with its
  location boxes neutralised: evidence.make_media_copy) or its thumbnail, through
  access_evidence only.

Bodies are read from the request stream in constant memory, never through `request.body`.
"""

from __future__ import annotations

import base64
import binascii
import errno
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from csp.constants import NONE, SELF
from csp.decorators import csp as csp_policy
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from assessment.evidence import services as files
from assessment.models import Attempt
from assessment.permissions import access_attempt, access_evidence

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# Multipart overhead allowed over the file size before the fallback form refuses unread.
FORM_OVERHEAD = 1024 * 1024

_STATUS = {
    files.FileTooLarge: 413,
    files.UnsupportedFileType: 415,
    files.OffsetMismatch: 409,
    files.UploadBusy: 423,
    files.TooManyUploads: 429,
    files.ImageTooLarge: 413,
}
# A full disk or quota. The bytes already staged stay, so a tus client resumes where it stopped.
OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
OUT_OF_SPACE_MESSAGE = (
    "The server is out of space; your upload is kept and can resume once space is freed. "
    "Try again later."
)
# The plain form keeps nothing of the file it could not store; files added before it stay.
FORM_OUT_OF_SPACE_MESSAGE = (
    "The server is out of space, so the file was not saved. Try again later."
)


# tus ----------------------------------------------------------------------------------------


def _plain(message: str, status: int) -> HttpResponse:
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def tus_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The protocol's plumbing around a tus view: OPTIONS, the version check, sign-in, the
    `Tus-Resumable` header on every answer, and refusals as plain text with their status."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Tus-Version"] = TUS_VERSION
            response["Tus-Max-Size"] = str(files.max_upload_bytes())
            response["Tus-Extension"] = TUS_EXTENSIONS
        elif request.headers.get("Tus-Resumable") != TUS_VERSION:
            response = _plain("This server speaks tus 1.0.0.", 412)
            response["Tus-Version"] = TUS_VERSION
        elif not request.user.is_authenticated:
            response = _plain("You are signed out: sign in, then choose the file again.", 403)
        else:
            try:
                response = view(request, *args, **kwargs)
            except Http404 as exc:
                response = _plain(str(exc) or "Not found.", 404)
            except PermissionDenied as exc:
                response = _plain(str(exc) or "You may not change this.", 403)
            except ValidationError as exc:
                response = _plain(" ".join(exc.messages), _STATUS.get(type(exc), 400))
            except OSError as exc:
                if exc.errno not in OUT_OF_SPACE:
                    raise
                response = _plain(OUT_OF_SPACE_MESSAGE, 507)  # 507 Insufficient Storage
        response["Tus-Resumable"] = TUS_VERSION
        return response

    return wrapped


def _writable_attempt(user: Any, attempt_id: int) -> Attempt:
    """The learner's own draft, with a refusal that says why for anyone who may see it."""
    try:
        return access_attempt(user, attempt_id, write=True)
    except PermissionDenied:
        attempt = access_attempt(user, attempt_id)
        if attempt.learner_id != user.pk:
            raise PermissionDenied("Only the learner can add or remove files here.") from None
        raise PermissionDenied(files.SUBMITTED_MESSAGE) from None


def _metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (value optional)."""
    result = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            result[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationError("Upload-Metadata is not valid base64 UTF-8.") from None
    return result


def _number(request: HttpRequest, header: str) -> int:
    value = request.headers.get(header, "")
    # ASCII only: `isdigit` also accepts digits such as "²" that `int` refuses; and no more
    # digits than any byte count has (`int` refuses thousands).
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise ValidationError(f"{header} must be a whole number of bytes.")
    return int(value)


@require_http_methods(["OPTIONS", "POST"])
@tus_endpoint
def create_upload(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """tus creation: an upload of `Upload-Length` bytes into the learner's draft attempt."""
    attempt = _writable_attempt(request.user, attempt_id)
    if "Upload-Defer-Length" in request.headers:
        raise ValidationError("Uploads of unknown length are not supported.")
    length = _number(request, "Upload-Length")
    metadata = _metadata(request.headers.get("Upload-Metadata", ""))
    upload = files.start_upload(
        attempt,
        owner=request.user,
        name=metadata.get("filename", ""),
        length=length,
        item=files.find_item(attempt, metadata.get("item")),
    )
    response = HttpResponse(status=201)
    response["Location"] = reverse("assessment:evidence_upload", args=[upload.id])
    return response


@require_http_methods(["OPTIONS", "HEAD", "PATCH", "DELETE"])
@tus_endpoint
def upload(request: HttpRequest, upload_id: str) -> HttpResponse:
    """tus core: HEAD tells the offset, PATCH appends at it, DELETE (termination) cancels."""
    staged = files.access_upload(request.user, upload_id)
    if not staged.complete:
        _writable_attempt(request.user, staged.attempt_id)
    if request.method == "PATCH":
        if request.content_type != OFFSET_CONTENT_TYPE:
            return _plain(f"PATCH bodies must be {OFFSET_CONTENT_TYPE}.", 415)
        if "Content-Length" not in request.headers:
            return _plain("Content-Length is required.", 411)
        staged = files.append_to_upload(
            staged,
            user=request.user,
            offset=_number(request, "Upload-Offset"),
            stream=request,
            length=_number(request, "Content-Length"),
        )
        response = HttpResponse(status=204)
    elif request.method == "DELETE":
        if staged.complete:
            return _plain("This upload is complete: remove the file from the list instead.", 409)
        files.discard_upload(staged)
        return HttpResponse(status=204)
    else:
        response = HttpResponse(status=200)
        response["Upload-Length"] = str(staged.length)
        response["Cache-Control"] = "no-store"
    response["Upload-Offset"] = str(staged.offset)
    return response


# Without JavaScript -------------------------------------------------------------------------


def _back(request: HttpRequest, target: str | None) -> HttpResponseRedirect:
    """Back to the page the learner came from, if it is ours; home otherwise."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(reverse("home"))


@csrf_protect
@login_required
def _upload_form(request: HttpRequest, attempt_id: int) -> HttpResponse:
    back = request.POST.get("next")
    try:
        attempt = _writable_attempt(request.user, attempt_id)
        item = files.find_item(attempt, request.POST.get("item"))
        uploaded = request.FILES.getlist("file")
        if not uploaded:
            raise ValidationError("Choose a file to upload.")
        for each in uploaded:
            added = files.add_evidence(
                attempt, uploaded_by=request.user, name=each.name or "", content=each, item=item
            )
            messages.success(request, f"Added {added.original_name}.")
    except (ValidationError, PermissionDenied) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        messages.error(request, text)
    return _back(request, back)


@csrf_exempt
@require_POST
def upload_form(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The multipart form: one or more files the ordinary way, back to `next` with a message.

    CSRF is checked by the inner view, after the size check here: the check must come before
    anything reads the body, or Django would first spool all of it to disk.
    """
    sent = int(request.META.get("CONTENT_LENGTH") or 0)
    if sent > files.max_upload_bytes() + FORM_OVERHEAD:
        if request.user.is_authenticated:
            refusal = files.FileTooLarge(sent, files.max_upload_bytes())
            messages.error(request, refusal.messages[0])
        return _back(request, request.headers.get("Referer"))
    try:
        return _upload_form(request, attempt_id)
    except OSError as exc:  # a full disk, while the form was read or a file stored
        if exc.errno not in OUT_OF_SPACE:
            raise
        messages.error(request, FORM_OUT_OF_SPACE_MESSAGE)
        return _back(request, request.headers.get("Referer"))


def _list(request: HttpRequest, attempt: Attempt, *, error: str = "") -> HttpResponse:
    htmx = getattr(request, "htmx", None)
    return render(
        request,
        "assessment/_evidence_list.html",
        {
            "attempt": attempt,
            "evidence_files": files.active_evidence(attempt),
            "evidence_error": error,
            # Where the no-JavaScript Remove button returns: the page the list sits in.
            "next_url": htmx.current_url_abs_path if htmx else None,
        },
    )


@login_required
@require_GET
def evidence_list(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The attempt's files, as the partial the upload widget refreshes."""
    return _list(request, access_attempt(request.user, attempt_id))


@login_required
@require_POST
def withdraw(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """The learner removes a file from their draft (kept for the record)."""
    evidence = access_evidence(request.user, evidence_id)
    attempt = _writable_attempt(request.user, evidence.attempt_id)
    error = ""
    try:
        files.withdraw_evidence(evidence, by=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if getattr(request, "htmx", False):
        return _list(request, attempt, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Removed {evidence.original_name}.")
    return _back(request, request.POST.get("next"))


# Serving ------------------------------------------------------------------------------------


class _Slice:
    """A byte range of an open file, for FileResponse (which closes it when done)."""

    def __init__(self, fileobj: Any, start: int, length: int) -> None:
        fileobj.seek(start)
        self._file, self._left = fileobj, length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size) if size else b""
        self._left -= len(data)
        return bytes(data)

    def close(self) -> None:
        self._file.close()


# One `bytes=first-last` or `bytes=-suffix`; ASCII digits only, and few enough of them for `int`.
_BYTE_RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a video player asks for, as (first, last) within the file.

    None (the whole file) for no header, another unit or several ranges (RFC 9110 14.2: a
    server may ignore them); ValueError (416) for a range that is malformed, backwards
    (`bytes=5-2`) or starts past the end."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    match = _BYTE_RANGE.fullmatch(header.replace(" ", ""))
    if match is None:
        raise ValueError(header)
    first, last = match.groups()
    if not first:
        if not last or int(last) == 0:
            raise ValueError(header)
        return max(size - int(last), 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise ValueError(header)
    return start, end


def _file_response(
    request: HttpRequest, field: FieldFile, *, content_type: str, filename: str, inline: bool
) -> HttpResponseBase:
    size = field.size
    try:
        wanted = _range(request.headers.get("Range"), size)
    except ValueError:
        response: HttpResponseBase = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = field.open("rb")
    if wanted is None:
        response = FileResponse(
            handle, content_type=content_type, as_attachment=not inline, filename=filename
        )
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response = FileResponse(
            _Slice(handle, start, end - start + 1),
            status=206,
            content_type=content_type,
            as_attachment=not inline,
            filename=filename,
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # Stored files never change (random keys, never overwritten); only the browser may keep them.
    response["Cache-Control"] = "private, max-age=3600"
    return response


# What a learner uploaded never runs in our origin: `sandbox` gives the file an opaque origin
# of its own with scripts, forms and plugins off, whatever the browser takes it for (an HTML or
# SVG body, a PDF with JavaScript), and it may fetch nothing. Only our own pages may frame it
# (the marking page shows a PDF in an iframe; Chromium's viewer renders it under this policy,
# tests/e2e/test_evidence_inert.py).
EVIDENCE_POLICY: dict[str, Any] = {
    "default-src": [NONE],
    "frame-ancestors": [SELF],
    "sandbox": True,
}


def _inline(evidence: Any) -> bool:
    """Whether the original is shown in the browser (images, video, audio, PDF) rather than
    downloaded. A photo without a viewing copy is one the server could not or would not decode
    (damaged, or past the pixel limit before it existed): it is downloaded, so no browser is
    made to decode it either."""
    if evidence.content_type not in files.INLINE_TYPES:
        return False
    return bool(evidence.preview) or not evidence.content_type.startswith("image/")


@login_required
@require_safe
@xframe_options_sameorigin
# django-csp types a view as taking the request alone, hence the ignore.
@csp_policy(EVIDENCE_POLICY)  # type: ignore[arg-type]
def evidence_file(
    request: HttpRequest, evidence_id: int, variant: str = "original"
) -> HttpResponseBase:
    """An evidence file, its viewing copy (`preview`: what the marking page shows) or its
    `thumbnail`: inline for images, video, audio and PDF (framed by our own pages only), a
    download for anything else; always sandboxed (EVIDENCE_POLICY). Byte ranges for players,
    on the viewing copy too."""
    evidence = access_evidence(request.user, evidence_id)
    if variant == "original":
        return _file_response(
            request,
            evidence.file,
            content_type=evidence.content_type,
            filename=evidence.original_name,
            inline=_inline(evidence),
        )
    field = evidence.preview if variant == "preview" else evidence.thumbnail
    if not field:
        raise Http404("This file has no viewing copy.")
    stem = evidence.original_name.rsplit(".", 1)[0]
    if variant == "preview":
        viewing_type = files.preview_type(evidence.content_type)
        name = evidence.original_name
        if viewing_type != evidence.content_type:
            name = f"{stem}.jpg"
        return _file_response(request, field, content_type=viewing_type, filename=name, inline=True)
    return _file_response(
        request,
        field,
        content_type=files.THUMBNAIL_TYPE,
        filename=f"{stem}-thumbnail.jpg",
        inline=True,
    )
