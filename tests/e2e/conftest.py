"""A real Chromium (Debian's, never a downloaded build) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need_service
from tests.helpers import EVENT_WAIT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser(django_db_setup: None, daphne_server: Any) -> Iterator[Any]:
    """One Chromium for the session, started after the test database and the server exist.

    Playwright's sync API keeps an event loop running in this thread while it lives; the
    tests' own ORM calls (making users, flushing the database) are still plain synchronous
    calls, so Django's async-safety check is lifted for exactly that long. Server processes
    never inherit it (tests/servers.py strips it).
    """
    if not CHROMIUM.exists():
        need_service(f"needs Chromium at {CHROMIUM} (apt-get install chromium; make test does)")
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait for what they expect for up to EVENT_WAIT, not Playwright's 5 s: a busy
    # machine is slow, not wrong.
    expect.set_options(timeout=EVENT_WAIT * 1000)

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser: Any, daphne_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the running server; console errors fail the test."""
    context = browser.new_context(base_url=daphne_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], errors
