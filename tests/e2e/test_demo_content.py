"""The demo's own content, as `seed_demo` loads it from the sample packs, in a real browser."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.test_journey_learner import fold
from tests.e2e.test_login import sign_in


@pytest.fixture
def seeded(settings: Any, service_env: dict[str, str]) -> None:
    # Files go where the server process looks for them.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }
    call_command("seed_demo", "--allow-production", stdout=StringIO())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seeded")
def test_the_demo_learner_studies_the_sample_skill_set(page: Any) -> None:
    sign_in(page, "learner", "flipside-demo")
    expect(page.get_by_text("Welcome to the infection control skill set")).to_be_visible()
    page.get_by_role("link", name="See every module of Infection Control Skill Set").click()
    # The module in hand is open, the rest folded: unfold the first if it is not the one.
    first = fold(page, "How infections spread")
    if first.get_attribute("open") is None:
        first.locator("summary").click()

    # A PDF from the pack, shown inline in the page (framed by us only, under our CSP).
    page.get_by_role("link", name=re.compile("Standard precautions at a glance")).click()
    frame = page.locator("iframe.pdf")
    expect(frame).to_be_visible()
    response = page.request.get(frame.get_attribute("src"))
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")

    # The pack's recording plays from our own server.
    page.get_by_role("link", name=re.compile("Sound check")).first.click()
    audio = page.locator("audio")
    expect(audio).to_be_visible()
    # A function, not an expression: Playwright polls an expression with eval(), which our CSP
    # refuses once the first check has come back false.
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    assert page.evaluate("document.querySelector('audio').duration") > 1
