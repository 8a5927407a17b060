"""The evidence endpoints (assessment/evidence/views.py): the tus 1.0 server, the multipart
fallback, the evidence list and removal, and serving files through access_evidence."""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import os
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from assessment.evidence import services as files
from assessment.evidence import views as uploads
from assessment.models import Attempt, AuditEvent, Evidence
from tests.assessment.test_evidence import (
    ELF,
    MZ,
    PDF,
    SVG,
    jpeg_with_gps,
    make_attempt,
    mp4_bytes,
    png_bytes,
)

TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


@pytest.fixture(autouse=True)
def _private_storage(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    settings.EVIDENCE_STAGING_DIR = tmp_path / "media" / "uploads-partial"


@pytest.fixture
def attempt(learner: Any, cohort: Any) -> Attempt:
    return make_attempt(learner, cohort)


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(client: Any, attempt_id: int, length: int, **meta: str) -> Any:
    meta.setdefault("filename", "clip.mp4")
    return client.post(
        reverse("assessment:evidence_upload_create", args=[attempt_id]),
        headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)},
    )


def patch(client: Any, url: str, offset: int, data: bytes, **extra: Any) -> Any:
    return client.generic(
        "PATCH",
        url,
        data,
        content_type=OCTETS,
        headers={**TUS, "Upload-Offset": str(offset)},
        **extra,
    )


def staged_files() -> list[str]:
    return sorted(p.name for p in files.staging_dir().iterdir())


class Dropped:
    """A WSGI input that delivers `n` bytes and then fails, like a connection cut mid-request
    (gunicorn raises an OSError subclass)."""

    def __init__(self, data: bytes, n: int) -> None:
        self.data = io.BytesIO(data[:n])

    def read(self, size: int = -1) -> bytes:
        chunk = self.data.read(size)
        if not chunk:
            raise OSError("connection reset by peer")
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


# tus: the whole flow --------------------------------------------------------------------------


def test_it_uploads_in_chunks_resumes_after_an_interruption_and_records_the_file(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    content = mp4_bytes(300_000)
    size = len(content)
    third = size // 3
    client = client_for(learner)

    created = create(
        client,
        attempt.pk,
        size,
        filename="my demo.mp4",
        item=str(attempt.task.items.get(key="photo").pk),
    )
    assert created.status_code == 201
    assert created["Tus-Resumable"] == "1.0.0"
    url = created["Location"]
    assert url.startswith("/assess/uploads/")

    first = patch(client, url, 0, content[:third])
    assert first.status_code == 204
    assert first["Upload-Offset"] == str(third)

    # The second chunk is cut off half way (a closed laptop): what arrived is kept.
    cut = patch(
        client,
        url,
        third,
        b"",
        CONTENT_LENGTH=str(third),
        CONTENT_TYPE=OCTETS,
        **{"wsgi.input": Dropped(content[third : 2 * third], third // 2)},
    )
    assert cut.status_code == 204

    # A new page load, a new client: it asks where to carry on.
    later = client_for(learner)
    head = later.head(url, headers=TUS)
    assert head.status_code == 200
    assert head["Upload-Offset"] == str(third + third // 2)
    assert head["Upload-Length"] == str(size)
    assert head["Cache-Control"] == "no-store"
    resume_at = int(head["Upload-Offset"])

    second = patch(later, url, resume_at, content[resume_at : 2 * third])
    assert second.status_code == 204
    last = patch(later, url, 2 * third, content[2 * third :])
    assert last.status_code == 204
    assert last["Upload-Offset"] == str(size)

    added = Evidence.objects.get()
    assert added.attempt == attempt
    assert added.item == attempt.task.items.get(key="photo")
    assert added.original_name == "my demo.mp4"
    assert added.size == size
    assert added.sha256 == hashlib.sha256(content).hexdigest()
    assert added.content_type == "video/mp4"
    assert added.uploaded_by == learner
    with added.file.open("rb") as stored:
        assert stored.read() == content
    assert AuditEvent.objects.filter(action="evidence.added", object_id=added.pk).count() == 1
    # The data left the staging area; the sidecar stays to answer a late HEAD.
    assert not any(name.endswith(".part") for name in staged_files())
    again = later.head(url, headers=TUS)
    assert again["Upload-Offset"] == str(size)


def test_it_answers_options_with_what_it_supports(client_for: Any, settings: Any) -> None:
    settings.EVIDENCE_MAX_BYTES = 5 * 1024**3
    response = client_for(None).options(reverse("assessment:evidence_upload_create", args=[1]))
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Max-Size"] == str(5 * 1024**3)
    assert set(response["Tus-Extension"].split(",")) == {"creation", "termination"}


def test_it_cancels_an_upload(client_for: Any, learner: Any, attempt: Attempt) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, 1000)["Location"]
    assert client.delete(url, headers=TUS).status_code == 204
    assert staged_files() == []
    assert client.head(url, headers=TUS).status_code == 404


# tus: bad input -------------------------------------------------------------------------------


def test_it_refuses_an_upload_over_the_limit_before_any_data(
    client_for: Any, learner: Any, attempt: Attempt, settings: Any
) -> None:
    client = client_for(learner)
    response = create(client, attempt.pk, 2 * 1024**3 + 1)
    assert response.status_code == 413
    assert "over the 2.0 GB limit" in response.content.decode()

    settings.EVIDENCE_MAX_BYTES = 10_000
    response = create(client, attempt.pk, 10_001)
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert staged_files() == []


def test_it_refuses_an_empty_file(client_for: Any, learner: Any, attempt: Attempt) -> None:
    response = create(client_for(learner), attempt.pk, 0)
    assert response.status_code == 400
    assert response.content.decode() == "The file is empty: choose the file again."
    assert staged_files() == []


def test_it_refuses_a_program_named_pdf_and_removes_its_data(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, len(ELF), filename="report.pdf")["Location"]

    response = patch(client, url, 0, ELF)

    assert response.status_code == 415
    assert "is a program, whatever its name says" in response.content.decode()
    assert staged_files() == []
    assert not Evidence.objects.exists()
    assert client.head(url, headers=TUS).status_code == 404


def test_it_refuses_a_program_from_its_first_chunk(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    body = MZ + b"\x00" * 20_000
    url = create(client, attempt.pk, 10 * len(body), filename="video.mp4")["Location"]

    response = patch(client, url, 0, body)

    assert response.status_code == 415
    assert staged_files() == []


def test_it_refuses_an_svg_with_script(client_for: Any, learner: Any, attempt: Attempt) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, len(SVG), filename="diagram.svg")["Location"]

    response = patch(client, url, 0, SVG)

    assert response.status_code == 415
    assert "SVG drawings can carry scripts" in response.content.decode()
    assert not Evidence.objects.exists()


def test_it_cleans_a_name_with_path_separators_and_control_characters(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, len(PDF), filename="../../etc/\x1b[31mreport\r\n.pdf")[
        "Location"
    ]
    assert patch(client, url, 0, PDF).status_code == 204
    added = Evidence.objects.get()
    assert added.original_name == "[31mreport.pdf"
    assert ".." not in added.file.name


def test_it_refuses_a_wrong_offset_and_appends_nothing(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    content = mp4_bytes(20_000)
    client = client_for(learner)
    url = create(client, attempt.pk, len(content))["Location"]
    patch(client, url, 0, content[:10_000])

    for wrong in (0, 5_000, 12_000):
        response = patch(client, url, wrong, content[wrong : wrong + 1000])
        assert response.status_code == 409
        assert f"starts at byte {wrong} but the server has 10000 bytes" in response.content.decode()

    assert client.head(url, headers=TUS)["Upload-Offset"] == "10000"
    part = next(p for p in files.staging_dir().iterdir() if p.suffix == ".part")
    assert part.read_bytes() == content[:10_000]


def test_it_refuses_a_chunk_past_the_declared_length(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, 100)["Location"]
    response = patch(client, url, 0, b"x" * 101)
    assert response.status_code == 400
    assert client.head(url, headers=TUS)["Upload-Offset"] == "0"


def test_it_refuses_protocol_mistakes(client_for: Any, learner: Any, attempt: Attempt) -> None:
    client = client_for(learner)
    create_url = reverse("assessment:evidence_upload_create", args=[attempt.pk])
    url = create(client, attempt.pk, 100)["Location"]

    old = client.post(create_url, headers={"Tus-Resumable": "0.2.2", "Upload-Length": "5"})
    assert old.status_code == 412
    assert old["Tus-Version"] == "1.0.0"
    assert client.post(create_url, headers={**TUS}).status_code == 400  # no Upload-Length
    deferred = client.post(create_url, headers={**TUS, "Upload-Defer-Length": "1"})
    assert deferred.status_code == 400
    bad_meta = client.post(
        create_url, headers={**TUS, "Upload-Length": "5", "Upload-Metadata": "filename !!!"}
    )
    assert bad_meta.status_code == 400
    no_item = create(client, attempt.pk, 100, item="not-a-question")
    assert no_item.status_code == 400
    assert "no such question" in no_item.content.decode()
    form_body = client.generic(
        "PATCH", url, b"abc", content_type="text/plain", headers={**TUS, "Upload-Offset": "0"}
    )
    assert form_body.status_code == 415
    assert client.get(create_url).status_code == 405
    assert client.get(url).status_code == 405


def test_it_hides_another_learners_attempt_and_upload(
    client_for: Any, learner: Any, other_learner: Any, attempt: Attempt
) -> None:
    response = create(client_for(other_learner), attempt.pk, 100)
    assert response.status_code == 404
    assert response["Tus-Resumable"] == "1.0.0"

    url = create(client_for(learner), attempt.pk, 100)["Location"]
    intruder = client_for(other_learner)
    assert intruder.head(url, headers=TUS).status_code == 404
    assert patch(intruder, url, 0, b"x" * 10).status_code == 404
    assert intruder.delete(url, headers=TUS).status_code == 404


def test_it_refuses_a_submitted_attempt_with_a_reason(
    client_for: Any, learner: Any, cohort: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, 100)["Location"]
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED)

    response = create(client, attempt.pk, 100)
    assert response.status_code == 403
    assert response.content.decode() == files.SUBMITTED_MESSAGE
    # An upload begun before submitting cannot be finished after it.
    assert patch(client, url, 0, b"x" * 100).status_code == 403
    assert not Evidence.objects.exists()


def test_it_refuses_staff_who_can_see_the_attempt(
    client_for: Any, assessor: Any, attempt: Attempt
) -> None:
    response = create(client_for(assessor), attempt.pk, 100)
    assert response.status_code == 403
    assert "Only the learner" in response.content.decode()


def test_it_answers_404_for_an_unknown_upload(client_for: Any, learner: Any) -> None:
    client = client_for(learner)
    for upload_id in ("A" * 32, "nope"):
        url = reverse("assessment:evidence_upload", args=[upload_id])
        assert client.head(url, headers=TUS).status_code == 404
        assert patch(client, url, 0, b"x").status_code == 404
    assert create(client, 999_999, 100).status_code == 404


def test_it_needs_the_csrf_token_the_widget_sends(learner: Any, attempt: Attempt) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner)
    token = "k" * 32
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    create_url = reverse("assessment:evidence_upload_create", args=[attempt.pk])
    headers = {**TUS, "Upload-Length": str(len(PDF))}

    assert client.post(create_url, headers=headers).status_code == 403
    url = client.post(create_url, headers={**headers, "X-CSRFToken": token})["Location"]
    assert patch(client, url, 0, PDF).status_code == 403
    accepted = client.generic(
        "PATCH",
        url,
        PDF,
        content_type=OCTETS,
        headers={**TUS, "Upload-Offset": "0", "X-CSRFToken": token},
    )
    assert accepted.status_code == 204
    assert Evidence.objects.get().content_type == "application/pdf"


def test_it_refuses_anonymous_uploads(client_for: Any, attempt: Attempt) -> None:
    response = create(client_for(None), attempt.pk, 100)
    assert response.status_code == 403
    assert "sign in" in response.content.decode()


# Without JavaScript ---------------------------------------------------------------------------


def test_it_accepts_a_plain_multipart_upload(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    page = f"/assess/cohorts/{attempt.cohort_id}/tasks/{attempt.task_id}/"
    response = client.post(
        reverse("assessment:evidence_upload_form", args=[attempt.pk]),
        {
            "file": SimpleUploadedFile("photo.png", png_bytes(), content_type="text/html"),
            "item": attempt.task.items.get(key="photo").pk,
            "next": page,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == page
    added = Evidence.objects.get()
    assert added.content_type == "image/png"  # sniffed, not what the browser said
    assert added.item.key == "photo"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Added photo.png."]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (ELF, "is a program"),
        (b"", "Choose a file to upload."),  # the browser sends no file part for an empty one
    ],
)
def test_it_refuses_bad_multipart_uploads_with_a_message(
    client_for: Any, learner: Any, attempt: Attempt, content: bytes, message: str
) -> None:
    client = client_for(learner)
    data: dict[str, Any] = {"next": "https://evil.example/phish"}
    if content:
        data["file"] = SimpleUploadedFile("report.pdf", content)
    response = client.post(reverse("assessment:evidence_upload_form", args=[attempt.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")  # never to another site
    assert message in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert not Evidence.objects.exists()


def test_it_refuses_a_multipart_upload_over_the_limit_unread(
    client_for: Any, learner: Any, attempt: Attempt, settings: Any
) -> None:
    settings.EVIDENCE_MAX_BYTES = 1000
    client = client_for(learner)
    response = client.post(
        reverse("assessment:evidence_upload_form", args=[attempt.pk]),
        {"file": SimpleUploadedFile("big.pdf", PDF + b"x" * (2 * 1024 * 1024))},
    )
    assert response.status_code == 302
    shown = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "The file is 2.0 MB, over the 1000 bytes limit" in shown
    assert not Evidence.objects.exists()


def test_it_refuses_a_multipart_upload_to_a_submitted_attempt(
    client_for: Any, learner: Any, cohort: Any
) -> None:
    submitted = make_attempt(learner, cohort, status=Attempt.Status.SUBMITTED)
    response = client_for(learner).post(
        reverse("assessment:evidence_upload_form", args=[submitted.pk]),
        {"file": SimpleUploadedFile("a.pdf", PDF)},
    )
    assert response.status_code == 302
    assert files.SUBMITTED_MESSAGE in [str(m) for m in get_messages(response.wsgi_request)]
    assert not Evidence.objects.exists()


def test_it_hides_the_form_endpoint_from_other_learners(
    client_for: Any, other_learner: Any, attempt: Attempt
) -> None:
    response = client_for(other_learner).post(
        reverse("assessment:evidence_upload_form", args=[attempt.pk]),
        {"file": SimpleUploadedFile("a.pdf", PDF)},
    )
    assert response.status_code == 404
    assert not Evidence.objects.exists()


# The list and removing a file ----------------------------------------------------------------


@pytest.fixture
def pdf(attempt: Attempt, learner: Any) -> Evidence:
    return files.add_evidence(
        attempt, uploaded_by=learner, name="plan.pdf", content=ContentFile(PDF)
    )


def test_it_lists_the_attempts_files_with_a_remove_button(
    client_for: Any, learner: Any, attempt: Attempt, pdf: Evidence
) -> None:
    photo = files.add_evidence(
        attempt, uploaded_by=learner, name="site.png", content=ContentFile(png_bytes())
    )
    html = (
        client_for(learner)
        .get(reverse("assessment:evidence_list", args=[attempt.pk]))
        .content.decode()
    )
    assert "plan.pdf" in html
    assert "site.png" in html
    assert reverse("assessment:evidence_thumbnail", args=[photo.pk]) in html
    assert reverse("assessment:evidence_withdraw", args=[pdf.pk]) in html
    assert 'hx-trigger="flipside:evidence-changed from:body"' in html


def test_it_lists_without_remove_buttons_for_staff(
    client_for: Any, assessor: Any, other_learner: Any, attempt: Attempt, pdf: Evidence
) -> None:
    url = reverse("assessment:evidence_list", args=[attempt.pk])
    html = client_for(assessor).get(url).content.decode()
    assert "plan.pdf" in html
    assert "Remove" not in html
    assert client_for(other_learner).get(url).status_code == 404


def test_it_removes_a_file_from_a_draft(
    client_for: Any, learner: Any, attempt: Attempt, pdf: Evidence
) -> None:
    client = client_for(learner)
    url = reverse("assessment:evidence_withdraw", args=[pdf.pk])

    response = client.post(url, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "plan.pdf" not in response.content.decode()
    assert "No evidence files yet." in response.content.decode()
    pdf.refresh_from_db()
    assert pdf.withdrawn_at is not None
    again = client.post(url, {"next": "/somewhere/"})
    assert again.status_code == 302
    assert again["Location"] == "/somewhere/"
    assert "already removed" in " ".join(str(m) for m in get_messages(again.wsgi_request))


def test_it_refuses_removal_by_others_and_after_submission(
    client_for: Any,
    learner: Any,
    other_learner: Any,
    assessor: Any,
    attempt: Attempt,
    pdf: Evidence,
) -> None:
    url = reverse("assessment:evidence_withdraw", args=[pdf.pk])
    assert client_for(other_learner).post(url).status_code == 404
    assert client_for(assessor).post(url).status_code == 403
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.SUBMITTED)
    assert client_for(learner).post(url).status_code == 403
    assert client_for(learner).get(url).status_code == 405
    pdf.refresh_from_db()
    assert pdf.withdrawn_at is None


# Serving --------------------------------------------------------------------------------------


def stored(attempt: Attempt, learner: Any, name: str, content: bytes, content_type: str) -> Any:
    """A row made directly, as older or imported data might be, whatever its type."""
    row = Evidence(
        attempt=attempt,
        original_name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=content_type,
        uploaded_by=learner,
    )
    row.file.save(name, ContentFile(content), save=False)
    row.save()
    return row


@pytest.mark.parametrize(
    ("name", "content", "content_type", "disposition"),
    [
        ("photo.png", png_bytes(), "image/png", "inline"),
        ("plan.pdf", PDF, "application/pdf", "inline"),
        ("clip.mp4", mp4_bytes(), "video/mp4", "inline"),
        ("notes.txt", b"notes", "text/plain", "attachment"),
        ("drawing.svg", SVG, "image/svg+xml", "attachment"),
        ("page.html", b"<script>alert(1)</script>", "text/html", "attachment"),
        ("data.xml", b"<a/>", "application/xml", "attachment"),
    ],
)
def test_it_serves_a_file_inline_only_when_it_is_passive(
    client_for: Any,
    learner: Any,
    attempt: Attempt,
    name: str,
    content: bytes,
    content_type: str,
    disposition: str,
) -> None:
    row = stored(attempt, learner, name, content, content_type)
    if content_type == "image/png":
        assert files.make_previews(row.pk)  # a photo is inline once the server could decode it

    response = client_for(learner).get(reverse("assessment:evidence", args=[row.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'{disposition}; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    assert response["Content-Length"] == str(len(content))


def test_it_serves_byte_ranges_for_video_players(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    content = mp4_bytes(10_000)
    row = stored(attempt, learner, "clip.mp4", content, "video/mp4")
    client = client_for(learner)
    url = reverse("assessment:evidence", args=[row.pk])

    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == content[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(content)}"
    assert part["Content-Length"] == "100"
    tail = client.get(url, headers={"Range": "bytes=-10"})
    assert b"".join(tail.streaming_content) == content[-10:]
    assert client.get(url, headers={"Range": f"bytes={len(content)}-"}).status_code == 416


def test_it_serves_the_preview_and_thumbnail_of_a_photo(
    client_for: Any, learner: Any, assessor: Any, attempt: Attempt
) -> None:
    photo = files.add_evidence(
        attempt, uploaded_by=learner, name="site.jpg", content=ContentFile(jpeg_with_gps())
    )
    client = client_for(assessor)

    preview = client.get(reverse("assessment:evidence_preview", args=[photo.pk]))
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/jpeg"
    assert preview["Content-Disposition"].startswith("inline")
    body = b"".join(preview.streaming_content)
    assert body != jpeg_with_gps()
    assert b"Exif" not in body[:200]
    thumbnail = client.get(reverse("assessment:evidence_thumbnail", args=[photo.pk]))
    assert thumbnail["Content-Type"] == "image/jpeg"
    pdf = files.add_evidence(attempt, uploaded_by=learner, name="a.pdf", content=ContentFile(PDF))
    assert client.get(reverse("assessment:evidence_preview", args=[pdf.pk])).status_code == 404


def test_it_serves_files_only_to_those_who_may_see_the_attempt(
    client_for: Any,
    learner: Any,
    other_learner: Any,
    assessor: Any,
    other_assessor: Any,
    auditor: Any,
    attempt: Attempt,
    pdf: Evidence,
) -> None:
    url = reverse("assessment:evidence", args=[pdf.pk])
    assert client_for(learner).get(url).status_code == 200
    assert client_for(assessor).get(url).status_code == 200
    assert client_for(auditor).get(url).status_code == 200
    assert client_for(other_learner).get(url).status_code == 404
    assert client_for(other_assessor).get(url).status_code == 404
    assert client_for(None).get(url).status_code == 302  # to the sign-in page
    assert client_for(learner).post(url).status_code == 405
    missing = reverse("assessment:evidence", args=[pdf.pk + 1000])
    assert client_for(learner).get(missing).status_code == 404


def test_it_lets_our_own_pages_frame_a_pdf(
    client_for: Any, learner: Any, attempt: Attempt, pdf: Evidence
) -> None:
    response = client_for(learner).get(reverse("assessment:evidence", args=[pdf.pk]))
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_it_keeps_a_withdrawn_file_for_the_assessor(
    client_for: Any, learner: Any, assessor: Any, attempt: Attempt, pdf: Evidence
) -> None:
    files.withdraw_evidence(pdf, by=learner)
    url = reverse("assessment:evidence", args=[pdf.pk])
    assert client_for(assessor).get(url).status_code == 200


# Hostile headers ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "١٢", "-1", "1e3", " 5", "0x10", "9" * 5000])
def test_it_refuses_an_upload_length_that_is_not_ascii_digits(
    client_for: Any, learner: Any, attempt: Attempt, value: str
) -> None:
    client = client_for(learner)
    response = client.post(
        reverse("assessment:evidence_upload_create", args=[attempt.pk]),
        headers={**TUS, "Upload-Length": value, "Upload-Metadata": metadata(filename="a.pdf")},
    )
    assert response.status_code in {400, 413}
    assert response["Tus-Resumable"] == "1.0.0"
    assert staged_files() == []


@pytest.mark.parametrize("value", ["²", "٣", "-0", ""])
def test_it_refuses_an_upload_offset_that_is_not_ascii_digits(
    client_for: Any, learner: Any, attempt: Attempt, value: str
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, 100)["Location"]
    response = client.generic(
        "PATCH", url, b"x" * 10, content_type=OCTETS, headers={**TUS, "Upload-Offset": value}
    )
    assert response.status_code == 400
    assert "Upload-Offset must be a whole number of bytes." in response.content.decode()
    assert client.head(url, headers=TUS)["Upload-Offset"] == "0"


@pytest.mark.parametrize(
    ("header", "status", "expected"),
    [
        ("bytes=5-2", 416, None),  # backwards: used to answer nothing and hang
        ("bytes=5-5", 206, (5, 5)),
        ("bytes=0-", 206, (0, 9999)),
        ("bytes=9990-20000", 206, (9990, 9999)),
        ("bytes=-0", 416, None),
        ("bytes=-", 416, None),
        ("bytes=²-3", 416, None),
        ("bytes=1-²", 416, None),
        ("bytes=abc", 416, None),
        ("bytes=" + "9" * 40 + "-", 416, None),
        ("bytes=0-1,5-6", 200, None),  # several ranges: the whole file
        ("items=0-1", 200, None),  # another unit: ignored
    ],
)
def test_it_answers_malformed_and_backwards_ranges_without_hanging(
    client_for: Any, learner: Any, attempt: Attempt, header: str, status: int, expected: Any
) -> None:
    content = bytes(range(256)) * 39 + bytes(16)  # 10,000 bytes
    row = stored(attempt, learner, "clip.mp4", content, "video/mp4")
    response = client_for(learner).get(
        reverse("assessment:evidence", args=[row.pk]), headers={"Range": header}
    )
    assert response.status_code == status
    if status == 416:
        assert response["Content-Range"] == f"bytes */{len(content)}"
        return
    body = b"".join(response.streaming_content)
    assert response["Content-Length"] == str(len(body))
    if expected is None:
        assert body == content
    else:
        first, last = expected
        assert body == content[first : last + 1]
        assert response["Content-Range"] == f"bytes {first}-{last}/{len(content)}"


# Evidence stays inert ---------------------------------------------------------------------------

PDF_WITH_SCRIPT = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction 3 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"3 0 obj<</S/JavaScript/JS(app.alert(document.cookie))>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.mark.parametrize("variant", ["evidence", "evidence_preview", "evidence_thumbnail"])
def test_it_serves_every_evidence_file_sandboxed(
    client_for: Any, learner: Any, assessor: Any, attempt: Attempt, variant: str
) -> None:
    photo = files.add_evidence(
        attempt, uploaded_by=learner, name="site.png", content=ContentFile(png_bytes())
    )
    response = client_for(assessor).get(reverse(f"assessment:{variant}", args=[photo.pk]))
    assert response.status_code == 200
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy  # no allow-scripts, no allow-same-origin
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_serves_a_pdf_with_javascript_sandboxed_for_the_marking_page_frame(
    client_for: Any, learner: Any, assessor: Any, attempt: Attempt
) -> None:
    pdf = files.add_evidence(
        attempt, uploaded_by=learner, name="plan.pdf", content=ContentFile(PDF_WITH_SCRIPT)
    )
    response = client_for(assessor).get(reverse("assessment:evidence", args=[pdf.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")  # framed by the marking page
    assert "sandbox" in [p.strip() for p in response["Content-Security-Policy"].split(";")]
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_it_downloads_a_photo_the_server_could_not_decode(
    client_for: Any, learner: Any, assessor: Any, attempt: Attempt
) -> None:
    """A photo with no viewing copy (damaged, or past the pixel limit before there was one) is
    a download: the browser is never asked to decode what the server would not."""
    row = stored(attempt, learner, "huge.png", png_bytes(), "image/png")
    response = client_for(assessor).get(reverse("assessment:evidence", args=[row.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="huge.png"'
    assert "sandbox" in response["Content-Security-Policy"]


def huge_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header says `width` x `height` (900 megapixels by default) in a few hundred
    bytes: only its header is ever read."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def test_it_refuses_an_image_past_the_pixel_limit_over_tus(
    client_for: Any, learner: Any, attempt: Attempt
) -> None:
    client = client_for(learner)
    body = huge_png()
    url = create(client, attempt.pk, len(body), filename="huge.png")["Location"]
    response = patch(client, url, 0, body)
    assert response.status_code == 413
    message = response.content.decode()
    assert "30,000 by 30,000 pixels (900 megapixels)" in message
    assert "up to 50 megapixels" in message
    assert not Evidence.objects.filter(attempt=attempt).exists()
    assert staged_files() == []


def test_it_refuses_an_image_past_the_pixel_limit_in_the_form(
    client_for: Any, learner: Any, attempt: Attempt, settings: Any
) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1250, 1000)).save(buffer, "PNG")  # 1.25 megapixels
    settings.EVIDENCE_MAX_PIXELS = 1_000_000
    client = client_for(learner)
    url = reverse("assessment:evidence_upload_form", args=[attempt.pk])

    response = client.post(url, {"file": SimpleUploadedFile("p.png", buffer.getvalue())})
    assert response.status_code == 302
    text = [str(m) for m in get_messages(response.wsgi_request)]
    assert text == [
        "This image is 1,250 by 1,000 pixels (1.2 megapixels); images of up to 1 megapixels are"
        " accepted. Save a smaller copy (a phone photo is 12 to 50 megapixels) and upload that."
    ]
    assert not Evidence.objects.filter(attempt=attempt).exists()
    settings.EVIDENCE_MAX_PIXELS = 2_000_000
    client.post(url, {"file": SimpleUploadedFile("p.png", buffer.getvalue())})
    assert Evidence.objects.get(attempt=attempt).preview


def test_it_limits_the_uploads_one_learner_holds_open(
    client_for: Any, learner: Any, other_learner: Any, cohort: Any, attempt: Attempt,
    settings: Any,
) -> None:  # fmt: skip
    settings.EVIDENCE_MAX_OPEN_UPLOADS = 3
    client = client_for(learner)
    urls = [create(client, attempt.pk, 2 * 1024**3 - 1)["Location"] for _ in range(3)]
    refused = create(client, attempt.pk, 2 * 1024**3 - 1)
    assert refused.status_code == 429
    assert "already have 3 uploads in progress" in refused.content.decode()
    assert len(staged_files()) == 6  # three uploads, each a part and a sidecar; nothing more
    # Another learner is not held back by Lena's uploads.
    other_attempt = make_attempt(other_learner, cohort)
    assert create(client_for(other_learner), other_attempt.pk, 10).status_code == 201
    # Cancelling one, or finishing one, makes room again.
    assert client.delete(urls[0], headers=TUS).status_code == 204
    small = create(client, attempt.pk, len(PDF), filename="a.pdf")
    assert small.status_code == 201
    assert create(client, attempt.pk, 10).status_code == 429
    assert patch(client, small["Location"], 0, PDF).status_code == 204  # complete: not open
    assert create(client, attempt.pk, 10).status_code == 201


# A full disk ---------------------------------------------------------------------------------


class DiskFillsUp:
    """`os.write` as on a disk with `room` bytes left: a short write up to the room, then
    ENOSPC, as the kernel does (tests/integration/test_faults_disk.py fills a real one)."""

    def __init__(self, room: int, code: int = errno.ENOSPC) -> None:
        self.room, self.code, self.real = room, code, os.write

    def __call__(self, fd: int, data: Any) -> int:
        if not self.room:
            raise OSError(self.code, os.strerror(self.code))
        written = self.real(fd, bytes(data[: self.room]))
        self.room -= written
        return written


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_it_answers_507_on_a_full_disk_and_keeps_what_arrived_to_resume(
    client_for: Any, learner: Any, attempt: Attempt, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    content = mp4_bytes(3 * 1024 * 1024)
    client = client_for(learner)
    url = create(client, attempt.pk, len(content))["Location"]
    assert patch(client, url, 0, content[:1000]).status_code == 204

    with monkeypatch.context() as disk:
        disk.setattr(files.os, "write", DiskFillsUp(1024 * 1024 + 5, code))
        full = patch(client, url, 1000, content[1000:])
    assert full.status_code == 507
    assert full.content.decode() == uploads.OUT_OF_SPACE_MESSAGE
    assert "your upload is kept and can resume once space is freed" in full.content.decode()
    assert full["Tus-Resumable"] == "1.0.0"
    assert not Evidence.objects.exists()

    # Space is freed: the client asks where to carry on, and finishes.
    offset = int(client.head(url, headers=TUS)["Upload-Offset"])
    assert offset == 1000 + 1024 * 1024 + 5  # every byte written is kept
    assert patch(client, url, offset, content[offset:]).status_code == 204
    added = Evidence.objects.get()
    assert added.sha256 == hashlib.sha256(content).hexdigest()
    with added.file.open("rb") as stored:
        assert stored.read() == content


def test_it_does_not_hide_other_disk_errors(
    client_for: Any, learner: Any, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, 5000)["Location"]
    monkeypatch.setattr(files.os, "write", DiskFillsUp(0, errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        patch(client, url, 0, PDF + b"x" * (5000 - len(PDF)))


def test_it_tells_the_plain_form_the_disk_is_full_and_keeps_the_files_before(
    client_for: Any, learner: Any, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = FileSystemStorage._save
    calls: list[str] = []

    def fills_up(self: Any, name: str, content: Any) -> str:
        calls.append(name)
        if len(calls) == 1:
            return save(self, name, content)
        Path(self.path(name)).parent.mkdir(parents=True, exist_ok=True)
        Path(self.path(name)).write_bytes(b"the first half")  # what a full disk leaves
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", fills_up)
    page = f"/assess/cohorts/{attempt.cohort_id}/tasks/{attempt.task_id}/"
    response = client_for(learner).post(
        reverse("assessment:evidence_upload_form", args=[attempt.pk]),
        {"file": [SimpleUploadedFile("a.pdf", PDF), SimpleUploadedFile("b.pdf", PDF + b"b")]},
        headers={"Referer": "http://testserver" + page},
    )
    assert response.status_code == 302
    assert response["Location"] == "http://testserver" + page
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Added a.pdf.",
        "The server is out of space, so the file was not saved. Try again later.",
    ]
    kept = Evidence.objects.get()
    assert kept.original_name == "a.pdf"
    with kept.file.open("rb") as stored:
        assert stored.read() == PDF
    # Nothing of b.pdf stays behind to take space: only a.pdf's file is on disk.
    on_disk = [p for p in (Path(settings.MEDIA_ROOT) / "evidence").rglob("*") if p.is_file()]
    assert [p.name for p in on_disk] == [Path(kept.file.name).name]
    assert not default_storage.exists(calls[1])


def test_it_leaves_nothing_behind_when_a_full_disk_refuses_a_new_upload(
    client_for: Any, learner: Any, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_text = Path.write_text

    def full(self: Path, *args: Any, **kwargs: Any) -> int:
        write_text(self, "{")  # a page written, then none left
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    response = create(client_for(learner), attempt.pk, 5000)
    assert response.status_code == 507
    assert response.content.decode() == uploads.OUT_OF_SPACE_MESSAGE
    assert staged_files() == []  # no part without its sidecar, no half-written sidecar


def test_it_counts_an_upload_done_when_only_its_sidecar_did_not_fit(
    client_for: Any, learner: Any, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(learner)
    url = create(client, attempt.pk, len(PDF), filename="a.pdf")["Location"]
    monkeypatch.setattr(
        files.PartialUpload, "save", Mock(side_effect=OSError(errno.ENOSPC, "No space left"))
    )
    done = patch(client, url, 0, PDF)
    assert done.status_code == 204  # recorded: the learner must not send it again
    assert done["Upload-Offset"] == str(len(PDF))
    assert Evidence.objects.get().sha256 == hashlib.sha256(PDF).hexdigest()
    assert staged_files() == []  # nothing left that counts as an upload in progress
    assert files.open_uploads(learner) == 0
