"""One assessment record as JSON and as a PDF (PDF/A-3b, tagged), from `load_records`.

`record_json` is everything the record page shows, as plain JSON values: the export writes it
as `record.json` and the PDF carries it, byte for byte, as an embedded file. `render_record_pdf`
renders templates/assessment/records/record_pdf.html (which includes the page's own
`_record.html`, without links) with WeasyPrint: running header and "Page N of M" footer, image
thumbnails as data: URIs, a manifest of the evidence files with their SHA-256, and the JSON
attached. It fetches through `pdf_assets.AssetsURLFetcher`: our bundled fonts and the data:
URIs made here, nothing else.

Rendering is two steps so that the slow one can run in another process: `prepare_render` (the
HTML, from the loaded record, in the process that has the database) and `render_job` (WeasyPrint
only: no database, no storage). The PDF's bytes depend only on the `RenderJob`, so a PDF rendered
in a pool process, a Celery worker or here is the same file for the same job. `fingerprint` names
the record's state as the PDF shows it: stored renderings (records/stored.py) are keyed by it.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import get_template, render_to_string
from django.utils import timezone
from weasyprint import CSS, HTML, Attachment
from weasyprint import __version__ as weasyprint_version
from weasyprint.text.fonts import FontConfiguration

from assessment.records.pdf_assets import FONTS_DIR, AssetsURLFetcher
from assessment.records.selectors import Record
from delivery.records import record_sections

TEMPLATE = "assessment/records/record_pdf.html"
STYLESHEET = Path(__file__).resolve().parents[2] / "templates/assessment/records/record_pdf.css"
ATTACHMENT_NAME = "record.json"
JSON_MEDIA_TYPE = "application/json"
SCHEMA = "https://flipside.example/schemas/assessment-record/1"
# A thumbnail bigger than this is not a thumbnail: it is left out rather than embedded.
MAX_THUMBNAIL_BYTES = 512 * 1024
_IMAGE_TYPES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
# Raise when this module changes what a PDF shows in a way its templates and stylesheet do not
# (a label, a thumbnail rule): every stored rendering then counts as stale.
RENDERER_VERSION = "1"


# --- JSON -----------------------------------------------------------------------------------


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.get_full_name() or user.get_username(),
    }


def _judgement(judgement: Any) -> dict[str, Any] | None:
    if judgement is None:
        return None
    return {
        "result": judgement.result,
        "comment": judgement.comment,
        "assessor": _person(judgement.assessor),
        "automatic": judgement.automatic,
        "recorded_at": _iso(judgement.recorded_at),
    }


def _evidence(evidence: Any) -> dict[str, Any]:
    return {
        "id": evidence.pk,
        "original_name": evidence.original_name,
        "size": evidence.size,
        "content_type": evidence.content_type,
        "sha256": evidence.sha256,
        "uploaded_at": _iso(evidence.uploaded_at),
        "uploaded_by_id": evidence.uploaded_by_id,
        "item_id": evidence.item_id,
        "withdrawn_at": _iso(evidence.withdrawn_at),
    }


def _attempt(entry: dict[str, Any]) -> dict[str, Any]:
    attempt = entry["attempt"]
    return {
        "id": attempt.pk,
        "number": attempt.number,
        "status": attempt.status,
        "result": attempt.result,
        "task_version": entry["task_version"],
        "created_at": _iso(attempt.created_at),
        "submitted_at": _iso(attempt.submitted_at),
        "declaration": attempt.declaration,
        "marked_at": _iso(attempt.marked_at),
        "marked_by": _person(attempt.marked_by),
        "feedback": attempt.feedback,
        "assessor_declaration": attempt.assessor_declaration,
        "observed_on": _iso(attempt.observed_on),
        "observed_at_place": attempt.observed_at_place,
        "items": [
            {
                "key": item["key"],
                "kind": item["kind"],
                "prompt": item["prompt"],
                "choices": item["choices"],
                "answer_text": item["text"],
                "answer_choices": item["chosen"],
                "carried_forward": item["carried_forward"],
                "judgement": _judgement(item["judgement"]),
            }
            for item in entry["items"]
        ],
        "evidence": [_evidence(e) for e in entry["evidence"]],
    }


def _outcome(outcome: Any) -> dict[str, Any]:
    return {
        "id": outcome.pk,
        "code": outcome.code,
        "label": outcome.get_code_display(),
        "recorded_at": _iso(outcome.recorded_at),
        "recorded_by": _person(outcome.recorded_by),
        "justification": outcome.justification,
        "superseded": bool(getattr(outcome, "is_superseded", False)),
        "supersedes_id": outcome.supersedes_id,
        "documents": [
            {
                "id": d.pk,
                "original_name": d.original_name,
                "size": d.size,
                "content_type": d.content_type,
                "sha256": d.sha256,
                "uploaded_at": _iso(d.uploaded_at),
            }
            for d in outcome.documents.all()
        ],
    }


def event_json(event: Any) -> dict[str, Any]:
    """An audit event as exported: `payload` is the exact text that was hashed, so
    `sha256(prev_hash + "\\n" + payload) == hash` can be checked without us."""
    return {
        "id": event.pk,
        "at": _iso(event.at),
        "actor_label": event.actor_label,
        "action": event.action,
        "object": f"{event.object_type}:{event.object_id}",
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def record_json(record: Record) -> dict[str, Any]:
    """Everything on the record page as JSON values (strings, numbers, lists, dicts): the
    enrolment, each task and attempt with answers, judgements, evidence and declarations, the
    mapping, the outcomes, the other apps' sections, and the audit events with the chain check.
    Pure: reads only what `load_records` loaded."""
    learner, cohort, unit, enrolment = record.learner, record.cohort, record.unit, record.enrolment
    current = record.outcome
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "key": {
            "learner_id": record.key.learner_id,
            "cohort_id": record.key.cohort_id,
            "unit_id": record.key.unit_id,
        },
        "learner": {**(_person(learner) or {}), "email": learner.email},
        "course": {
            "id": cohort.course.pk,
            "code": cohort.course.code,
            "title": cohort.course.title,
        },
        "cohort": {
            "id": cohort.pk,
            "name": cohort.name,
            "starts_on": _iso(cohort.starts_on),
            "ends_on": _iso(cohort.ends_on),
        },
        "enrolment": {
            "status": enrolment.status,
            "enrolled_at": _iso(enrolment.enrolled_at),
            "ended_at": _iso(enrolment.ended_at),
        }
        if enrolment
        else None,
        "unit": {"id": unit.pk, "code": unit.code, "title": unit.title, "version": unit.version},
        "outcome": current.code if current else None,
        "outcomes": [_outcome(o) for o in record.outcomes],
        "tasks": [
            {
                "id": entry["task"].pk,
                "key": entry["task"].key,
                "title": entry["task"].title,
                "kind": entry["task"].kind,
                "version": entry["task"].version,
                "attempts": [_attempt(a) for a in entry["attempts"]],
            }
            for entry in record.tasks
        ],
        "mapping": record.mapping,
        "sections": {
            part["section"].key: {"title": part["section"].title, "data": part["data"]}
            for part in record.sections
        },
        "audit": {
            "chain": {
                "ok": record.chain.ok,
                "checked": record.chain.checked,
                "problem": record.chain.problem,
                "broken_at": record.chain.broken_at,
            },
            "events": [event_json(e) for e in record.events],
            # Auditors' openings are in the chain too, counted here rather than listed.
            "auditor_openings": {
                "count": record.views.get("count", 0),
                "last": _iso(record.views.get("last")),
            },
        },
    }
    # Sections are their apps' plain data; one round trip makes any date in them a string too.
    plain: dict[str, Any] = json.loads(json_bytes(data))
    return plain


def json_bytes(data: dict[str, Any]) -> bytes:
    """The record JSON as written to `record.json` (UTF-8, indented, keys in order)."""
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


# --- PDF ------------------------------------------------------------------------------------


def _image_type(data: bytes) -> str | None:
    return next((kind for magic, kind in _IMAGE_TYPES if data.startswith(magic)), None)


def _placeholder_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (230, 233, 237)).save(out, "PNG")
    return out.getvalue()


_PLACEHOLDER = _placeholder_png()


def thumbnail_uri(evidence: Any, fetcher: AssetsURLFetcher) -> str:
    """A data: URI (registered with `fetcher`) of the evidence's stored thumbnail, or of a
    grey placeholder when the file is missing, unreadable or not a JPEG or PNG."""
    data = b""
    if evidence.thumbnail:
        try:
            with evidence.thumbnail.open("rb") as handle:
                data = handle.read(MAX_THUMBNAIL_BYTES + 1)
        except OSError:
            data = b""
    kind = _image_type(data) if len(data) <= MAX_THUMBNAIL_BYTES else None
    if kind is None:
        return fetcher.allow_data_uri(_PLACEHOLDER, "image/png")
    return fetcher.allow_data_uri(data, kind)


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def record_html(
    record: Record, fetcher: AssetsURLFetcher, *, generated: datetime | None = None
) -> str:
    """The PDF's HTML, produced at `generated` (now by default). Every thumbnail becomes a data:
    URI that `fetcher` will serve."""
    manifest = []
    for entry in record.tasks:
        for a in entry["attempts"]:
            for e in a["evidence"]:
                if e.thumbnail:
                    e.thumbnail_src = thumbnail_uri(e, fetcher)
                manifest.append({"task": entry["task"], "attempt": a["attempt"], "evidence": e})
    generated = timezone.localtime(generated)
    context = {
        "record": record,
        "provider_name": settings.PROVIDER_NAME,
        "learner_name": _name(record.learner),
        "generated": generated,
        "manifest": manifest,
        "attachment_name": ATTACHMENT_NAME,
    }
    return render_to_string(TEMPLATE, context)


class _Assets(threading.local):
    """Per thread: the stylesheet with its fonts, loaded once (WeasyPrint's font configuration
    is not shared between threads)."""

    font_config: FontConfiguration | None = None
    stylesheet: CSS | None = None


_assets = _Assets()


def _stylesheet() -> tuple[CSS, FontConfiguration]:
    if _assets.stylesheet is None or _assets.font_config is None:
        font_config = FontConfiguration()
        _assets.stylesheet = CSS(
            string=STYLESHEET.read_text(encoding="utf-8"),
            base_url=str(FONTS_DIR) + "/",
            font_config=font_config,
            url_fetcher=AssetsURLFetcher(),
        )
        _assets.font_config = font_config
    return _assets.stylesheet, _assets.font_config


@dataclass(frozen=True)
class RenderJob:
    """Everything WeasyPrint needs to draw one record's PDF, and nothing that needs the
    database: picklable, so a pool process can render it. Same job, same bytes."""

    html: str
    document: bytes  # the record JSON, attached as `record.json`
    generated: datetime  # the time the PDF says it was produced
    data_uris: tuple[tuple[bytes, str], ...]  # thumbnails the HTML names as data: URIs


def prepare_render(
    record: Record,
    *,
    document: bytes | None = None,
    generated: datetime | None = None,
    url_fetcher: AssetsURLFetcher | None = None,
) -> RenderJob:
    """The record's `RenderJob`: its HTML (thumbnails read from storage here) and JSON."""
    fetcher = url_fetcher or AssetsURLFetcher()
    when = generated or timezone.now()
    body = document if document is not None else json_bytes(record_json(record))
    html = record_html(record, fetcher, generated=when)
    return RenderJob(html, body, when, fetcher.data_uris())


def render_job(job: RenderJob, *, url_fetcher: AssetsURLFetcher | None = None) -> bytes:
    """The PDF of `job` (WeasyPrint only). Its dates (the text's "produced", the metadata, the
    attachment's) are all `job.generated`, and the PDF's identifier is a hash of its content,
    so the bytes depend on the job alone."""
    fetcher = url_fetcher or AssetsURLFetcher()
    for data, media_type in job.data_uris:
        fetcher.allow_data_uri(data, media_type)
    stylesheet, font_config = _stylesheet()
    attachment = Attachment(
        url=fetcher.allow_data_uri(job.document, JSON_MEDIA_TYPE),
        url_fetcher=fetcher,
        name=ATTACHMENT_NAME,
        description="This assessment record as JSON: everything the PDF shows",
        created=job.generated,
        modified=job.generated,
        relationship="Source",
    )
    html = HTML(string=job.html, base_url=str(FONTS_DIR) + "/", url_fetcher=fetcher)
    pdf: bytes = html.write_pdf(
        stylesheets=[stylesheet],
        font_config=font_config,
        attachments=[attachment],
        pdf_variant="pdf/a-3b",
        pdf_tags=True,
    )
    return pdf


def render_record_pdf(
    record: Record,
    *,
    url_fetcher: AssetsURLFetcher | None = None,
    document: bytes | None = None,
    generated: datetime | None = None,
) -> bytes:
    """The record as a PDF/A-3b, tagged, `lang="en-AU"` document on A4, with the record JSON
    attached as `record.json` (its source data). `document` is that JSON when the caller has
    already made it (the export writes the same bytes beside the PDF); `generated` is the time
    the PDF says it was produced (now by default)."""
    fetcher = url_fetcher or AssetsURLFetcher()
    job = prepare_render(record, document=document, generated=generated, url_fetcher=fetcher)
    return render_job(job, url_fetcher=fetcher)


# --- the record's state, as the PDF shows it -------------------------------------------------


@lru_cache(maxsize=1)
def _renderer_files() -> str:
    """A hash of what draws every PDF, read once per process: the templates (the record's,
    and each registered section's), the stylesheet, the fonts, this module's version and
    WeasyPrint's."""
    digest = hashlib.sha256(f"{RENDERER_VERSION}|{weasyprint_version}".encode())
    names = [TEMPLATE, "assessment/records/_record.html"]
    names += [section.template for section in record_sections()]
    for name in names:
        source = getattr(get_template(name), "template", None)
        digest.update(f"|{name}|".encode() + str(getattr(source, "source", "")).encode())
    digest.update(STYLESHEET.read_bytes())
    for font in sorted(FONTS_DIR.glob("*.ttf")):
        digest.update(f"|{font.name}:{font.stat().st_size}".encode())
    return digest.hexdigest()


def renderer_identity() -> str:
    """What, beside the record, decides a PDF's content: the files above and the settings
    it prints (the provider's name, the time zone its times are shown in)."""
    return f"{_renderer_files()}|{settings.PROVIDER_NAME}|{settings.TIME_ZONE}"


def fingerprint(record: Record, document: bytes, *, renderer: str | None = None) -> str:
    """SHA-256 of the record's state as its PDF shows it: the record JSON (`document`, which
    the PDF carries byte for byte: people's names, outcomes, attempts, answers, judgements,
    evidence hashes, the other apps' sections, the audit events, the chain check and the
    auditors' openings), what only the page shows (each evidence file's purge and thumbnail),
    and `renderer_identity`. Built from what `load_records` loaded, so it costs no query: a
    stored PDF with the same fingerprint is the PDF this record would render now, apart from
    the time it says it was produced."""
    digest = hashlib.sha256((renderer or renderer_identity()).encode())
    digest.update(b"\0")
    digest.update(document)
    for evidence in record.evidence:
        purged = evidence.purged_at.isoformat() if evidence.purged_at else ""
        thumbnail = evidence.thumbnail.name if evidence.thumbnail else ""
        digest.update(f"\0{evidence.pk}|{purged}|{thumbnail}".encode())
    return digest.hexdigest()
