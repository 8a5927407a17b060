"""Issue 14's learner journey on the demo data, at a laptop's and a phone's size, in three
people's steps (each demo learner stands at a different point of the same path):

- Noah, new: his dashboard, a module of every resource kind studied, each task kind opened,
  the quiz answered and submitted, the written task answered with evidence attached to the
  attempt (a large file whose connection is cut part-way and resumes) and to the question that
  requires it, and submitted;
- Mia, after Not Satisfactory: reads the feedback, resubmits, and the attempt waits again;
- Lena, Competent: finds her credential, shares it, downloads the certificate and verifies
  the credential on the verify page.

(Noah's marking and Competent are the assessor journey's; see test_journey_assessor.py.)
axe-core checks every page on the way.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from django.conf import settings
from playwright.sync_api import expect

from assessment.demo import demo_photo, demo_video
from assessment.models import Attempt
from tests.e2e.conftest import sign_in, sized

PART = 64 * 1024 * 1024  # the upload's part size (static/js/evidence-upload.js)
LARGE = PART + 4 * 1024 * 1024  # a large file: two parts
PACK = yaml.safe_load((settings.BASE_DIR / "packs/infection-control/pack.yaml").read_text())
HLTINF006 = next(unit for unit in PACK["units"] if unit["code"] == "HLTINF006")
TASKS = {task["key"]: task for task in HLTINF006["tasks"]}
# The skill set's first three modules, in order: together every kind of resource.
STUDY = [
    "The chain of infection",
    "How to wash your hands",
    "Standard precautions at a glance",
    "Sound check",
    "The moments for hand hygiene",
    "How to use alcohol-based hand rub",
    "Putting on and taking off PPE",
    "Which bin?",
    "If you get a sharps injury",
    "Australian guidelines for the prevention and control of infection in healthcare",
]


def settle(page: Any) -> None:
    """Let the draft's autosave (fired by each tick) finish, as a person sees "Saved" before
    submitting (one still on its way when the attempt is submitted is answered 204 and
    changes nothing: tests/assessment/test_task_page.py)."""
    page.wait_for_load_state("networkidle")


def answer_choices(page: Any, task_key: str, *, wrong: frozenset[str] = frozenset()) -> None:
    """Tick the right options (as the learner knows them from the modules), question by
    question; a wrong one for the items in `wrong`."""
    for number, item in enumerate(TASKS[task_key]["items"], start=1):
        question = page.get_by_role("group", name=f"Question {number}", exact=True)
        if "choices" not in item:
            continue
        right = [item["choices"][i - 1] for i in item["correct"]]  # the pack counts from 1
        if item["key"] in wrong:
            right = [next(c for c in item["choices"] if c not in right)]
        for choice in right:
            question.get_by_label(choice, exact=True).check()


def attach_through_a_dropped_connection(page: Any, control: Any, tmp_path: Path) -> Path:
    """A file larger than one upload part (64 MiB), whose second part's connection is cut: the
    upload asks the server where to go on (HEAD) and resumes from the part it kept."""
    audit = tmp_path / "hand-hygiene-audit.pdf"
    audit.write_bytes(b"%PDF-1.4\n" + os.urandom(LARGE))
    sent: list[tuple[str, str]] = []
    cut: list[str] = []

    def cut_the_second_part(route: Any) -> None:
        offset = route.request.header_value("upload-offset") or ""
        sent.append((route.request.method, offset))
        if route.request.method == "PATCH" and offset not in ("", "0") and not cut:
            cut.append(offset)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/assess/uploads/**", cut_the_second_part)
    with page.expect_file_chooser() as chooser:
        control.click()
    chooser.value.set_files(str(audit))
    row = page.locator(".upload", has_text=audit.name)
    expect(row.locator(".upload__state")).to_have_text("Uploaded")
    page.unroute("**/assess/uploads/**")
    # The browser reports the connection we cut; it is the only error the page may show.
    page.console_errors.remove("Failed to load resource: net::ERR_CONNECTION_RESET")
    assert cut == [str(PART)], sent
    after_cut = sent[sent.index(("PATCH", str(PART))) + 1 :]
    assert ("HEAD", "") in after_cut, sent  # it asked where to go on...
    assert ("PATCH", str(PART)) in after_cut, sent  # ...and sent only what was missing
    return audit


@pytest.mark.django_db(transaction=True)
@sized
def test_a_new_learner_studies_and_attempts_each_kind_of_task(
    page: Any, journey: Any, demo: str, tmp_path: Path
) -> None:
    walk = journey("learner-noah")
    sign_in(walk, "learner4")
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    walk.visit(
        page.get_by_role("link", name="See every module of Infection Control Skill Set").click,
        "course",
    )
    walk.visit(page.get_by_role("link", name=re.compile(STUDY[0])).first.click, "resource 1")
    for number, title in enumerate(STUDY, start=1):
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        page.get_by_role("button", name="Mark as done").click()
        expect(page.get_by_role("button", name="Mark as not done")).to_be_visible()
        if number < len(STUDY):
            walk.visit(page.locator("a[rel=next]").click, f"resource {number + 1}")
    walk.see("resource done")

    walk.visit(page.get_by_role("link", name="My learning").first.click, "dashboard again")
    skill_set = page.get_by_role("region", name="Infection Control Skill Set")
    walk.visit(skill_set.get_by_role("link", name="Assessment tasks").click, "tasks")

    # The quiz: answered right, declared, submitted; it waits for marking.
    walk.visit(page.get_by_role("link", name="Infection prevention basics quiz").click, "quiz")
    walk.visit(page.get_by_role("button", name="Start").click, "quiz started")
    answer_choices(page, "basics-quiz")
    page.get_by_label("I make this declaration.").check()
    settle(page)
    walk.visit(page.get_by_role("button", name="Submit for marking").click, "quiz submitted")
    quiz = Attempt.objects.get(learner__username="learner4", task__key="basics-quiz")
    assert quiz.status == Attempt.Status.SUBMITTED

    # The observation: done by the assessor, the page says so.
    walk.visit(page.get_by_role("link", name="Assessment", exact=True).click, "tasks 2")
    walk.visit(
        page.get_by_role("link", name="Observation of infection prevention practice").click,
        "observation",
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Observation of infection prevention practice"
    )

    # The written task: answers, and evidence attached to the attempt.
    walk.visit(page.get_by_role("link", name="Assessment", exact=True).click, "tasks 3")
    walk.visit(
        page.get_by_role("link", name="Written questions and hand hygiene evidence").click,
        "written",
    )
    walk.visit(page.get_by_role("button", name="Start").click, "written started")
    for number in range(1, len(TASKS["written-questions"]["items"]) + 1):
        page.get_by_role("group", name=f"Question {number}", exact=True).get_by_role(
            "textbox"
        ).fill(f"My answer to question {number}, from what I do at work.")
    photo = tmp_path / "gloves-station.jpg"
    photo.write_bytes(demo_photo())
    whole = page.get_by_label("Add evidence files for the attempt as a whole").first
    with page.expect_file_chooser() as chooser:
        whole.click()
    chooser.value.set_files(str(photo))
    expect(page.get_by_text("gloves-station.jpg").first).to_be_visible(timeout=60_000)
    audit = attach_through_a_dropped_connection(page, whole, tmp_path)
    # Question 8 asks for a video of its own, attached beside it.
    clip = tmp_path / "handwash.mp4"
    clip.write_bytes(demo_video(45))
    question = page.get_by_role("group", name="Question 8", exact=True)
    with page.expect_file_chooser() as chooser:
        question.get_by_label("Attach a file to question 8").click()
    chooser.value.set_files(str(clip))
    expect(question.locator(".evidence-file")).to_contain_text("handwash.mp4", timeout=60_000)
    walk.see("written with evidence")
    page.get_by_label("I make this declaration.").check()
    settle(page)
    walk.visit(page.get_by_role("button", name="Submit for marking").click, "written submitted")
    expect(page.get_by_text("Submitted. Your assessor will mark it")).to_be_visible()
    written = Attempt.objects.get(learner__username="learner4", task__key="written-questions")
    assert written.status == Attempt.Status.SUBMITTED
    assert written.evidence.filter(original_name="gloves-station.jpg", item=None).exists()
    stored = written.evidence.get(original_name=audit.name, item=None)
    assert (stored.sha256, stored.size) == (
        hashlib.sha256(audit.read_bytes()).hexdigest(),
        audit.stat().st_size,
    )
    assert written.evidence.filter(
        original_name="handwash.mp4", item__key="handwash-video"
    ).exists()


@pytest.mark.django_db(transaction=True)
@sized
def test_a_learner_reads_the_feedback_and_resubmits(page: Any, journey: Any, demo: str) -> None:
    walk = journey("learner-mia")
    sign_in(walk, "learner3")
    skill_set = page.get_by_role("region", name="Infection Control Skill Set")
    walk.visit(skill_set.get_by_role("link", name="Assessment tasks").click, "tasks")
    walk.visit(page.get_by_role("link", name="Infection prevention basics quiz").click, "quiz")
    expect(page.get_by_text("Not satisfactory").first).to_be_visible()
    expect(page.get_by_text("Nearly there").first).to_be_visible()
    walk.visit(page.get_by_role("link", name="See this attempt as submitted").click, "attempt 1")
    expect(page.get_by_text("Droplets travel about a metre").first).to_be_visible()
    walk.visit(page.go_back, "back")

    walk.visit(page.get_by_role("button", name="Start attempt 2").click, "attempt 2")
    expect(
        page.get_by_text("Satisfactory in your last attempt: kept as it was.").first
    ).to_be_visible()
    number = 1 + [i["key"] for i in TASKS["basics-quiz"]["items"]].index("droplet")
    item = TASKS["basics-quiz"]["items"][number - 1]
    question = page.get_by_role("group", name=f"Question {number}", exact=True)
    question.get_by_label(item["choices"][item["correct"][0] - 1], exact=True).check()
    page.get_by_label("I make this declaration.").check()
    settle(page)
    walk.visit(page.get_by_role("button", name="Submit for marking").click, "resubmitted")
    attempts = Attempt.objects.filter(learner__username="learner3", task__key="basics-quiz")
    assert list(attempts.order_by("number").values_list("number", "status")) == [
        (1, "marked"),
        (2, "submitted"),
    ]


@pytest.mark.django_db(transaction=True)
@sized
def test_a_competent_learner_finds_shares_downloads_and_verifies_a_credential(
    page: Any, journey: Any, demo: str, daphne_server: Any, tmp_path: Path
) -> None:
    walk = journey("learner-lena")
    sign_in(walk, "learner")
    walk.visit(page.get_by_role("link", name="My credentials").first.click, "wallet")
    card = (
        page.locator("article, li, section")
        .filter(has=page.get_by_role("link", name="Infection Control Skill Set", exact=True))
        .last
    )
    linkedin = card.get_by_role("link", name=re.compile("Add to LinkedIn")).get_attribute("href")
    facebook = card.get_by_role("link", name=re.compile("Share on Facebook")).get_attribute("href")

    walk.visit(
        card.get_by_role("link", name="Infection Control Skill Set", exact=True).click,
        "credential",
    )
    credential_url = page.url
    assert credential_url.startswith(daphne_server.url + "/credentials/")

    # Shared on LinkedIn and Facebook: both name this credential's page, absolute, at the
    # address that serves the app (PUBLIC_URL, which tests/servers.py sets to its own).
    assert linkedin is not None
    assert linkedin.startswith("https://www.linkedin.com/profile/add?")
    assert parse_qs(urlparse(linkedin).query)["certUrl"] == [credential_url]
    assert facebook is not None
    assert facebook.startswith("https://www.facebook.com/sharer/sharer.php?")
    assert parse_qs(urlparse(facebook).query)["u"] == [credential_url]

    # The certificate, downloaded from the credential's page, verified on the verify page.
    with page.expect_download() as certificate:
        page.get_by_role("link", name="Certificate (PDF)").first.click()
    pdf = tmp_path / "certificate.pdf"
    certificate.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    walk.visit(page.get_by_role("link", name="verify page").click, "verify")
    page.get_by_label("Or choose a file").set_input_files(str(pdf))
    walk.visit(page.get_by_role("button", name="Verify").click, "verified")
    expect(page.get_by_role("heading", level=2, name=re.compile("Verified"))).to_have_text(
        "Verified: this credential is valid"
    )
    expect(page.get_by_text("Infection Control Skill Set").first).to_be_visible()


def fold(page: Any, title: str, *, within: Any = None) -> Any:
    """The <details> of the module titled `title` (by its title, not by text that mentions it,
    as a locked module's reason does)."""
    return (
        (within or page)
        .locator("details.module__fold")
        .filter(has=page.locator(".module__title", has_text=title))
    )


def fits(page: Any, width: int = 375) -> None:
    """At a small phone's width the page scrolls down, never sideways (the grid scrolls inside
    its own region)."""
    page.set_viewport_size({"width": width, "height": 812})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width


@pytest.mark.django_db(transaction=True)
@sized
def test_a_learner_opens_a_folded_module_with_and_without_javascript(
    page: Any, journey: Any, demo: str, browser: Any, daphne_server: Any
) -> None:
    """Lena has finished the first module and is in the second: it is open, the others folded
    with their progress; opening one (by keyboard) fetches its resources. Without JavaScript, a
    link loads the course page with that module open."""
    walk = journey("learner-lena-modules")
    sign_in(walk, "learner")
    skill_set = page.get_by_role("region", name="Infection Control Skill Set")
    in_hand = fold(page, "Hand hygiene and protective", within=skill_set)
    expect(in_hand).to_have_attribute("open", "")
    expect(in_hand.get_by_role("link", name="Sound check")).to_be_visible()
    done = fold(page, "How infections spread", within=skill_set)
    expect(done.locator("summary")).to_contain_text("3 of 3")  # its progress, while folded
    expect(skill_set.get_by_role("link", name="The chain of infection")).to_be_hidden()
    done.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(done.get_by_role("link", name="The chain of infection")).to_be_visible()
    walk.see("dashboard: a folded module opened")
    if page.viewport_size["width"] < 600:
        fits(page)
        walk.see("dashboard at 375 px")

    walk.visit(
        skill_set.get_by_role("link", name="See every module of Infection Control Skill Set").click,
        "course",
    )
    # A locked module has nothing to open: it says why, unfolded.
    locked = page.locator(".module--locked", has_text="Waste, sharps and a clean workplace")
    expect(locked.get_by_text("Opens when you finish Hand hygiene and protective")).to_be_visible()
    later = fold(page, "Leading infection prevention at work")
    later.locator("summary").click()
    expect(later.locator("li.resource").first).to_be_visible()
    walk.see("course: folded modules opened")
    if page.viewport_size["width"] < 600:
        fits(page)
        walk.see("course at 375 px")

    # Without JavaScript: the folded module offers a link to the course page with it open.
    context = browser.new_context(
        base_url=daphne_server.url, java_script_enabled=False, viewport=page.viewport_size
    )
    try:
        plain = context.new_page()
        plain.goto("/accounts/login/")
        plain.get_by_label("Username").fill("learner")
        plain.get_by_label("Password").fill("flipside-demo")
        plain.get_by_role("button", name="Sign in").click()
        plain.get_by_role("link", name="See every module of Infection Control Skill Set").click()
        first = fold(plain, "How infections spread")
        first.locator("summary").click()
        first.get_by_role("link", name="Show the resources of How infections spread").click()
        assert "?module=" in plain.url
        opened = fold(plain, "How infections spread")
        expect(opened).to_have_attribute("open", "")
        expect(opened.get_by_role("link", name="The chain of infection")).to_be_visible()
    finally:
        context.close()
