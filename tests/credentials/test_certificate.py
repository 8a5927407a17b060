"""The certificate PDF: a statement of attainment that is PDF/A-3b, tagged, in Australian
English, carries the signed credential as `credential.json`, links to the verification page by
QR code, and fetches nothing but our own static assets, whatever a learner calls themselves."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
from pypdf import PdfReader
from weasyprint import HTML

from credentials.certificate import (
    ATTACHMENT_NAME,
    STATIC_DIR,
    CertificateData,
    CertificateUnit,
    StaticAssetsURLFetcher,
    URLRefused,
    certificate_data,
    certificate_html,
    qr_code,
    qr_svg,
    render_certificate,
    render_certificate_pdf,
)
from credentials.models import Credential
from credentials.services import credential_url
from tests.credentials.helpers import issued

HOSTILE_NAME = (
    '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://example.com/x.css">'
    "<style>@import url(http://example.com/y.css);</style>"
)


@pytest.fixture
def credential(learner: Any, unit: Any, cohort: Any, assessor: Any) -> Credential:
    return issued(learner, unit, cohort, assessor)


def data(**changes: Any) -> CertificateData:
    values: dict[str, Any] = {
        "provider_name": "Flipside Training",
        "learner_name": "Lena Nguyen",
        "achievement_name": "Provide first aid",
        "human_code": "HLTAID011",
        "is_course": False,
        "units": (CertificateUnit("HLTAID011", "Provide first aid"),),
        "issued_at": datetime(2026, 11, 29, 2, 30, tzinfo=UTC),
        "valid_until": None,
        "credential_id": "0b0f5d1c-8f2a-4c39-9d39-2f1e5d6b7a90",
        "verification_url": "https://flipside.example/credentials/0b0f5d1c-8f2a-4c39-9d39-2f1e5d6b7a90",
        "document": '{"name": "Provide first aid ü"}',
    }
    values.update(changes)
    return CertificateData(**values)


def text_of(reader: PdfReader) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def test_it_renders_a_one_page_a4_landscape_pdf_a_3b(credential: Credential) -> None:
    pdf = render_certificate_pdf(credential)

    assert pdf.startswith(b"%PDF-1.7")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    part = re.search(r'pdfaid:part(?:="|>)(\d)', xmp)
    conformance = re.search(r'pdfaid:conformance(?:="|>)([A-Za-z])', xmp)
    assert part is not None
    assert part.group(1) == "3"
    assert conformance is not None
    assert conformance.group(1) == "B"
    assert root["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"


def test_it_is_tagged_in_australian_english(credential: Credential) -> None:
    root = PdfReader(io.BytesIO(render_certificate_pdf(credential))).trailer["/Root"]

    assert root["/Lang"] == "en-AU"
    assert "/StructTreeRoot" in root
    assert root["/MarkInfo"]["/Marked"].value is True


def test_it_carries_the_signed_credential_byte_for_byte(credential: Credential) -> None:
    reader = PdfReader(io.BytesIO(render_certificate_pdf(credential)))

    assert reader.attachments[ATTACHMENT_NAME] == [credential.document.encode("utf-8")]
    root = reader.trailer["/Root"]
    # WeasyPrint lists the one file specification twice in /AF; it is still one file.
    (file_spec_number,) = {reference.idnum for reference in root["/AF"]}
    file_spec = reader.get_object(file_spec_number)
    assert file_spec["/F"] == ATTACHMENT_NAME
    assert file_spec["/AFRelationship"] == "/Source"
    assert file_spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/vc+ld+json"


def test_it_states_who_was_assessed_competent_in_what(credential: Credential) -> None:
    text = text_of(PdfReader(io.BytesIO(render_certificate_pdf(credential))))

    unit = credential.achievement.unit
    assert unit is not None
    assert "Statement of Attainment" in text
    assert "Lena Nguyen" in text
    assert "has been assessed as Competent in" in text
    assert f"{unit.code} {unit.title}" in text
    assert str(credential.public_id) in text
    assert credential_url(credential.public_id) in text.replace(" ", "")
    assert "VALID UNTIL" not in text.upper()  # no expiry for this course


def test_it_shows_the_providers_rto_code(credential: Credential, settings: Any) -> None:
    settings.PROVIDER_RTO_CODE = "91234"
    text = text_of(PdfReader(io.BytesIO(render_certificate_pdf(credential))))

    assert "RTO code 91234" in text
    assert "(RTO 91234)" in text  # beside "Issued by"


def test_without_an_rto_code_it_prints_no_empty_label(
    credential: Credential, settings: Any
) -> None:
    settings.PROVIDER_RTO_CODE = ""
    text = text_of(PdfReader(io.BytesIO(render_certificate_pdf(credential))))

    assert "RTO" not in text


def test_it_lists_every_unit_of_a_course_credential(
    learner: Any, unit: Any, cohort: Any, assessor: Any
) -> None:
    course = cohort.course
    course.validity_months = 36
    course.save()
    units = [course_unit.unit for course_unit in course.course_units.order_by("position")]
    for each in units:
        issued(learner, each, cohort, assessor)
    course_credential = Credential.objects.get(achievement__course=course)

    made = certificate_data(course_credential)
    text = text_of(PdfReader(io.BytesIO(render_certificate(made))))

    assert made.is_course
    assert [(unit.code, unit.title) for unit in made.units] == [(u.code, u.title) for u in units]
    assert f"{course.code} {course.title}" in text
    for each in units:
        assert f"{each.code} {each.title}" in text
    assert course_credential.valid_until is not None
    assert "VALID UNTIL" in text.upper()  # (labels are in capitals)
    assert str(course_credential.valid_until.year) in text


def test_it_prints_dates_in_australian_order() -> None:
    html = certificate_html(
        data(
            issued_at=datetime(2026, 3, 1, 13, 30, tzinfo=UTC),  # 2 March in Sydney
            valid_until=datetime(2029, 3, 1, 13, 30, tzinfo=UTC),
        )
    )

    assert "2 March 2026" in html
    assert "2 March 2029" in html


def test_the_qr_code_encodes_the_verification_url() -> None:
    url = "https://flipside.example:8000/credentials/0b0f5d1c-8f2a-4c39-9d39-2f1e5d6b7a90"

    svg = qr_svg(url)

    # Read the dark modules back out of the SVG path that segno drew, row by row.
    path = re.search(r'class="qrline"[^>]*\sd="([^"]+)"', svg)
    assert path is not None
    code = qr_code(url)
    border = 4
    size = len(code.matrix)
    drawn = [[0] * size for _ in range(size)]
    x = y = 0.0
    for command, first, second in re.findall(r"([MmHh])(-?[\d.]+)(?: (-?[\d.]+))?", path.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            for column in range(int(x), int(x + float(first))):
                drawn[int(y) - border][column - border] = 1
            x += float(first)
    assert drawn == [[1 if module else 0 for module in row] for row in code.matrix]
    assert code.matrix == segno.make(url, error="m", micro=False).matrix
    assert code.error in {"M", "Q", "H"}
    assert not code.is_micro


def test_the_certificate_shows_the_qr_code_of_its_verification_url() -> None:
    made = data(verification_url="https://flipside.example/credentials/abc")

    assert qr_svg("https://flipside.example/credentials/abc") in certificate_html(made)
    assert qr_svg("https://flipside.example/credentials/abd") not in certificate_html(made)


# --- fetching nothing it should not ---------------------------------------------------------


def test_the_fetcher_serves_only_our_static_assets() -> None:
    fetcher = StaticAssetsURLFetcher()
    font = STATIC_DIR / "fonts" / "DejaVuSans.ttf"
    refused = [
        "file:///etc/passwd",
        "http://example.com/x.css",
        "https://example.com/x.png",
        "ftp://example.com/x",
        (STATIC_DIR / "css" / "flipside.css").as_uri(),  # static, but not the certificate's
        f"file://{STATIC_DIR}/fonts/../../config/settings.py",
        f"file://{STATIC_DIR}/fonts/%2e%2e/%2e%2e/config/settings.py",
        f"file://example.com{font}",
        (STATIC_DIR / "fonts" / "missing.ttf").as_uri(),
        "data:text/plain;base64,aGVsbG8=",  # a data: URI the certificate did not make
        "javascript:alert(1)",
    ]

    for url in refused:
        with pytest.raises(URLRefused):
            fetcher.fetch(url)
    assert fetcher.fetch(font.as_uri()).read() == font.read_bytes()
    allowed = fetcher.allow_data_uri(b"{}", "application/vc+ld+json")
    response = fetcher.fetch(allowed)
    assert response.read() == b"{}"
    assert response.content_type == "application/vc+ld+json"


def test_a_learners_name_fetches_nothing(credential: Credential, tmp_path: Path) -> None:
    learner = credential.learner
    learner.first_name, learner.last_name = HOSTILE_NAME, "Nguyen"
    learner.save()
    fetcher = StaticAssetsURLFetcher()

    pdf = render_certificate(certificate_data(credential), url_fetcher=fetcher)

    # Asked for the attachment it made itself, and for nothing else.
    assert [url.split(",")[0] for url in fetcher.requested] == [
        "data:application/vc+ld+json;base64"
    ]
    assert "root:" not in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    text = text_of(PdfReader(io.BytesIO(pdf))).replace(" ", "")
    assert '<imgsrc="file:///etc/passwd">' in text  # printed as text


def test_even_unescaped_markup_could_fetch_nothing() -> None:
    fetcher = StaticAssetsURLFetcher()
    html = f"<!doctype html><html lang='en-AU'><body><p>Hello</p>{HOSTILE_NAME}</body></html>"

    pdf = HTML(string=html, url_fetcher=fetcher, base_url=str(STATIC_DIR) + "/").write_pdf()

    assert set(fetcher.requested) >= {
        "file:///etc/passwd",
        "http://example.com/x.css",
        "http://example.com/y.css",
    }
    assert b"root:x:0:0" not in pdf
