"""DESIGN.md's layering, checked: delivery <- assessment <- credentials, and delivery <- live.

Inside an app, its rooms (STYLE.md: a subpackage per concern, such as `assessment/evidence/` or
`delivery/packs/`) are checked too: a room uses another room of its app only through that
room's `services` or `selectors` (or what its package `__init__` offers), never its views,
forms or inner modules, so each room can change inside without the others noticing. Modules at
the app's level (models, the attempt flow, urls, tasks) may import any room.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_import_circles import app_modules, imports_of

ROOT = Path(__file__).resolve().parents[1]
APPS = {"delivery", "assessment", "credentials", "live", "catalogue"}
# Folders of an app that are not rooms: Django's own places.
NOT_ROOMS = {"migrations", "management", "templatetags"}
# What a room offers the other rooms of its app (beside its package itself).
ROOM_DOORS = {"services", "selectors"}
ALLOWED = {
    "delivery": set(),
    "assessment": {"delivery"},
    "credentials": {"delivery", "assessment"},
    "live": {"delivery"},
    "catalogue": {"delivery", "assessment", "credentials"},
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


def rooms_of(root: Path, app: str) -> set[str]:
    return {
        path.parent.name
        for path in (root / app).glob("*/__init__.py")
        if path.parent.name not in NOT_ROOMS
    }


def room_of(module: str, app: str, rooms: set[str]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == app and parts[1] in rooms else None


def through_the_door(target: str) -> bool:
    """`app.room`, `app.room.services` or `app.room.selectors` (or a module inside those, once
    they become packages)."""
    parts = target.split(".")
    return len(parts) == 2 or parts[2] in ROOM_DOORS


def room_trespasses(root: Path, app: str) -> dict[str, list[str]]:
    """Each module of a room that imports another room of its app other than through its
    services or selectors, with what it imports."""
    rooms = rooms_of(root, app)
    modules = app_modules(root, app)
    found = {}
    for name, path in modules.items():
        home = room_of(name, app, rooms)
        if home is None:
            continue
        wrong = sorted(
            target
            for target in imports_of(path, name, modules)
            if room_of(target, app, rooms) not in (None, home) and not through_the_door(target)
        )
        if wrong:
            found[name] = wrong
    return found


@pytest.mark.parametrize("app", sorted(APPS))
def test_a_room_uses_another_room_only_through_its_services_or_selectors(app: str) -> None:
    assert room_trespasses(ROOT, app) == {}


def test_assessment_has_its_rooms() -> None:
    assert rooms_of(ROOT, "assessment") >= {
        "audit",
        "evidence",
        "marking",
        "records",
        "third_party",
    }


def test_the_checker_sees_a_room_entering_another_by_the_back_door(tmp_path: Path) -> None:
    files = {
        "app/__init__.py": "",
        "app/models.py": "",
        # App level: may import any room, by any module.
        "app/urls.py": "from app.files import views\n",
        "app/migrations/__init__.py": "",
        "app/migrations/0001_initial.py": "from app.files.views import upload\n",
        "app/files/__init__.py": "",
        "app/files/services.py": "from app import models\n",
        "app/files/selectors.py": "",
        "app/files/views.py": "from app.files import services\n",
        "app/files/rules.py": "",
        "app/marking/__init__.py": "from .services import mark\n",
        "app/marking/services.py": (
            "from app.files import services\n"
            "from app.files.selectors import find\n"
            "def later():\n    from app.files.rules import RULE\n"
        ),
        "app/marking/views.py": (
            "import app.files\n"
            "from app.files import views as file_views\n"
            "from ..files import rules\n"
            "from app.marking import services\n"
        ),
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert rooms_of(tmp_path, "app") == {"files", "marking"}
    assert room_trespasses(tmp_path, "app") == {
        "app.marking.services": ["app.files.rules"],
        "app.marking.views": ["app.files.rules", "app.files.views"],
    }
