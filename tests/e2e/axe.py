"""Accessibility checks and screenshots for every page a browser test visits.

`assert_accessible(page, name)` runs axe-core (pinned by tests/e2e/node/package-lock.json,
installed by `make node-deps`) on the page as it stands and fails on any violation, whatever
its impact, naming the rule, its impact and the elements concerned.

`screenshot(page, journey, name)` writes
`<E2E_SCREENS_DIR>/<journey>/<width>x<height>/<nn>-<name>.png` (by default under
var/e2e-screens, the folder CI keeps as an artefact), so that a reviewer can look at the
product without running it.

`Journey` ties the two together for a test that walks a path: `journey.see("queue")` checks and
photographs the page as it stands, `journey.visit("/url/" or a click, "name")` gets there first,
and `journey.finish()` fails if a page was left without a check (every main-frame navigation
is counted, so a forgotten `see` cannot pass unnoticed).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
SCREENS_ENV = "E2E_SCREENS_DIR"
DEFAULT_SCREENS = ROOT / "var" / "e2e-screens"


def screens_dir() -> Path:
    return Path(os.environ.get(SCREENS_ENV) or DEFAULT_SCREENS)


def _axe_source() -> str:
    if not AXE_JS.exists():
        from tests.conftest import need_service

        need_service(f"needs axe-core at {AXE_JS} (make node-deps: npm ci in tests/e2e/node)")
    return AXE_JS.read_text(encoding="utf-8")


def _inject(page: Any) -> None:
    # Evaluated through the DevTools protocol, not added as a <script>: the site's Content
    # Security Policy refuses inline scripts, and must stay as strict under test as in use.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per broken rule: what it is, how bad, where, and axe's own advice."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'no impact given'}): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:10]:
            target = " ".join(str(part) for part in node["target"])
            summary = re.sub(r"\s+", " ", node.get("failureSummary") or "").strip()
            lines.append(f"    at {target}: {summary}")
        if len(violation["nodes"]) > 10:
            lines.append(f"    ... and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


def violations_of(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands (every rule axe runs by default)."""
    _inject(page)
    return list(page.evaluate("async () => (await window.axe.run(document)).violations"))


def assert_accessible(page: Any, name: str) -> None:
    """Fail on any axe-core violation of any impact, with a message a person can act on."""
    found = violations_of(page)
    if found:
        pytest.fail(
            f"axe-core: {len(found)} rule(s) violated on {name!r} ({page.url}):\n"
            + describe(found),
            pytrace=False,
        )


def size_of(page: Any) -> str:
    viewport = page.viewport_size or {"width": 0, "height": 0}
    return f"{viewport['width']}x{viewport['height']}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


def screenshot(page: Any, journey: str, name: str, *, number: int | None = None) -> Path:
    """The whole page as a PNG under the artefact folder; numbered in the order taken."""
    folder = screens_dir() / _slug(journey) / size_of(page)
    folder.mkdir(parents=True, exist_ok=True)
    if number is None:
        number = len(list(folder.glob("*.png"))) + 1
    path = folder / f"{number:02d}-{_slug(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


class Journey:
    """A person's path through the site: every page it shows is checked and photographed."""

    def __init__(self, page: Any, name: str) -> None:
        self.page = page
        self.name = name
        self.taken = 0
        self.unchecked: str | None = None
        self.missed: list[str] = []
        # Each run starts its folder afresh, so no picture of an older run is left among them.
        shutil.rmtree(screens_dir() / _slug(name) / size_of(page), ignore_errors=True)
        page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Any) -> None:
        if frame != self.page.main_frame:
            return
        if self.unchecked is not None:
            self.missed.append(self.unchecked)
        self.unchecked = frame.url

    def see(self, name: str) -> Path:
        """Check the page as it stands now (after a navigation or an in-page change)."""
        self.page.wait_for_load_state("load")
        self.page.evaluate("() => document.fonts.ready.then(() => true)")
        assert_accessible(self.page, f"{self.name}: {name}")
        self.unchecked = None
        self.taken += 1
        return screenshot(self.page, self.name, name, number=self.taken)

    def visit(self, where: str | Callable[[], Any], name: str) -> Path:
        """Go to a URL (one the person was shown, or the site's front door) or do a click, then
        `see` the page it leads to."""
        if isinstance(where, str):
            self.page.goto(where)
        else:
            where()
        return self.see(name)

    def finish(self) -> None:
        # Nothing of this page still on its way to the server (an autosave, an upload's last
        # request) when the test ends and its database is emptied.
        if not self.page.is_closed():
            self.page.wait_for_load_state("networkidle")
        if self.unchecked is not None:
            self.missed.append(self.unchecked)
            self.unchecked = None
        assert not self.missed, f"pages visited without an accessibility check: {self.missed}"
