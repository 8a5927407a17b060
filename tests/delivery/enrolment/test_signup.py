"""A visitor signs up, confirms their e-mail address through the link, and is signed in, back
where they started; bad, used and expired links are refused in words."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from delivery.models import LearnerProfile
from delivery.roles import Role, roles_of
from tests.delivery.enrolment.conftest import make_usi

pytestmark = pytest.mark.django_db
User = get_user_model()


def form(**changes: str) -> dict[str, str]:
    return {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "Grace@Example.test",
        "usi": "",
        "password1": "a long and unusual pass",
        "password2": "a long and unusual pass",
        "next": "/catalogue/some-course/",
        **changes,
    }


def sign_up(client: Client, capture: Any, **changes: str) -> Any:
    with capture(execute=True):
        return client.post(reverse("signup"), form(**changes))


def confirmation_link() -> str:
    found = re.search(r"https?://\S+/accounts/confirm/\S+", mail.outbox[-1].body)
    assert found, mail.outbox[-1].body
    return found.group(0).split("://", 1)[1].split("/", 1)[1]


def test_it_signs_up_confirms_and_returns_to_the_intake(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    assert client.get(reverse("signup") + "?next=/catalogue/x/").status_code == 200
    response = sign_up(client, django_capture_on_commit_callbacks, usi=make_usi(5).lower())
    assert response.status_code == 302
    assert response["Location"] == reverse("signup_sent")
    user = User.objects.get(email="grace@example.test")
    assert user.username == "grace@example.test"
    assert not user.is_active
    assert LearnerProfile.objects.get(user=user).usi == make_usi(5)
    assert "grace@example.test" in client.get(reverse("signup_sent")).content.decode()
    path = "/" + confirmation_link()
    assert "next=%2Fcatalogue%2Fsome-course%2F" in path
    # Opening the link (a mail scanner does) confirms nothing; the button does.
    assert client.get(path).status_code == 200
    user.refresh_from_db()
    assert not user.is_active
    confirmed = client.post(path, {"next": "/catalogue/some-course/"})
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/catalogue/some-course/"
    user.refresh_from_db()
    assert user.is_active
    assert Role.LEARNER in roles_of(user)
    assert client.get(reverse("delivery:my_enrolments")).status_code == 200
    # The link works once.
    again = Client().post(path)
    assert again.status_code == 400
    assert "not valid" in again.content.decode()


def test_a_next_off_the_site_is_dropped(
    client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    sign_up(client, django_capture_on_commit_callbacks, next="https://evil.example/")
    path = "/" + confirmation_link()
    assert "evil" not in path
    assert client.post(path)["Location"] == reverse("delivery:my_enrolments")


def test_a_bad_token_is_refused(client: Client, django_capture_on_commit_callbacks: Any) -> None:
    sign_up(client, django_capture_on_commit_callbacks)
    user = User.objects.get()
    for uidb64, token in [("MQ", "not-a-token"), ("%%%", "x"), ("OTk5OTk5OTk5OTk5", "1-2")]:
        url = reverse("signup_confirm", kwargs={"uidb64": uidb64, "token": token})
        response = client.post(url)
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    user.refresh_from_db()
    assert not user.is_active


def test_an_expired_link_is_refused(
    client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    sign_up(client, django_capture_on_commit_callbacks)
    path = "/" + confirmation_link()
    # A day past the timeout: the token generator counts in naive local time.
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT, days=1)
    with time_machine.travel(later):
        response = client.post(path)
        assert response.status_code == 400, response.get("Location")
    assert not User.objects.get().is_active


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"usi": "ABC"}, "has 10 characters"),
        ({"usi": "A6J9ZWYSFV"}, "last character does not match"),
        ({"email": "not-an-address"}, "valid email address"),
        ({"password2": "something else entirely"}, "The two passwords differ."),
        ({"password1": "12345678", "password2": "12345678"}, "too common"),
    ],
)
def test_bad_input_is_refused_in_words_and_nothing_made(
    client: Client, django_capture_on_commit_callbacks: Any, changes: dict[str, str], words: str
) -> None:
    response = sign_up(client, django_capture_on_commit_callbacks, **changes)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not User.objects.exists()
    assert not mail.outbox


def test_an_address_with_an_account_is_told_to_sign_in(
    client: Client, django_capture_on_commit_callbacks: Any, learner: Any
) -> None:
    response = sign_up(client, django_capture_on_commit_callbacks, email=learner.email)
    assert response.status_code == 400
    assert "There is already an account" in response.content.decode()
    assert User.objects.filter(email__iexact=learner.email).count() == 1
