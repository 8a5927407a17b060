"""The assessor's and auditor's pages laid out for the mouse at 1280x800 and 390x844 (issue 14,
defect 10): the records search form's fields share one height with the checkbox on their line,
and no page is wider than the screen (the mapping matrix scrolls sideways inside itself)."""

from __future__ import annotations

from typing import Any

import pytest

from delivery.roles import Role
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
