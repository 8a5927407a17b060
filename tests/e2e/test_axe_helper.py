"""The accessibility helper itself: it finds a violation, names it, and photographs pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.axe import Journey, assert_accessible


def test_it_fails_on_a_violation_naming_rule_impact_and_element(page: Any) -> None:
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Form</h1>'
        '<input id="nameless" type="text"></main></body></html>'
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_accessible(page, "a bare form")
    message = str(failed.value)
    assert "a bare form" in message
    assert "label (critical)" in message
    assert "#nameless" in message


def test_it_passes_a_clean_page_and_writes_numbered_screenshots(
    page: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("E2E_SCREENS_DIR", str(tmp_path))
    walk = Journey(page, "Helper check")
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Fine</h1>'
        "</main></body></html>"
    )
    first = walk.see("first look")
    second = walk.see("Second look")
    size = f"{page.viewport_size['width']}x{page.viewport_size['height']}"
    assert first == tmp_path / "helper-check" / size / "01-first-look.png"
    assert second == tmp_path / "helper-check" / size / "02-second-look.png"
    assert first.read_bytes().startswith(b"\x89PNG")
    walk.finish()


def test_it_notices_a_page_left_without_a_check(
    page: Any, daphne_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("E2E_SCREENS_DIR", str(tmp_path))
    walk = Journey(page, "forgetful")
    page.goto("/accounts/login/?first")
    page.goto("/accounts/login/?second")
    walk.see("second")
    with pytest.raises(AssertionError, match=r"/accounts/login/\?first"):
        walk.finish()
