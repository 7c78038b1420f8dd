"""The rooms import each other one way: the module-level imports between rooms (not those
deferred into functions or under TYPE_CHECKING) form no cycle. Read from the source (no
interpreter per room: importing any room imports the package first)."""

from __future__ import annotations

import ast
from pathlib import Path

import vl_jupyter

PACKAGE = Path(vl_jupyter.__file__).parent
#: Shared modules, not rooms: they import nothing of the package's rooms.
SHARED = {"errors", "environment", "_context", "binding"}


def _room(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "vl_jupyter" or len(parts) < 2:
        return None
    return parts[1].removesuffix(".py")


def _top_level_imports(path: Path, module: str) -> set[str]:
    """Modules ``path`` imports when it is imported (function bodies and TYPE_CHECKING
    blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                found.add(target)
                found.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, block, []) or []:
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    return found


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        room = _room(module)
        if room is None or room in SHARED or room == "cli":
            continue
        for target in _top_level_imports(path, module):
            other = _room(target)
            if other and other != room and other not in SHARED and (PACKAGE / other).is_dir():
                graph.setdefault(room, set()).add(other)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_rooms_import_each_other_one_way():
    graph = room_graph()
    assert graph  # the walk found the rooms' imports at all
    assert "policy" in graph["enforcement"] and "evidence" in graph["trackers"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def _every_import(path: Path, module: str) -> set[str]:
    """Modules ``path`` imports anywhere, deferred ones in function bodies included
    (TYPE_CHECKING blocks excluded: names for the type checker, not a dependency)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    skipped = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in node.body
        for n in ast.walk(child)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return found


def _room_imports_anywhere(room: str) -> dict[str, set[str]]:
    out = {}
    for path in sorted((PACKAGE / room).rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        out[module] = _every_import(path, module)
    return out


def test_the_enforcement_model_never_imports_its_views():
    """Report and Comparison get their HTML and history chart from the display room's
    registration (display.install, wired by the package root), and Report.review() its
    panel from the review room's, not by importing them, even inside a method: display
    and review import enforcement, so the reverse would be a cycle."""
    imports = _room_imports_anywhere("enforcement")
    # the walk sees deferred imports: Report.history imports the evidence room in its body
    assert "vl_jupyter.evidence.history" in imports["vl_jupyter.enforcement._report"]
    offenders = {
        module: sorted(
            t
            for t in targets
            if t.split(".")[:2] in (["vl_jupyter", "display"], ["vl_jupyter", "review"])
        )
        for module, targets in imports.items()
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_every_import_walk_finds_a_deferred_view_import(tmp_path):
    source = tmp_path / "_x.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..display import Trend\n"
        "def f():\n    from ..display import report_html\n    return report_html\n"
    )
    found = _every_import(source, "vl_jupyter.enforcement._x")
    assert "vl_jupyter.display.report_html" in found
    assert "vl_jupyter.display.Trend" not in found
