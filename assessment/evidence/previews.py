"""Viewing copies: what an assessor sees of a photo is a re-encoded copy without location or
other metadata, and of a video or M4A recording the same bytes with the boxes that hold where it
was recorded zeroed (`video`). The original is kept untouched for the record.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

from assessment.evidence import video
from assessment.evidence.files import (
    PREVIEW_FORMATS,
    PREVIEW_MAX_PIXELS,
    PREVIEW_PX,
    THUMBNAIL_PX,
    VIEWING_FORMAT,
    StagedFile,
    staging_dir,
)
from assessment.models import Evidence

logger = logging.getLogger(__name__)

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
    out_fmt = VIEWING_FORMAT.get(fmt, fmt)
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
