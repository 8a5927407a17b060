"""Issue 14's third-party journey on the demo data, at a laptop's and a phone's size: Liam's
workplace supervisor, who has no account, opens the link from the e-mail `seed_demo` sent her
and completes the report; the link then works no more. axe-core checks every page."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from assessment.demo import SUPERVISOR_EMAIL
from assessment.models import Attempt, ThirdPartyRequest
from assessment.third_party import services as third_party
from tests.e2e.conftest import sized
from tests.servers import Process

LINK = re.compile(r"^(http://\S+/assess/report/\S+/)$", re.MULTILINE)


def link_from_the_email(worker: Process, *, timeout: float = 120.0) -> str:
    """The supervisor's link, as the e-mail the Celery worker sent (the console backend: its
    log is the outbox) gives it. The log holds every run's e-mails; the one that still opens a
    report is this run's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = worker.output()
        if f"To: {SUPERVISOR_EMAIL}" in output:
            for url in reversed(LINK.findall(output)):
                try:
                    third_party.open_link(url.rstrip("/").rsplit("/", 1)[-1])
                except third_party.LinkRefused:
                    continue
                return url
        time.sleep(0.2)
    pytest.fail(f"no e-mail to {SUPERVISOR_EMAIL} with a working link:\n{worker.output()[-3000:]}")


@pytest.mark.django_db(transaction=True)
@sized
def test_a_supervisor_completes_a_workplace_report_without_an_account(
    celery_worker: Process, page: Any, journey: Any, demo: str, daphne_server: Any
) -> None:
    url = link_from_the_email(celery_worker)
    assert url.startswith(daphne_server.url + "/")
    walk = journey("third-party")

    walk.visit(url, "report")  # what the supervisor does: follow the link in the e-mail
    expect(page.get_by_role("heading", level=1)).to_contain_text("Workplace supervisor's report")
    expect(page.get_by_text("Liam O'Brien").first).to_be_visible()

    # A fresh browser, no account: one judgement per item, a comment, who she is, declared.
    page.get_by_label("Your full name").fill("Dana Whitfield")
    page.get_by_label("Your role at the workplace").fill("Nurse unit manager")
    demonstrated = page.get_by_role("radio", name="Demonstrated", exact=True)
    for n in range(demonstrated.count()):
        demonstrated.nth(n).check()
    page.get_by_role("textbox", name=re.compile("Comment")).first.fill(
        "Briefed two casual staff on their first shifts; I listened in."
    )
    page.get_by_label("I make this declaration.").check()
    walk.visit(page.get_by_role("button", name="Send the report").click, "report sent")
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    request = ThirdPartyRequest.objects.select_related("attempt").get()
    assert request.used_at is not None
    assert (request.supervisor_name, request.supervisor_role) == (
        "Dana Whitfield",
        "Nurse unit manager",
    )
    assert request.attempt.status == Attempt.Status.SUBMITTED
    assert request.attempt.answers.filter(text__contains="casual staff").exists()

    # The link works once: the page says so (410 Gone, which the browser logs as an error).
    walk.visit(url, "link used")
    expect(page.get_by_role("button", name="Send the report")).to_have_count(0)
    assert page.console_errors == [
        "Failed to load resource: the server responded with a status of 410 (Gone)"
    ]
    page.console_errors.clear()
