"""Issue 4's whole flow in a real browser: a large evidence upload survives a dropped
connection, the assessor marks NS, the learner resubmits, the assessor marks S and records
Competent, and the audit trail verifies."""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from assessment.audit.services import verify_chain
from assessment.models import Attempt, Evidence, Outcome
from delivery.roles import Role
from delivery.services import enrol_learner
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory, assessable_unit
from tests.helpers import EVENT_WAIT

SIZE = 24 * 1024 * 1024


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    # The server process stores evidence; this process reads it back to check it.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


def answer_and_submit(page: Any, answers: dict[str, str]) -> None:
    for key, text in answers.items():
        page.locator(f"textarea[name='answer-{key}']").fill(text)
    # The draft saves itself (htmx) while the learner types.
    expect(page.locator("#save-status")).to_contain_text("Saved")
    page.get_by_label("I make this declaration.").check()
    page.get_by_role("button", name="Submit for marking").click()
    expect(page.get_by_text("Submitted. Your assessor will mark it")).to_be_visible()


def mark(page: Any, results: dict[str, str], feedback: str) -> None:
    # Opening the page claims nothing: the assessor starts marking, which opens the form.
    page.get_by_role("button", name="Start marking").click()
    expect(page.get_by_text("You are marking this attempt")).to_be_visible()
    for number, (_key, result) in enumerate(results.items(), start=1):
        group = page.get_by_role("radiogroup", name=f"Judgement for item {number}")
        label = "Satisfactory" if result == "S" else "Not satisfactory"
        group.get_by_label(label, exact=True).check()
        if result == "NS":
            page.get_by_label("Comment").nth(number - 1).fill("Name all five moments.")
    page.get_by_label("Feedback to the learner").fill(feedback)
    page.get_by_label("I make this declaration.").check()
    page.get_by_role("button", name="Record judgement").click()
    expect(page.get_by_text(re.compile("Marked\\. .* will be told\\."))).to_be_visible()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
def test_upload_survives_a_dropped_connection_then_mark_resubmit_and_competent(
    browser: Any, daphne_server: Any, celery_worker: Any, tmp_path: Path
) -> None:
    learner = UserFactory(username="e2e-learner", first_name="Lena", last_name="Nguyen")
    assessor = UserFactory(username="e2e-assessor", first_name="Asha", roles=[Role.ASSESSOR])
    cohort = CohortFactory(name="Flow cohort", assessors=[assessor])
    enrol_learner(learner, cohort)
    made = assessable_unit(course=cohort.course, items=2)
    task, unit = made["task"], made["unit"]

    evidence = tmp_path / "hand-hygiene-audit.pdf"
    evidence.write_bytes(b"%PDF-1.4\n" + os.urandom(SIZE))
    expected = hashlib.sha256(evidence.read_bytes()).hexdigest()

    learner_ctx = browser.new_context(base_url=daphne_server.url)
    page = learner_ctx.new_page()
    sign_in(page, learner.username, PASSWORD)
    page.goto(f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/")
    page.get_by_role("button", name="Start").click()

    # Slow the upload down so the connection can be cut part-way through.
    cdp = learner_ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 3_000_000},
    )
    page.get_by_label("Add evidence files").set_input_files(str(evidence))
    bar = page.locator(".upload progress")
    page.wait_for_function(
        "() => (document.querySelector('.upload progress') || {}).value >= 20", timeout=30_000
    )
    learner_ctx.set_offline(True)
    page.wait_for_timeout(2_000)
    stopped_at = int(bar.get_attribute("value") or 0)
    assert stopped_at < 100
    learner_ctx.set_offline(False)
    expect(page.locator(".upload__state").first).to_have_text("Uploaded", timeout=60_000)
    stored = Evidence.objects.get()
    assert (stored.sha256, stored.size) == (expected, SIZE + 9)
    assert stored.content_type == "application/pdf"

    answer_and_submit(page, {"q1": "Before touching a patient.", "q2": "Gloves and gown."})

    assessor_ctx = browser.new_context(base_url=daphne_server.url)
    marker = assessor_ctx.new_page()
    sign_in(marker, assessor.username, PASSWORD)
    marker.get_by_role("link", name="Lena Nguyen").click()
    expect(marker.get_by_text("hand-hygiene-audit.pdf")).to_be_visible()
    mark(marker, {"q1": "NS", "q2": "S"}, "Nearly there.")

    page.goto(f"/assess/cohorts/{cohort.pk}/tasks/{task.pk}/")
    expect(page.get_by_text("Name all five moments.")).to_be_visible()
    page.get_by_role("button", name="Start attempt 2").click()
    expect(page.get_by_text("Satisfactory in your last attempt: kept as it was.")).to_be_visible()
    answer_and_submit(page, {"q1": "Before and after touching a patient, and three more."})

    marker.goto("/assess/queue/")
    marker.get_by_role("link", name="Lena Nguyen").click()
    mark(marker, {"q1": "S", "q2": "S"}, "Well done.")
    # The unit's last task is Satisfactory: marking goes on to the outcome, Competent offered.
    expect(marker.get_by_text(f"Every task of {unit.code} is now Satisfactory")).to_be_visible()
    marker.get_by_role("link", name="Record the outcome").click()
    expect(marker.get_by_label("Competent", exact=True)).to_be_checked()
    marker.get_by_role("button", name="Record outcome").click()
    expect(marker.get_by_text("Outcome recorded for Lena Nguyen: Competent.")).to_be_visible()
    # The page confirms the credential once the worker has issued it, with a link to it.
    credential_link = marker.locator("a[href*='/credentials/']")
    for _ in range(120):
        if credential_link.count():
            break
        marker.wait_for_timeout(500)
        marker.get_by_role("link", name="check again").click()
    expect(credential_link.first).to_be_visible()

    assert Outcome.objects.get().code == Outcome.Code.COMPETENT
    assert list(Attempt.objects.order_by("number").values_list("result", flat=True)) == ["NS", "S"]

    # Competent becomes a credential in the learner's wallet within seconds (the Celery worker
    # issues it), and its public page says it is valid.
    page.goto("/credentials/wallet/")
    deadline = time.monotonic() + EVENT_WAIT
    while time.monotonic() < deadline:
        if page.get_by_role("link", name=unit.title).count():
            break
        page.wait_for_timeout(500)
        page.reload()
    page.get_by_role("link", name=unit.title).click()
    expect(page.get_by_text("This credential is valid.")).to_be_visible()

    check = verify_chain()
    assert check.ok, check
    learner_ctx.close()
    assessor_ctx.close()
