"""No two packages of the server import each other, directly or round a longer loop.

A "package" is what sits directly under ``sync_server/``: a domain package (``events/``) or a
top-level module (``api.py``); ``sync_server/__init__.py`` (the composition root, which names
every domain) is the package ``sync_server``. Every import statement counts, wherever it is: at
the top, inside a function, or under ``TYPE_CHECKING``. The intended direction is written down
in docs/server.md ("Package map").
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import sync_server

ROOT = "sync_server"


@dataclass(frozen=True)
class Edge:
    importer: str  # package
    imported: str  # package
    where: str  # "events/api.py:96 imports sync_server.orders.services"


def _package(parts: list[str], top: Path) -> str:
    """The package of a dotted module name below ``sync_server`` (``[]`` is the root)."""
    if not parts:
        return ROOT
    first = parts[0]
    if (top / first).is_dir() or (top / f"{first}.py").is_file():
        return first
    return ROOT  # a name in sync_server/__init__.py: ``from sync_server import create_app``


def _imported_modules(
    tree: ast.Module, module: list[str], is_package: bool
) -> Iterator[tuple[int, list[str]]]:
    """(line, dotted name split) of everything a module imports, as absolute names."""
    here = module if is_package else module[:-1]  # what ``from . import`` means
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            for alias in node.names:
                # ``from sync_server import events`` names a package; ``from x import y`` may too.
                yield node.lineno, [*target, alias.name]


def import_edges(top: Path) -> list[Edge]:
    """Every import from one package of ``top`` (the ``sync_server`` folder) into another."""
    edges = []
    for path in sorted(top.rglob("*.py")):
        relative = path.relative_to(top)
        module = [ROOT, *relative.with_suffix("").parts]
        is_package = module[-1] == "__init__"
        if is_package:
            module.pop()
        importer = _package(module[1:], top)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in _imported_modules(tree, module, is_package):
            if name[0] != ROOT:
                continue
            imported = _package(name[1:], top)
            if imported != importer:
                edges.append(Edge(importer, imported,
                                  f"{relative}:{line} imports {'.'.join(name)}"))
    return edges


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of packages that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [group for group in groups if len(group) > 1]


def _shortest_cycle(graph: dict[str, set[str]], start: str, members: set[str]) -> list[str]:
    """The shortest loop from ``start`` back to itself inside one group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in sorted(graph[node] & members):
                if other == start:
                    return [*paths[node], start]
                if other not in paths:
                    paths[other] = [*paths[node], other]
                    following.append(other)
        frontier = following
    raise AssertionError(f"{start} is in no loop")  # pragma: no cover - Tarjan said it was


def package_cycles(top: Path) -> list[str]:
    """One line per loop of packages, naming the loop and the imports that close it."""
    edges = import_edges(top)
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in edges:
        graph[edge.importer].add(edge.imported)
    report = []
    for group in _strongly_connected(graph):
        members = set(group)
        loops = {tuple(_shortest_cycle(graph, member, members)) for member in group}
        # The same loop seen from each of its members once, starting at its first name.
        seen = set()
        for loop in sorted(loops, key=lambda loop: (len(loop), loop)):
            key = frozenset(pairwise(loop))
            if key in seen:
                continue
            seen.add(key)
            because = [next(e.where for e in edges if (e.importer, e.imported) == step)
                       for step in pairwise(loop)]
            report.append(" -> ".join(loop) + "   (" + "; ".join(because) + ")")
    return report


def test_no_two_server_packages_import_each_other() -> None:
    top = Path(sync_server.__file__).parent
    cycles = package_cycles(top)
    assert cycles == [], "import cycles between server packages:\n" + "\n".join(cycles)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A ``sync_server`` folder holding ``files``; every folder gets an empty ``__init__.py``."""
    top = tmp_path / "sync_server"
    for name, text in files.items():
        path = top / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in [top, *(p for p in top.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return top


def test_a_loop_of_three_packages_is_found_and_named(tmp_path: Path) -> None:
    top = _tree(tmp_path, {
        "__init__.py": "from sync_server import a\n",
        "a/api.py": "def f():\n    from sync_server.b.services import g\n",
        "b/services.py": "from typing import TYPE_CHECKING\n"
                         "if TYPE_CHECKING:\n    from sync_server.c import h\n",
        "c.py": "from sync_server.a import api\n",
        "d.py": "import sync_server.a.api\nfrom sync_server import create_app\n",
    })
    cycles = package_cycles(top)
    assert len(cycles) == 1
    assert cycles[0].startswith("a -> b -> c -> a   ")
    assert "a/api.py:2 imports sync_server.b.services.g" in cycles[0]
    assert "b/services.py:3 imports sync_server.c.h" in cycles[0]


def test_two_way_imports_and_relative_imports_count(tmp_path: Path) -> None:
    top = _tree(tmp_path, {"auth/access.py": "from ..accounts import models\n",
                           "accounts/models.py": "",
                           "accounts/api.py": "from sync_server.auth.access import Actor\n",
                           "db.py": "",
                           "events/models.py": "from .. import db\n"})
    assert [line.split("   ")[0] for line in package_cycles(top)] == [
        "accounts -> auth -> accounts"]
    assert {(e.importer, e.imported) for e in import_edges(top)} == {
        ("auth", "accounts"), ("accounts", "auth"), ("events", "db")}
