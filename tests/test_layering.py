"""DESIGN.md's layering, checked: delivery <- assessment <- credentials, and delivery <- live."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = {"delivery", "assessment", "credentials", "live"}
ALLOWED = {
    "delivery": set(),
    "assessment": {"delivery"},
    "credentials": {"delivery", "assessment"},
    "live": {"delivery"},
}


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found & APPS


@pytest.mark.parametrize("app", sorted(APPS))
def test_an_app_imports_only_from_the_apps_below_it(app: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) - ALLOWED[app] - {app})
        for path in (ROOT / app).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from credentials.models import X\nimport live.groups\n")
    assert imported_apps(module) == {"credentials", "live"}
