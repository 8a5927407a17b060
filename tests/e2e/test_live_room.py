"""A live tutorial in a real browser: two learners and their trainer, over real WebSockets."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from delivery.roles import Role
from delivery.services import enrol_learner
from live.models import Attendance
from tests.e2e.axe import assert_accessible
from tests.e2e.test_login import sign_in
from tests.factories import PASSWORD, CohortFactory, ResourceFactory, UserFactory
from tests.live.factories import LiveSessionFactory


@pytest.fixture
def more_pages(browser: Any, daphne_server: Any) -> Iterator[Any]:
    """`more_pages()`: another signed-out page in its own context; console errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(base_url=daphne_server.url)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], errors


@pytest.mark.django_db(transaction=True)
def test_a_live_tutorial_with_two_learners_and_a_trainer(page: Any, more_pages: Any) -> None:
    started = time.monotonic()
    trainer = UserFactory(username="e2e-tom", first_name="Tom", last_name="Riley",
                          roles=[Role.TRAINER])  # fmt: skip
    lena = UserFactory(username="e2e-lena", first_name="Lena", last_name="Nguyen")
    cleo = UserFactory(username="e2e-cleo", first_name="Cleo", last_name="Park")
    cohort = CohortFactory(name="Live cohort", trainers=[trainer])
    for learner in (lena, cleo):
        enrol_learner(learner, cohort)
    session = LiveSessionFactory(cohort=cohort, title="Glove practice", created_by=trainer)
    poster = ResourceFactory(module__course=cohort.course, title="Glove removal poster")

    tom_page, lena_page, cleo_page = page, more_pages(), more_pages()
    sign_in(tom_page, trainer.username, PASSWORD)
    tom_page.goto(f"/live/{session.pk}/room/")
    for learner_page, learner in ((lena_page, lena), (cleo_page, cleo)):
        sign_in(learner_page, learner.username, PASSWORD)
        learner_page.get_by_role("link", name="Join Glove practice").click()
    for p in (tom_page, lena_page, cleo_page):
        expect(p.locator("#live-status")).to_have_text("Connected")
    expect(tom_page.locator("#live-presence")).to_contain_text("Lena Nguyen")
    expect(tom_page.locator("#live-presence")).to_contain_text("Cleo Park")

    # Chat.
    lena_page.get_by_label("Message to the room").fill("Hello from Lena")
    lena_page.get_by_role("button", name="Send").click()
    for p in (tom_page, cleo_page):
        expect(p.locator("#live-chat-list")).to_contain_text("Hello from Lena")

    # Q&A: Lena asks anonymously, Cleo upvotes; the trainer sees who asked and the vote.
    lena_page.get_by_label("Ask a question").fill("Which hand comes out first?")
    lena_page.get_by_label("Anonymous to other learners").check()
    lena_page.get_by_role("button", name="Ask").click()
    question = cleo_page.locator(".question", has_text="Which hand comes out first?")
    expect(question).to_contain_text("Anonymous")
    question.get_by_role("button", name=re.compile("Upvote")).click()
    staff_view = tom_page.locator(".question", has_text="Which hand comes out first?")
    expect(staff_view.locator(".question__votes")).to_have_text("1 vote")
    expect(staff_view).to_contain_text("Lena Nguyen (anonymous to peers)")
    # Only Cleo sees her vote; Lena is never offered an upvote of her own question.
    upvoted = question.get_by_role("button", name="Upvoted by you")
    expect(upvoted).to_have_attribute("aria-pressed", "true")
    expect(upvoted).to_be_disabled()
    own = lena_page.locator(".question", has_text="Which hand comes out first?")
    expect(own.get_by_text("Your question")).to_be_visible()
    expect(own.get_by_role("button")).to_have_count(0)

    # A poll: both learners vote and see the results.
    tom_page.get_by_text("Launch a poll").click()
    tom_page.get_by_label("Question", exact=True).fill("Gloves before or after washing?")
    tom_page.get_by_label("Options, one a line").fill("Before\nAfter")
    tom_page.get_by_role("button", name="Launch poll").click()
    for p, choice in ((lena_page, "After"), (cleo_page, "After")):
        p.get_by_role("radio", name=choice).check()
        p.get_by_role("button", name="Vote", exact=True).click()
        expect(p.get_by_text("Your vote is in.")).to_be_visible()
    for p in (lena_page, cleo_page, tom_page):
        expect(p.locator("#live-poll-results")).to_contain_text("2 votes")
    # The rooms as they stand, full of chat, a question, votes and a poll.
    assert_accessible(tom_page, "live room (trainer)")
    assert_accessible(lena_page, "live room (learner)")

    # The trainer pushes a resource to every screen.
    tom_page.get_by_label("Show a resource on every screen").select_option(str(poster.pk))
    tom_page.get_by_role("button", name="Push to learners").click()
    for p in (lena_page, cleo_page):
        expect(p.locator("#live-pushed")).to_contain_text("Glove removal poster")

    # Cleo's connection drops; the room moves on; she comes back and catches up.
    cleo_page.evaluate("window.flipsideLive.drop(2000)")
    expect(cleo_page.locator("#live-status")).to_have_text("Reconnecting…")
    tom_page.get_by_label("Message to the room").fill("While you were away")
    tom_page.get_by_role("button", name="Send").click()
    expect(lena_page.locator("#live-chat-list")).to_contain_text("While you were away")
    expect(cleo_page.locator("#live-status")).to_have_text("Connected")
    expect(cleo_page.locator("#live-chat-list")).to_contain_text("While you were away")
    expect(cleo_page.locator("#live-pushed")).to_contain_text("Glove removal poster")
    expect(question.get_by_role("button", name="Upvoted by you")).to_be_visible()

    # The trainer ends the session, confirming on a page of its own (no dialog box); the
    # first step changes nothing. Attendance then shows both learners with their minutes.
    tom_page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    expect(tom_page.get_by_role("button", name=re.compile("End the session"))).to_have_count(0)
    tom_page.get_by_role("link", name="End the session…").click()
    expect(tom_page.get_by_role("heading", level=1)).to_contain_text("for everyone?")
    expect(tom_page.get_by_text("Lena Nguyen, ")).to_be_visible()  # who is still in the room
    assert_accessible(tom_page, "end the session?")
    tom_page.get_by_role("link", name="No, back to the room").click()
    expect(tom_page.locator("#live-status")).to_have_text("Connected")
    expect(lena_page.locator("#live-status")).to_have_text("Connected")
    tom_page.get_by_role("link", name="End the session…").click()
    tom_page.get_by_role("button", name="Yes, end the session").click()
    for p in (lena_page, cleo_page):
        expect(p.locator("#live-status")).to_have_text("This session has ended.")
    assert_accessible(lena_page, "live room, ended (learner)")
    elapsed_minutes = (time.monotonic() - started) / 60
    expect(tom_page).to_have_url(re.compile(f"/live/{session.pk}/attendance/$"))
    expect(tom_page.get_by_text("The session has ended. Attendance is final.")).to_be_visible()
    expect(tom_page.get_by_text("2 of 2 attended")).to_be_visible()
    # Checked without the one-off message above it: base.html's message list is the journeys
    # helper's to fix (axe `listitem`), and is checked on every page the journeys visit.
    tom_page.reload()
    assert_accessible(tom_page, "attendance")
    for learner in (lena, cleo):
        attendance = Attendance.objects.get(session=session, user=learner)
        assert 0 < attendance.seconds / 60 <= elapsed_minutes
        row = tom_page.get_by_role("row", name=re.compile(learner.get_full_name()))
        expect(row.get_by_role("cell").nth(0)).to_have_text("Attended")
        expect(row.locator("td.num")).to_have_text(str(round(attendance.seconds / 60)))
    assert Attendance.objects.get(session=session, user=cleo).presences.count() == 1
