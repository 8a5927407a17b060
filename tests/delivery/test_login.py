from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from tests.factories import PASSWORD

WRONG = "Please enter a correct username and password."


def sign_in(client: Any, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


@pytest.mark.django_db
def test_it_shows_the_login_page_in_the_product_look(client: Any) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<main id="main"' in html
    assert '<label for="id_username">Username</label>' in html
    assert 'autocomplete="current-password"' in html


@pytest.mark.parametrize(
    ("persona", "home"),
    [("learner", "/learn/"), ("assessor", "/assess/queue/"), ("auditor", "/assess/records/")],
)
def test_it_signs_in_and_lands_on_the_role_home(
    request: pytest.FixtureRequest, client: Any, persona: str, home: str
) -> None:
    user = request.getfixturevalue(persona)
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).redirect_chain[-1][0] == home


def test_it_says_the_same_for_a_wrong_password_and_an_unknown_user(
    client: Any, learner: Any
) -> None:
    wrong_password = sign_in(client, learner.username, "not it")
    unknown_user = sign_in(client, "nobody-here", "not it")
    assert wrong_password.status_code == unknown_user.status_code == 200
    assert WRONG in wrong_password.content.decode()
    assert WRONG in unknown_user.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_locks_out_after_repeated_failures_even_with_the_right_password(
    client: Any, learner: Any, settings: Any
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, learner.username, "guess")
    response = sign_in(client, learner.username, PASSWORD)
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert b"paused for 15 minutes" in response.content
    assert "_auth_user_id" not in client.session


def test_it_does_not_lock_out_another_user_from_the_same_address(
    client: Any, learner: Any, other_learner: Any, settings: Any
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, learner.username, "guess")
    response = sign_in(client, other_learner.username, PASSWORD)
    assert response.status_code == 302


def test_it_signs_out_only_by_post(client_for: Any, learner: Any) -> None:
    client = client_for(learner)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_signed_in_session_ends_when_the_user_is_deactivated_or_changes_password(
    client: Any, learner: Any, other_learner: Any
) -> None:
    """The session's user is read by Django's ModelBackend: refused when inactive, signed out
    by a password change elsewhere (the session's hash)."""
    sign_in(client, learner.username, PASSWORD)
    assert client.get("/learn/").status_code == 200
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    learner.is_active = False
    learner.save(update_fields=["is_active"])
    assert client.get("/learn/")["Location"].startswith("/accounts/login/")

    sign_in(client, other_learner.username, PASSWORD)
    assert client.get("/learn/").status_code == 200
    other_learner.set_password("a different long passphrase")
    other_learner.save(update_fields=["password"])
    assert client.get("/learn/")["Location"].startswith("/accounts/login/")


def test_a_session_of_the_removed_account_backend_signs_in_again_without_an_error(
    client: Any, learner: Any
) -> None:
    """Sessions signed in before issue 19 name delivery.backends.AccountBackend, which is gone:
    Django treats an unlisted backend as nobody signed in, so the person is asked to sign in
    again (no 500), and then goes on as before."""
    sign_in(client, learner.username, PASSWORD)
    session = client.session
    session["_auth_user_backend"] = "delivery.backends.AccountBackend"
    session.save()
    response = client.get("/learn/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    sign_in(client, learner.username, PASSWORD)
    assert client.get("/learn/").status_code == 200


def test_it_emails_a_reset_link_after_commit(
    client: Any, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": learner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [learner.email]
    assert "/accounts/reset/" in mail.outbox[0].body


def test_the_reset_link_is_built_from_public_url_not_the_request_host(
    client: Any, learner: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.PUBLIC_URL = "https://learn.example.edu.au"
    settings.ALLOWED_HOSTS = ["internal.example"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/accounts/password_reset/", {"email": learner.email}, HTTP_HOST="internal.example"
        )
    assert "https://learn.example.edu.au/accounts/reset/" in mail.outbox[0].body
    assert "internal.example" not in mail.outbox[0].body


def test_it_answers_the_same_for_an_unknown_address(
    client: Any, learner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password_reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_it_refuses_a_malformed_reset_address(client: Any, db: None) -> None:
    response = client.post("/accounts/password_reset/", {"email": "not-an-address"})
    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content


def test_it_refuses_an_overlong_username_before_trying_it(client: Any, db: None) -> None:
    """Django's form only told the browser the limit: a 3,000-character name reached
    authenticate() and django-axes' varchar(255) record of the failure (a 500 on PostgreSQL)."""
    from axes.models import AccessAttempt

    response = client.post("/accounts/login/", {"username": "x" * 3000, "password": "wrong"})
    assert response.status_code == 200
    assert WRONG in response.content.decode()
    assert not AccessAttempt.objects.exists()


def test_it_says_which_field_is_missing_when_the_browser_did_not(client: Any, db: None) -> None:
    """The inputs are `required`, but a form posted without a browser's checks (or with the
    password left out by a password manager) must still say what is wrong beside the field,
    not show the page again in silence."""
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("This field is required.") == 2
    assert 'id="id_username_error"' in html
    assert 'aria-describedby="id_password_error"' in html
