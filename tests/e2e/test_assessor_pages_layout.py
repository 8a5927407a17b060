"""The assessor's and auditor's pages at 1280x800 and 390x844 (issue 14, defects 8, 10 and 11):
the records search form's fields share one height with the checkbox on their line, no page is
wider than the screen (the mapping matrix scrolls sideways inside itself), and the marking and
evidence pages pass axe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from delivery.roles import Role
from tests.e2e.axe import assert_accessible
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory, assessable_unit

SIZES = [(1280, 800), (390, 844)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_records_search_form_lines_up(
    browser: Any, daphne_server: Any, width: int, height: int
) -> None:
    auditor = UserFactory(username=f"e2e-auditor-{width}", roles=[Role.AUDITOR])
    CohortFactory(name="Layout cohort")
    context = browser.new_context(
        base_url=daphne_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    sign_in(page, auditor.username, PASSWORD)
    page.goto("/assess/records/")
    form = page.locator(".records-filters")
    heights = form.locator("input:not([type=checkbox]), select").evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().height))"
    )
    assert len(heights) == 9
    assert len(set(heights)) == 1, heights  # every text field, date and select alike
    # Every select offers its choices (they were rendered empty).
    for name in ("outcome", "sort", "cohort"):
        assert form.locator(f"select[name={name}] option").count() >= 2, name
    # The checkbox and its words sit on one line, level with the sort field beside it.
    box = page.get_by_label("Reverse order").bounding_box()
    label = page.locator("label[for=f-descending]").bounding_box()
    sort = page.locator("#f-sort").bounding_box()
    assert box is not None
    assert label is not None
    assert sort is not None
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 4
    if width >= 1280:  # side by side: level with the sort field
        assert abs((box["y"] + box["height"] / 2) - (sort["y"] + sort["height"] / 2)) < 8
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_mapping_matrix_scrolls_inside_itself(
    browser: Any, daphne_server: Any, width: int, height: int
) -> None:
    assessor = UserFactory(username=f"e2e-assessor-{width}", roles=[Role.ASSESSOR])
    cohort = CohortFactory(name="Mapping cohort", assessors=[assessor])
    unit = assessable_unit(course=cohort.course, items=12)["unit"]
    context = browser.new_context(
        base_url=daphne_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    sign_in(page, assessor.username, PASSWORD)
    page.goto(f"/assess/cohorts/{cohort.pk}/units/{unit.pk}/mapping/")
    assert page.get_by_role("columnheader", name="Task 1, item 12").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    # The server process serves the evidence this process stores.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_marking_and_the_evidence_page_pass_axe(
    browser: Any, daphne_server: Any, width: int, height: int
) -> None:
    """Issue 14 defects 8 and 11: the photo opens in a page (title, alt text, download of the
    original, back to marking), and the marking page's headings follow in order."""
    from django.core.files.base import ContentFile

    from assessment import services
    from assessment.evidence.services import add_evidence
    from delivery.services import enrol_learner
    from tests.assessment.conftest import png_bytes

    learner = UserFactory(username=f"e2e-lena-{width}", first_name="Lena", last_name="Nguyen")
    assessor = UserFactory(username=f"e2e-asha-{width}", first_name="Asha", roles=[Role.ASSESSOR])
    cohort = CohortFactory(name="Evidence cohort", assessors=[assessor])
    enrol_learner(learner, cohort)
    task = assessable_unit(course=cohort.course, items=2)["task"]
    draft = services.start_attempt(learner, task, cohort)
    services.save_answers(draft, learner=learner, answers={"q1": "Soap.", "q2": "Gloves."})
    add_evidence(draft, uploaded_by=learner, name="station.png", content=ContentFile(png_bytes()))
    attempt = services.submit_attempt(draft, learner=learner, declared=True)

    context = browser.new_context(
        base_url=daphne_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    sign_in(page, assessor.username, PASSWORD)
    page.get_by_role("link", name="Lena Nguyen").click()
    expect(page.get_by_role("button", name="Start marking")).to_be_visible()
    assert_accessible(page, "marking, not started")
    page.get_by_role("button", name="Start marking").click()
    expect(page.get_by_text("You are marking this attempt")).to_be_visible()
    assert_accessible(page, "marking, started")

    page.get_by_role("link", name="station.png").first.click()
    expect(page.get_by_role("heading", level=1, name="station.png")).to_be_visible()
    expect(
        page.get_by_role("img", name=re.compile("^Photo station.png, uploaded by"))
    ).to_be_visible()
    expect(page.get_by_role("link", name="Download the original")).to_be_visible()
    assert_accessible(page, "evidence page")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_role("link", name="Back to marking").first.click()
    expect(page).to_have_url(re.compile(f"/assess/attempts/{attempt.pk}/mark/$"))
    context.close()
