"""Issue 14, defects 1 and 2, in a real browser: on the infection control pack's written task, a
learner attaches the video question 8 asks for with the mouse, beside the question, after a
photo is refused there with the reason; a refused submit keeps the declaration tick and says
why beside the button and at the question; the video is moved to the attempt as a whole and
back; then the attempt is submitted. At 1280x800 and 390x844, every page checked by axe-core
and photographed (tests/e2e/axe.py), none scrolling sideways."""

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
from tests.e2e.conftest import sized
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


def no_sideways_scrolling(page: Any) -> None:
    width = (page.viewport_size or {})["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("media")
@sized
def test_a_learner_attaches_question_8s_video_beside_it_and_submits(
    page: Any, journey: Any, tmp_path: Path
) -> None:
    width = page.viewport_size["width"]
    import_pack(SAMPLES / "infection-control")
    learner = UserFactory(username=f"e2e-written-{width}", first_name="Mia", last_name="Tran")
    cohort = CohortFactory(course=Course.objects.get(code="HLTSS00065"))
    enrol_learner(learner, cohort)
    for resource in Resource.objects.filter(module__course_unit__unit__code="HLTINF006"):
        mark_resource_done(learner, resource)  # the modules the task waits for
    task = Task.objects.get(unit__code="HLTINF006", key="written-questions")

    sign_in(page, learner.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    walk = journey("task-evidence")
    walk.visit(f"/assess/cohorts/{cohort.pk}/tasks/", "task list")
    walk.visit(lambda: page.get_by_role("link", name=task.title).click(), "task")
    walk.visit(lambda: page.get_by_role("button", name="Start").click(), "draft")
    no_sideways_scrolling(page)

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
    walk.see("photo refused")

    # Submitting now is refused: the reasons beside the button and at question 8; the tick stays.
    page.get_by_label("I make this declaration.").check()
    walk.visit(
        lambda: page.get_by_role("button", name="Submit for marking").click(), "submit refused"
    )
    no_sideways_scrolling(page)
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
    walk.see("video attached")
    no_sideways_scrolling(page)

    # Moved to the attempt as a whole with the mouse, and back to question 8.
    other = page.locator("section.other-evidence")
    question.get_by_label("Attach handwash.mp4 to").select_option(label="The attempt as a whole")
    question.get_by_role("button", name="Move handwash.mp4", exact=True).click()
    expect(other.locator(".evidence-file")).to_contain_text("handwash.mp4")
    expect(question.get_by_text("No file attached to question 8 yet.")).to_be_visible()
    stored.refresh_from_db()
    assert stored.item is None
    walk.see("moved to the attempt")
    no_sideways_scrolling(page)
    other.get_by_label("Attach handwash.mp4 to").select_option(label="Question 8")
    other.get_by_role("button", name="Move handwash.mp4", exact=True).click()
    expect(question.locator(".evidence-file")).to_contain_text("handwash.mp4")
    expect(other.get_by_text("No other files yet.")).to_be_visible()
    stored.refresh_from_db()
    assert stored.item.key == "handwash-video"
    walk.see("moved back to question 8")

    walk.visit(lambda: page.get_by_role("button", name="Submit for marking").click(), "submitted")
    expect(page.get_by_text("Submitted. Your assessor will mark it")).to_be_visible()
    no_sideways_scrolling(page)
    attempt = Attempt.objects.get(learner=learner)
    assert attempt.status == Attempt.Status.SUBMITTED
    [item] = [i for i in attempt.snapshot["items"] if i["key"] == "handwash-video"]
    assert [e["name"] for e in item["evidence"]] == ["handwash.mp4"]
