from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from delivery.roles import Role
from tests.e2e.conftest import sized
from tests.factories import PASSWORD, CohortFactory, EnrolmentFactory, UserFactory
from tests.helpers import EVENT_WAIT, notify_from_thread


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/")  # the catalogue, for a visitor not signed in
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("role", "home", "heading"),
    [
        (Role.LEARNER, "/learn/", "My learning"),
        (Role.TRAINER, "/live/", "Sessions"),
        (Role.ASSESSOR, "/assess/queue/", "Marking"),
        (Role.AUDITOR, "/assess/records/", "Assessment records"),
    ],
)
def test_a_user_signs_in_through_the_login_page_and_lands_on_their_home(
    page: Any, role: Role, home: str, heading: str
) -> None:
    user = UserFactory(username=f"e2e-{role}", roles=[role])
    if role is Role.LEARNER:
        EnrolmentFactory(learner=user, cohort=CohortFactory(name="Browser cohort"))

    sign_in(page, user.username, PASSWORD)

    expect(page).to_have_url(re.compile(re.escape(home) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    if role is Role.LEARNER:
        expect(page.get_by_text("Browser cohort")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_a_wrong_password_keeps_the_user_on_the_login_page(page: Any) -> None:
    user = UserFactory(username="e2e-wrong", roles=[Role.LEARNER])
    sign_in(page, user.username, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


@pytest.mark.django_db(transaction=True)
def test_a_notice_pushed_to_the_user_appears_on_their_page(page: Any) -> None:
    user = UserFactory(username="e2e-notice", roles=[Role.LEARNER])
    sign_in(page, user.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")
    # The page opens its socket after load; send until it is listening. Sent from another
    # thread because Playwright's event loop occupies this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        deadline = time.monotonic() + EVENT_WAIT
        while time.monotonic() < deadline:
            pool.submit(notify_from_thread, user.pk, "Your assessment was marked").result()
            if page.get_by_text("Your assessment was marked").count():
                break
            page.wait_for_timeout(200)
    expect(page.get_by_text("Your assessment was marked").first).to_be_visible()


@pytest.mark.django_db(transaction=True)
@sized
def test_the_login_page_and_each_home_pass_axe_at_both_sizes(page: Any, journey: Any) -> None:
    walk = journey("sign-in")
    # The site root is the catalogue for a visitor (issue 16); the sign-in page has its own.
    walk.visit("/accounts/login/", "login")
    user = UserFactory(username="e2e-axe", roles=[Role.LEARNER, Role.TRAINER, Role.ASSESSOR])
    EnrolmentFactory(learner=user, cohort=CohortFactory(name="Browser cohort"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill("not the password")
    walk.visit(page.get_by_role("button", name="Sign in").click, "login refused")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    walk.visit(page.get_by_role("button", name="Sign in").click, "trainer home")
    nav = page.get_by_role("navigation", name="Main")
    if not nav.get_by_role("link", name="My learning").is_visible():
        page.get_by_role("button", name="Menu").click()
    walk.visit(nav.get_by_role("link", name="My learning").click, "learner home")
