"""The catalogue's pages as a visitor reads them, on the demo data: headings, labels, the
partials other parts of issue 16 fill in, and no inline script or style (strict CSP)."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())


def test_the_list_reads_well_without_inline_code(client: Any, demo: None) -> None:
    html = client.get(reverse("catalogue:index")).content.decode()

    assert html.count("<h1>") == 1
    for field in ("f-q", "f-area", "f-length", "f-soon"):
        assert f'<label for="{field}"' in html or f'for="{field}"' in html
    assert "<legend>Delivery</legend>" in html
    assert "style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "Start any day" in html
    assert "1 place left" in html  # the Saturday first aid class
    assert "Counts toward" in html


def test_the_course_page_includes_the_partials_and_links_the_credential(
    client: Any, demo: None
) -> None:
    response = client.get(reverse("catalogue:course", args=["HLTAID011"]))
    html = response.content.decode()

    assert response.status_code == 200
    assert [t.name for t in response.templates].count("catalogue/_intake_action.html") == 1
    assert "catalogue/_course_actions.html" in [t.name for t in response.templates]
    assert "catalogue/_course_pathways.html" in [t.name for t in response.templates]
    assert "valid 3 years" in html
    assert "/achievements/" in html  # the public achievement page, and its badge
    assert "style=" not in html
    assert "1 place left of 6" in html
