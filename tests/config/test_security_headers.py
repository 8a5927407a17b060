from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings


@pytest.mark.django_db
def test_it_sends_a_strict_content_security_policy(client: Any) -> None:
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


@pytest.mark.django_db
def test_it_sends_the_other_security_headers(client: Any) -> None:
    response = client.get("/accounts/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_it_has_no_inline_script_or_style_on_its_pages(client: Any) -> None:
    html = client.get("/accounts/login/").content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the page loads its scripts"
    assert all(" src=" in tag for tag in scripts), scripts
    assert "style=" not in html
    assert "<style" not in html


@pytest.mark.django_db
def test_it_serves_htmx_from_its_own_static_files(client: Any) -> None:
    html = client.get("/accounts/login/").content.decode()
    assert '<script src="/static/vendor/htmx/htmx-2.0.9' in html
    assert "https://" not in html


def test_it_marks_cookies_secure_outside_debug() -> None:
    # Tests run with DEBUG off and SECURE_COOKIES unset, as a production deployment does.
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
