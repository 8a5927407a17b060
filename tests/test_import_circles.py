"""No import circles between the modules of one app.

A circle (a imports b, b imports a, perhaps through others) means two modules that cannot be
understood, tested or moved one without the other; the usual dodge, an import inside a function
("import here, or it is circular"), hides it from Python but not from a reader, so imports inside
functions count here as much as those at the top. Imports under `if TYPE_CHECKING:` count too: a
module whose annotations need a second module, itself needing the first, is the same tangle. The
circles fixed so far went by moving the shared piece where it belongs: a resource's rules onto
the Resource model, an import's result and the format's keys into small modules of their own;
in credentials, the stored document and its URLs into `credentials.documents`, and a service
queueing the certificate task by its registered name rather than importing the task.

Between apps, tests/test_layering.py already forbids any import upwards, so only circles inside
one app are looked for. Importing `a.b.c` also runs `a/b/__init__.py`; that implicit edge is not
counted (a package's __init__ re-exporting its modules is the usual shape, not a tangle).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("delivery", "assessment", "credentials", "live")

# Circles known when this check was written, per app: each a set of modules that import one
# another. The check fails on any circle not listed here, on a listed one that grows, and on a
# listed one that is gone (so the list only shrinks). Fix one by moving what both modules need
# into a module of its own, not by another import inside a function.
#
# Each circle left goes through a Celery task: a service enqueues the task (importing `tasks`
# inside the service), and the task, a thin interface (STYLE.md), calls a service back
# (importing it inside the task). To be untangled by the owners of these modules, e.g. by
# moving the work a task does into a module the task and the enqueuing service both import.
KNOWN_CIRCLES: dict[str, set[frozenset[str]]] = {
    # services.post_announcement -> tasks.email_announcement -> services.send_announcement_emails
    "delivery": {frozenset({"delivery.services", "delivery.tasks"})},
    # exports.enqueue (in a function) -> tasks.build_record_export -> exports (in the task)
    "assessment": {frozenset({"assessment.records.exports", "assessment.tasks"})},
    "credentials": set(),
    "live": set(),
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def app_modules(root: Path, app: str) -> dict[str, Path]:
    """The app's modules by dotted name; migrations left out (they are generated)."""
    return {
        module_name(path, root): path
        for path in sorted((root / app).rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts
    }


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(path: Path, module: str, known: Iterable[str]) -> set[str]:
    """The modules of `known` that `module` (at `path`) imports: at the top, inside functions or
    classes, and under TYPE_CHECKING alike. `from pkg import name` is an import of `pkg.name`
    when that is a module, else of `pkg`."""
    known = set(known)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, path.name == "__init__.py")
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in known else target)
    return (found & known) - {module}


def import_graph(root: Path, app: str) -> dict[str, set[str]]:
    modules = app_modules(root, app)
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def circles(graph: Mapping[str, Iterable[str]]) -> set[frozenset[str]]:
    """Every set of two or more modules that reach one another (the graph's strongly connected
    components, by Tarjan's algorithm, iteratively so that deep graphs do not recurse)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.add(frozenset(component))
    return found


def describe(found: Iterable[frozenset[str]]) -> list[str]:
    return sorted(" <-> ".join(sorted(circle)) for circle in found)


@pytest.mark.parametrize("app", sorted(KNOWN_CIRCLES))
def test_it_finds_no_import_circle_inside_an_app(app: str) -> None:
    found = circles(import_graph(ROOT, app))
    assert describe(found - KNOWN_CIRCLES[app]) == [], "new import circles"
    assert describe(KNOWN_CIRCLES[app] - found) == [], "fixed: remove them from KNOWN_CIRCLES"


def test_it_checks_every_app() -> None:
    assert set(KNOWN_CIRCLES) == set(APPS)


# The checker itself, on made-up modules.


def test_it_finds_a_circle_through_three_modules() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == {frozenset({"a", "b", "c"})}


def test_it_finds_two_separate_circles_and_no_chain() -> None:
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"e"}, "e": {"d"}, "f": {"a", "d"}}
    assert circles(graph) == {frozenset({"a", "b"}), frozenset({"d", "e"})}
    assert circles({"a": {"b"}, "b": {"c"}, "c": set()}) == set()


def _write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_it_sees_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/models.py": (
                "def clean():\n    from app.content import check\n    return check()\n"
            ),
            "app/content.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from app.models import Resource\n"
            ),
            "app/migrations/0001_initial.py": "from app import models\n",
        },
    )
    graph = import_graph(tmp_path, "app")
    assert graph == {"app": set(), "app.models": {"app.content"}, "app.content": {"app.models"}}
    assert circles(graph) == {frozenset({"app.models", "app.content"})}


def test_it_resolves_relative_and_from_package_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/packs/__init__.py": "from .schema import X\n",
            "app/packs/schema.py": "from app.packs import sections\n",
            "app/packs/sections.py": "import app.packs.schema\nfrom .. import views\n",
            "app/views.py": "from app.packs import X\n",
        },
    )
    graph = import_graph(tmp_path, "app")
    assert graph["app.packs"] == {"app.packs.schema"}
    assert graph["app.packs.sections"] == {"app.packs.schema", "app.views"}
    assert circles(graph) == {
        frozenset({"app.packs", "app.packs.schema", "app.packs.sections", "app.views"})
    }
