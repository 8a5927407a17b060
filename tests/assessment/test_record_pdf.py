"""The record PDF: PDF/A-3b, tagged, in Australian English, with running headers and page
numbers, the whole record, thumbnails embedded, a manifest of evidence with SHA-256, and the
record JSON attached; it fetches nothing but our fonts and its own data: URIs; its view is
scoped like the record page."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from pypdf import PdfReader

from assessment.models import Attempt
from assessment.records.pdf import ATTACHMENT_NAME, record_json, render_record_pdf
from assessment.records.pdf_assets import FONTS_DIR, STATIC_DIR, AssetsURLFetcher, URLRefused
from assessment.records.selectors import load_record
from delivery.records import RecordKey
from tests.assessment.test_records import grant, record_url

HOSTILE = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://example.com/x.css">'
    "<style>@import url(http://example.com/y.css);</style>"
)


def key_of(made: dict[str, Any]) -> RecordKey:
    return RecordKey(made["learner"].pk, made["cohort"].pk, made["unit"].pk)


def text_of(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@pytest.fixture
def pdf(assessed: dict[str, Any]) -> bytes:
    return render_record_pdf(load_record(key_of(assessed)))


def test_it_is_a_tagged_pdf_a_3b_in_australian_english(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    root = PdfReader(io.BytesIO(pdf)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    part = re.search(r'pdfaid:part(?:="|>)(\d)', xmp)
    conformance = re.search(r'pdfaid:conformance(?:="|>)([A-Za-z])', xmp)
    assert part is not None
    assert part.group(1) == "3"
    assert conformance is not None
    assert conformance.group(1) == "B"
    assert root["/Lang"] == "en-AU"
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"].value is True


def test_it_has_running_headers_and_page_numbers(
    pdf: bytes, assessed: dict[str, Any], settings: Any
) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"Page {number} of {pages}" in text
        assert settings.PROVIDER_NAME in text
        assert "Lena Nguyen" in text
        assert assessed["unit"].code in text


def test_it_holds_the_whole_record_and_a_manifest_of_evidence(
    pdf: bytes, assessed: dict[str, Any]
) -> None:
    text = text_of(PdfReader(io.BytesIO(pdf)))
    squeezed = text.replace(" ", "")
    attempt = Attempt.objects.get(pk=assessed["attempt"].pk)
    for expected in [
        "Enrolment",
        "Wash hands first.",
        "Clear.",
        "Competent",
        "Mapping to the unit",
        "Manifest of evidence files",
        "audit.pdf",
        "photo.png",
        "Outcome recorded",
        "are intact",
    ]:
        assert expected in text, expected
    assert attempt.declaration[:30].replace(" ", "") in squeezed
    for evidence in assessed["evidence"]:
        assert evidence.sha256 in squeezed


def test_it_embeds_the_thumbnail_and_fetches_only_its_own_data(assessed: dict[str, Any]) -> None:
    photo = assessed["evidence"][1]
    assert photo.thumbnail  # made on upload
    fetcher = AssetsURLFetcher()

    pdf = render_record_pdf(load_record(key_of(assessed)), url_fetcher=fetcher)

    kinds = sorted(url.split(",")[0] for url in fetcher.requested)
    assert kinds == ["data:application/json;base64", "data:image/jpeg;base64"]
    reader = PdfReader(io.BytesIO(pdf))
    images = [image for page in reader.pages for image in page.images]
    assert images


def test_it_carries_the_record_json(assessed: dict[str, Any]) -> None:
    record = load_record(key_of(assessed))
    reader = PdfReader(io.BytesIO(render_record_pdf(record)))

    (attached,) = reader.attachments[ATTACHMENT_NAME]
    data = json.loads(attached)
    assert data == record_json(load_record(key_of(assessed)))
    assert data["outcome"] == "20"
    assert data["tasks"][0]["attempts"][0]["items"][0]["answer_text"] == "Wash hands first."
    assert {e["sha256"] for e in data["tasks"][0]["attempts"][0]["evidence"]} == {
        e.sha256 for e in assessed["evidence"]
    }
    assert data["audit"]["chain"]["ok"] is True
    event = data["audit"]["events"][-1]
    assert set(event) == {"id", "at", "actor_label", "action", "object", "payload"} | {
        "prev_hash",
        "hash",
    }
    assert "credential" in data["sections"]
    assert data["audit"]["auditor_openings"] == {"count": 0, "last": None}


def test_learner_text_fetches_nothing(assessed: dict[str, Any]) -> None:
    attempt = Attempt.objects.get(pk=assessed["attempt"].pk)
    snapshot = attempt.snapshot
    snapshot["items"][0]["answer"]["text"] = HOSTILE
    Attempt.objects.filter(pk=attempt.pk).update(snapshot=snapshot)
    learner = assessed["learner"]
    learner.first_name = HOSTILE
    learner.save()
    fetcher = AssetsURLFetcher()

    pdf = render_record_pdf(load_record(key_of(assessed)), url_fetcher=fetcher)

    assert all(url.startswith("data:") for url in fetcher.requested), fetcher.requested
    text = text_of(PdfReader(io.BytesIO(pdf))).replace(" ", "")
    assert '<imgsrc="file:///etc/passwd">' in text  # printed as text
    assert "root:x:0:0" not in text


def test_the_fetcher_serves_only_our_fonts_and_its_own_data_uris() -> None:
    fetcher = AssetsURLFetcher()
    font = FONTS_DIR / "DejaVuSans.ttf"
    for url in [
        "file:///etc/passwd",
        "http://example.com/x.css",
        "https://example.com/x.png",
        (STATIC_DIR / "css" / "flipside.css").as_uri(),
        f"file://{FONTS_DIR}/../../config/settings.py",
        f"file://{FONTS_DIR}/%2e%2e/%2e%2e/config/settings.py",
        f"file://example.com{font}",
        "data:text/plain;base64,aGVsbG8=",
    ]:
        with pytest.raises(URLRefused):
            fetcher.fetch(url)
    assert fetcher.fetch(font.as_uri()).read() == font.read_bytes()
    assert fetcher.fetch(fetcher.allow_data_uri(b"{}", "application/json")).read() == b"{}"


# --- the view -------------------------------------------------------------------------------


def pdf_url(made: dict[str, Any]) -> str:
    return f"{record_url(made)}record.pdf"


def test_it_downloads_the_pdf_from_the_record_page(
    client_for: Any, auditor: Any, assessed: dict[str, Any]
) -> None:
    client = client_for(auditor)
    assert f'href="{pdf_url(assessed)}"' in client.get(record_url(assessed)).content.decode()

    response = client.get(pdf_url(assessed))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith(b"%PDF-")


def test_the_pdf_is_404_outside_the_auditors_grant(
    client_for: Any, auditor: Any, assessed: dict[str, Any], other_cohort: Any
) -> None:
    grant(auditor, cohorts=[other_cohort])
    assert client_for(auditor).get(pdf_url(assessed)).status_code == 404


def test_the_pdf_of_no_record_is_404_and_other_roles_are_refused(
    client_for: Any, auditor: Any, administrator: Any, assessed: dict[str, Any], other_cohort: Any
) -> None:
    missing = f"/assess/records/{other_cohort.pk}/{assessed['learner'].pk}/{assessed['unit'].pk}/"
    assert client_for(auditor).get(f"{missing}record.pdf").status_code == 404
    assert client_for(assessed["learner"]).get(pdf_url(assessed)).status_code == 403
    assert client_for(administrator).post(pdf_url(assessed)).status_code == 405
