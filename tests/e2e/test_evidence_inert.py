"""Evidence is served sandboxed (assessment/evidence/views.py: EVIDENCE_POLICY), and the marking
page still shows it in a real Chromium: a PDF carrying JavaScript renders in its frame through
the browser's PDF viewer, and a photo shows its viewing copy.

What the sandbox does not stop: Chromium's PDF engine (PDFium) runs a PDF's own JavaScript in
its own isolated engine, outside our origin's documents (no DOM, cookies or requests as us), and
its `app.alert` still shows a dialog. An `<iframe sandbox>` would stop that, but Chromium then
refuses to show the PDF at all (measured with this Chromium), so the marking page keeps its
plain iframe."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from assessment import services
from assessment.evidence.services import add_evidence
from assessment.models import Evidence
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory, assessable_unit


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    # The server process reads the evidence this process stores.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


def pdf_with_javascript() -> bytes:
    """A one-page PDF whose document JavaScript would show an alert when opened."""
    from pypdf import PdfWriter
    from pypdf.actions import JavaScript

    writer = PdfWriter()
    writer.add_blank_page(width=300, height=200)
    writer.add_open_action(JavaScript("app.alert('evidence script ran');"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_the_marking_page_shows_sandboxed_evidence(page: Any) -> None:
    learner = UserFactory(username="lena", first_name="Lena", last_name="Nguyen",
                          roles=[Role.LEARNER])  # fmt: skip
    assessor = UserFactory(username="asha", roles=[Role.ASSESSOR])
    cohort = CohortFactory(assessors=[assessor])
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=1)
    attempt = services.start_attempt(learner, made["task"], cohort)
    services.save_answers(attempt, learner=learner, answers={"q1": "See the plan."})
    pdf = add_evidence(attempt, uploaded_by=learner, name="plan.pdf",
                       content=ContentFile(pdf_with_javascript()))  # fmt: skip
    picture = add_evidence(attempt, uploaded_by=learner, name="site.png",
                           content=ContentFile(photo()))  # fmt: skip
    assert Evidence.objects.get(pk=picture.pk).preview
    services.submit_attempt(attempt, learner=learner, declared=True)

    page.on("dialog", lambda dialog: dialog.dismiss())  # PDFium's app.alert, see above
    sign_in(page, assessor.username, PASSWORD)
    response = page.goto(f"/assess/attempts/{attempt.pk}/mark/")
    assert response is not None
    assert response.status == 200

    # The PDF's frame: served sandboxed, and rendered by Chromium's PDF viewer inside it.
    pdf_url = f"/assess/evidence/{pdf.pk}/"
    frame = page.locator(f"iframe[src='{pdf_url}']")
    expect(frame).to_be_visible()
    served = page.request.get(pdf_url)
    assert "sandbox" in [p.strip() for p in served.headers["content-security-policy"].split(";")]
    # Chromium's viewer is an extension frame inside ours; polled, with a generous limit.
    viewer = None
    for _ in range(120):
        viewer = next((f for f in page.frames if f.url.startswith("chrome-extension://")), None)
        if viewer is not None:
            break
        page.wait_for_timeout(500)
    assert viewer is not None, [f.url for f in page.frames]

    # The photo: its thumbnail decoded in the page.
    thumbnail = page.locator(f"img[src='/assess/evidence/{picture.pk}/thumbnail']")
    expect(thumbnail).to_be_visible()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
