"""A real Chromium (Debian's, never a downloaded build) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need_service
from tests.e2e.axe import Journey
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


DEMO_PASSWORD = "flipside-demo"  # the published demo login of seed_demo

# The two sizes every journey is walked at: a laptop, and a phone held upright.
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    # Kept on the test, so the journey fixture does not add "a page was not checked" to a
    # test that has already failed for a better reason.
    report = yield
    if report.when == "call" and report.failed:
        item.stash[CALL_FAILED] = True
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
def _links_name_the_server(settings: Any, daphne_server: Any) -> None:
    """Credentials a test issues in this process name the server under test, as its issuer
    (did:web) and in their links: the server refuses to sign or verify for another host."""
    settings.PUBLIC_URL = daphne_server.url


@pytest.fixture
def page(browser: Any, daphne_server: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the running server; console errors fail the test.

    A test parametrized with `size` (see `SIZES`, and the `sized` decorator) gets that viewport.
    """
    size = SIZES[request.param] if hasattr(request, "param") else None
    options: dict[str, Any] = {"base_url": daphne_server.url}
    if size is not None:
        options["viewport"] = size
    context = browser.new_context(**options)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A test that means to reach an error page (a used link's 410) takes its line out of here.
    page.console_errors = errors
    yield page
    context.close()
    assert errors == [], errors


# Walks the test at both sizes: `@sized` on a test that takes `page`.
sized = pytest.mark.parametrize("page", list(SIZES), indirect=True)


@pytest.fixture
def journey(page: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Journey]]:
    """`journey("auditor")`: a `Journey` on this test's page (axe on every page, screenshots);
    at the end, every page it navigated to must have been checked."""
    made: list[Journey] = []

    def start(name: str) -> Journey:
        made.append(Journey(page, name))
        return made[-1]

    yield start
    if not request.node.stash.get(CALL_FAILED, False):
        for walked in made:
            walked.finish()


def outside_the_event_loop(work: Callable[[], Any]) -> Any:
    """Run `work` in a thread of its own: services push notifications through `async_to_sync`,
    which refuses the thread where Playwright's event loop runs."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run() -> Any:
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def wait_for_idle_workers(redis_url: str, *, timeout: float = 120.0) -> None:
    """Until every running Celery worker has done the jobs the demo queued (credentials for
    its RPL and credit transfer, e-mails): the test's end empties the database with TRUNCATE,
    which deadlocks with a worker still writing. No worker running: nothing to wait for."""
    import time

    import redis
    from django.conf import settings

    from config.celery import app

    if not app.control.inspect(timeout=1).ping():
        return
    queue = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = app.control.inspect(timeout=1).active() or {}
        # The queue the demo's jobs go to (Celery's own default name is "celery").
        if queue.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0 and not any(busy.values()):
            return
        time.sleep(0.2)


@pytest.fixture
def demo(settings: Any, service_env: dict[str, str], daphne_server: Any) -> Iterator[str]:
    """A fresh `seed_demo` in the test database, as `make run` makes it, with its files where
    the server reads them and its links pointing at the server; returns what it printed."""
    from io import StringIO

    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }
    settings.PUBLIC_URL = daphne_server.url
    out = StringIO()
    outside_the_event_loop(lambda: call_command("seed_demo", "--allow-production", stdout=out))
    yield out.getvalue()
    wait_for_idle_workers(service_env["REDIS_URL"])


def sign_in(walk: Journey, username: str, password: str = DEMO_PASSWORD) -> None:
    """Through the front door, as a person does: the site root shows the catalogue, whose
    "Sign in" link leads to the form."""
    page = walk.page
    walk.visit("/", "catalogue")
    walk.visit(page.get_by_role("link", name="Sign in").click, "sign in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    walk.visit(page.get_by_role("button", name="Sign in").click, f"{username} home")


def sign_out(walk: Journey) -> None:
    walk.visit(walk.page.get_by_role("button", name="Sign out").click, "signed out")
