"""Issue 14's trainer journey on the demo data, at a laptop's and a phone's size: Tom schedules
a session, runs the room with two learners on their own screens (chat, a question, a raised
hand, a poll, a pushed resource), ends it, reads the attendance and the progress grid, and
sends an announcement. axe-core checks every page of all three people, after each change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from delivery.models import Announcement, Cohort, Enrolment
from live.models import Attendance, LiveSession
from tests.e2e.axe import Journey
from tests.e2e.conftest import SIZES, sign_in, sized
from tests.e2e.test_journey_learner import fits

TITLE = "Hand hygiene clinic"


@pytest.fixture
def learner_page(browser: Any, daphne_server: Any, page: Any) -> Iterator[Any]:
    """`learner_page()`: another person's screen, the same size as the trainer's; console errors
    fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make() -> Any:
        context = browser.new_context(base_url=daphne_server.url, viewport=page.viewport_size)
        contexts.append(context)
        other = context.new_page()
        other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        other.on("pageerror", lambda e: errors.append(str(e)))
        return other

    yield make
    for context in contexts:
        context.close()
    assert errors == [], errors


def local_input(at: Any) -> str:
    """A time as a datetime-local field takes it: in the provider's zone, to the minute."""
    return timezone.localtime(at).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db(transaction=True)
@sized
def test_a_trainer_schedules_runs_and_follows_up_a_live_session(
    page: Any, learner_page: Any, demo: str
) -> None:
    size = next(name for name, s in SIZES.items() if s == page.viewport_size)
    tom = Journey(page, "trainer")
    sign_in(tom, "trainer")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sessions")

    # Schedule: starting now, so the learners can join at once.
    tom.visit(page.get_by_role("link", name="Schedule a session for Demo cohort").click, "schedule")
    page.get_by_label("Title").fill(TITLE)
    now = timezone.now()
    page.get_by_label("Starts").fill(local_input(now - timedelta(minutes=1)))
    page.get_by_label("Ends").fill(local_input(now + timedelta(hours=1)))
    expect(page.get_by_role("checkbox", name="Tom Riley")).to_be_checked()  # Tom, by default
    tom.visit(page.get_by_role("button", name=re.compile("Schedule|Save")).click, "scheduled")
    session = LiveSession.objects.get(title=TITLE)
    tom.visit(page.get_by_role("link", name="Open the room").first.click, "room")

    # Two learners join from their dashboards.
    learners = []
    for username, name in (("learner", "Lena"), ("learner2", "Liam")):
        screen = learner_page()
        walk = Journey(screen, f"trainer-room-{name.lower()}")
        sign_in(walk, username)
        walk.visit(screen.get_by_role("link", name=f"Join {TITLE}").click, "room")
        expect(screen.locator("#live-status")).to_have_text("Connected")
        learners.append((screen, walk))
    (lena, lena_walk), (liam, liam_walk) = learners
    expect(page.locator("#live-status")).to_have_text("Connected")
    expect(page.locator("#live-presence")).to_contain_text("Lena Nguyen")
    expect(page.locator("#live-presence")).to_contain_text("Liam O'Brien")

    # Chat, a question, a hand.
    lena.get_by_label("Message to the room").fill("Morning, everyone")
    lena.get_by_role("button", name="Send").click()
    expect(liam.locator("#live-chat-list")).to_contain_text("Morning, everyone")
    expect(page.locator("#live-chat-list")).to_contain_text("Morning, everyone")
    liam.get_by_label("Ask a question").fill("How long should a hand rub take?")
    liam.get_by_role("button", name="Ask").click()
    expect(page.locator(".question", has_text="How long should a hand rub take?")).to_be_visible()
    lena.get_by_role("button", name="Raise hand").click()
    hands = page.locator("#live-hands")
    expect(hands).to_contain_text("Lena Nguyen")
    tom.see("room: chat, question and hand")
    hands.get_by_role("button", name="Lower the hand of Lena Nguyen").click()
    expect(lena.get_by_role("button", name="Raise hand")).to_be_visible()

    # A poll; both vote; everyone sees the results.
    page.get_by_text("Launch a poll").click()
    page.get_by_label("Question", exact=True).fill("How long does a hand rub take?")
    page.get_by_label("Options, one a line").fill("5 seconds\n20 to 30 seconds\n2 minutes")
    page.get_by_role("button", name="Launch poll").click()
    for screen in (lena, liam):
        screen.get_by_role("radio", name="20 to 30 seconds").check()
        screen.get_by_role("button", name="Vote", exact=True).click()
        expect(screen.get_by_text("Your vote is in.")).to_be_visible()
    for screen in (lena, liam, page):
        expect(screen.locator("#live-poll-results")).to_contain_text("2 votes")

    # A resource on every screen.
    push = page.get_by_label("Show a resource on every screen")
    options = push.locator("option").all_inner_texts()
    push.select_option(label=next(o for o in options if "The moments for hand hygiene" in o))
    page.get_by_role("button", name="Push to learners").click()
    for screen in (lena, liam):
        expect(screen.locator("#live-pushed")).to_contain_text("The moments for hand hygiene")
    lena_walk.see("room: poll and pushed resource")
    liam_walk.see("room: poll and pushed resource")
    tom.see("room: poll results")

    # End it, confirming on a page of its own; the learners are told; attendance follows.
    page.on("dialog", lambda dialog: pytest.fail(f"unexpected dialog: {dialog.message}"))
    tom.visit(page.get_by_role("link", name="End the session…").click, "end the session?")
    expect(page.get_by_role("heading", level=1)).to_contain_text("for everyone?")
    tom.visit(page.get_by_role("button", name="Yes, end the session").click, "attendance")
    for screen, walk in learners:
        expect(screen.locator("#live-status")).to_have_text("This session has ended.")
        walk.see("room: ended")
        walk.finish()
    session.refresh_from_db()
    assert session.ended_at is not None
    expect(page.get_by_text("The session has ended. Attendance is final.")).to_be_visible()
    expect(page.get_by_text("2 of 4 attended")).to_be_visible()
    for name in ("Lena Nguyen", "Liam O'Brien"):
        row = page.get_by_role("row", name=re.compile(name))
        expect(row.get_by_role("cell").nth(0)).to_have_text("Attended")
    assert Attendance.objects.filter(session=session, seconds__gt=0).count() >= 2

    # The progress grid of the cohort, and an announcement to it.
    tom.visit(page.get_by_role("link", name="Sessions").first.click, "sessions again")
    tom.visit(page.get_by_role("link", name="Demo cohort", exact=True).first.click, "progress")
    expect(page.get_by_role("row", name=re.compile("Noah Tran"))).to_be_visible()
    tom.visit(page.get_by_role("link", name="Post an announcement").click, "announcement")
    page.get_by_label("Title").fill(f"After the clinic ({size})")
    page.get_by_label(re.compile("Message|Body")).fill("The poll answer: 20 to 30 seconds.")
    tom.visit(page.get_by_role("button", name="Post and e-mail learners").click, "announced")
    assert Announcement.objects.filter(title=f"After the clinic ({size})").exists()
    tom.finish()


@pytest.mark.django_db(transaction=True)
@sized
def test_a_trainer_searches_sorts_and_pages_the_progress_grid(
    page: Any, journey: Any, demo: str
) -> None:
    """Sixty more learners in the demo cohort: the grid shows fifty at a time, finds one by
    name, keeps the search while sorting, and fits a phone (the grid scrolls in its region)."""
    from django.contrib.auth import get_user_model

    people = get_user_model().objects.bulk_create(
        get_user_model()(
            username=f"extra{i:03d}",
            first_name="Extra",
            last_name=f"Learner {i:03d}",
            email=f"extra{i:03d}@example.test",
        )
        for i in range(60)
    )
    cohort = Cohort.objects.get(name="Demo cohort")
    Enrolment.objects.bulk_create(Enrolment(learner=p, cohort=cohort) for p in people)

    tom = journey("trainer-grid")
    sign_in(tom, "trainer")
    tom.visit(page.get_by_role("link", name="Demo cohort", exact=True).first.click, "grid")
    expect(page.get_by_role("status").filter(has_text="learners")).to_have_text("64 learners.")
    pages = page.get_by_role("navigation", name="Pages of learners")
    expect(pages).to_contain_text("Page 1 of 2")
    expect(page.get_by_role("row", name=re.compile("Noah Tran"))).to_have_count(0)
    tom.visit(pages.get_by_role("link", name="Next").click, "grid page 2")
    expect(pages).to_contain_text("Page 2 of 2")
    expect(page.get_by_role("row", name=re.compile("Noah Tran"))).to_be_visible()

    search = page.get_by_role("searchbox", name="Find a learner")
    search.fill("noah")
    tom.visit(lambda: search.press("Enter"), "grid search")
    expect(page.get_by_text("1 learner match “noah”.")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Noah Tran"))).to_be_visible()
    expect(page.get_by_role("navigation", name="Pages of learners")).to_have_count(0)
    tom.visit(page.get_by_role("link", name="Overall").click, "grid search by progress")
    assert "q=noah" in page.url
    assert "sort=progress" in page.url
    expect(page.get_by_role("columnheader", name="Overall")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(page.get_by_role("row", name=re.compile("Noah Tran"))).to_be_visible()
    if page.viewport_size["width"] < 600:
        fits(page)
        tom.see("grid at 375 px")
    tom.visit(page.get_by_role("link", name="Show everyone").click, "grid everyone")
    expect(page.get_by_role("status").filter(has_text="learners")).to_have_text("64 learners.")
