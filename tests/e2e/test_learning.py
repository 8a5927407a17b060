"""A learner works through a course in a real browser; the trainer sees it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from delivery.roles import Role
from delivery.services import enrol_learner
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, ModuleFactory, ResourceFactory, UserFactory


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


@pytest.mark.django_db(transaction=True)
def test_a_learner_works_through_resources_and_the_progress_persists(page: Any) -> None:
    learner = UserFactory(username="e2e-lena", first_name="Lena", last_name="Nguyen")
    trainer = UserFactory(username="e2e-tom", roles=[Role.TRAINER])
    cohort = CohortFactory(name="Browser cohort", trainers=[trainer])
    enrol_learner(learner, cohort)
    pre_work = ModuleFactory(course=cohort.course, title="Pre-work", position=1)
    ResourceFactory(module=pre_work, title="Why hands matter", body="Wash for **20 seconds**.")
    ResourceFactory(module=pre_work, title="Gloves on, gloves off", body="Hands first.")
    later = ModuleFactory(course=cohort.course, title="Practice", position=2, requires=[pre_work])
    ResourceFactory(module=later, title="Sharps", body="Never recap.")

    sign_in(page, learner.username, PASSWORD)
    expect(page.get_by_text("Opens when you finish Pre-work.")).to_be_visible()
    page.get_by_role("link", name="Start: Why hands matter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Why hands matter")
    expect(page.locator(".prose strong")).to_have_text("20 seconds")

    # Marking done swaps the control and the progress bar in place (htmx), without a reload.
    page.evaluate("window.__marker = 'same page'")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_role("button", name="Mark as not done")).to_be_visible()
    expect(page.get_by_text("33% done · 1 of 3 resources")).to_be_visible()
    assert page.evaluate("window.__marker") == "same page"

    page.get_by_role("link", name=re.compile("Gloves on, gloves off")).click()
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_text("67% done · 2 of 3 resources")).to_be_visible()

    sign_out(page)
    sign_in(page, learner.username, PASSWORD)
    expect(page.get_by_text("67% done · 2 of 3 resources")).to_be_visible()
    expect(page.get_by_role("link", name="Continue: Sharps")).to_be_visible()

    sign_out(page)
    sign_in(page, trainer.username, PASSWORD)
    page.get_by_role("link", name="Browser cohort", exact=True).click()
    row = page.get_by_role("row", name=re.compile("Lena Nguyen"))
    expect(row.get_by_role("cell", name="67%")).to_be_visible()
    expect(row.get_by_role("cell", name="2/2")).to_be_visible()
    expect(row.get_by_role("cell", name="0/1")).to_be_visible()
