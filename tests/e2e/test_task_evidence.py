"""Issue 14, defects 1 and 2, in a real browser: on the infection control pack's written task, a
learner attaches the video question 8 asks for with the mouse, beside the question, after a
photo is refused there with the reason; a refused submit keeps the declaration tick and says
why beside the button and at the question; then the attempt is submitted. At 1280x800 and
390x844."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from assessment.models import Attempt, Evidence, Task
from delivery.models import Course, Resource
from delivery.packs import import_pack
from delivery.services import enrol_learner, mark_resource_done
from tests.delivery.test_packs import SAMPLES
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, UserFactory


@pytest.fixture
def media(settings: Any, service_env: dict[str, str]) -> None:
    # The server process stores evidence and pack files where this process writes them.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": Path(service_env["VAR_DIR"]) / "media"},
        },
    }


def video(path: Path, seconds: int) -> Path:
    """An MP4 whose header says it lasts `seconds`."""

    def box(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", 8 + len(body)) + kind + body

    mvhd = box(b"mvhd", b"\0\0\0\0" + struct.pack(">IIII", 0, 0, 1000, seconds * 1000))
    path.write_bytes(
        box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
        + box(b"moov", mvhd)
        + box(b"mdat", os.urandom(200_000))
    )
    return path


def photo(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (120, 90), (10, 120, 200)).save(path, "JPEG")
    return path


def choose_file(page: Any, field: Any, path: Path) -> None:
    """Click the file field with the mouse and pick `path` in the chooser that opens."""
    with page.expect_file_chooser() as chooser:
        field.click()
    chooser.value.set_files(str(path))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_a_learner_attaches_question_8s_video_beside_it_and_submits(
    browser: Any, daphne_server: Any, tmp_path: Path, width: int, height: int
) -> None:
    import_pack(SAMPLES / "infection-control")
    learner = UserFactory(username=f"e2e-written-{width}", first_name="Mia", last_name="Tran")
    cohort = CohortFactory(course=Course.objects.get(code="HLTSS00065"))
    enrol_learner(learner, cohort)
    for resource in Resource.objects.filter(module__course_unit__unit__code="HLTINF006"):
        mark_resource_done(learner, resource)  # the modules the task waits for
    task = Task.objects.get(unit__code="HLTINF006", key="written-questions")

    context = browser.new_context(
        base_url=daphne_server.url, viewport={"width": width, "height": height}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, learner.username, PASSWORD)
    page.goto(f"/assess/cohorts/{cohort.pk}/tasks/")
    page.get_by_role("link", name=task.title).click()
    page.get_by_role("button", name="Start").click()

    answers = page.locator("textarea[name^='answer-']")
    assert answers.count() == 8
    for i in range(answers.count()):
        answers.nth(i).fill(f"My answer to question {i + 1}, in my own words.")
    with page.expect_response(lambda r: r.url.endswith("/save") and r.status == 200):
        page.get_by_role("heading", name="Your answers").click()  # leaving the field saves
    expect(page.locator("#save-status")).to_contain_text("Saved")

    question = page.locator("fieldset", has=page.get_by_text("Question 8", exact=True))
    field = question.get_by_label("Attach a file to question 8")
    expect(question.get_by_text("A video of 40 to 60 seconds")).to_be_visible()

    # A photo is refused beside the question, with the reason, before anything is sent.
    choose_file(page, field, photo(tmp_path / "hands.jpg"))
    refusal = question.locator(".upload--failed [role=alert]")
    expect(refusal).to_contain_text("Question 8 asks for a video")
    assert not Evidence.objects.exists()

    # Submitting now is refused: the reasons beside the button and at question 8; the tick stays.
    page.get_by_label("I make this declaration.").check()
    page.get_by_role("button", name="Submit for marking").click()
    submit_area = page.locator("#submit-area")
    expect(submit_area).to_contain_text("Upload evidence for question 8")
    question = page.locator("fieldset", has=page.get_by_text("Question 8", exact=True))
    expect(question.locator(".question__problems")).to_contain_text(
        "Upload evidence for question 8"
    )
    expect(page.get_by_label("I make this declaration.")).to_be_checked()
    expect(page.locator("textarea[name='answer-spill']")).to_have_value(
        "My answer to question 6, in my own words."
    )

    # The video goes to question 8, with a progress bar, and is listed there.
    field = question.get_by_label("Attach a file to question 8")
    choose_file(page, field, video(tmp_path / "handwash.mp4", 45))
    expect(question.locator(".upload__state")).to_have_text("Uploaded", timeout=30_000)
    expect(question.locator(".evidence-file")).to_contain_text("handwash.mp4")
    stored = Evidence.objects.get()
    assert stored.item.key == "handwash-video"
    page.screenshot(path=str(tmp_path / f"question-8-{width}.png"))

    page.get_by_role("button", name="Submit for marking").click()
    expect(page.get_by_text("Submitted. Your assessor will mark it")).to_be_visible()
    attempt = Attempt.objects.get(learner=learner)
    assert attempt.status == Attempt.Status.SUBMITTED
    [item] = [i for i in attempt.snapshot["items"] if i["key"] == "handwash-video"]
    assert [e["name"] for e in item["evidence"]] == ["handwash.mp4"]
    context.close()
    assert errors == [], errors
