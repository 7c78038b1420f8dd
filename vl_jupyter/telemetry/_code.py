"""Which code a monitored block was: the ``code_context`` of ``trace_<name>.json``.

A trace must point at the user's code, never at the machinery around it (the SDK's
``@contextmanager`` monitor pointed at ``contextlib.py``). So:

- a ``with monitor():`` or ``@monitor()`` in a script or module gives the file and the
  line range of the ``with`` statement or the decorated function (found with ``ast``),
  and that source;
- in a notebook cell (a ``with`` in a cell, or ``%%vl_monitor``) it gives the cell's
  source, the notebook path and the execution count; ``file`` is the kernel's name for
  the cell, kept for tracebacks;
- frames inside vl_jupyter itself (the ``%%vl_monitor`` magic) are never "the code".
"""

from __future__ import annotations

import ast
import functools
import linecache
from pathlib import Path
from typing import Any

_PACKAGE = str(Path(__file__).resolve().parents[1])


@functools.lru_cache(maxsize=1024)
def is_internal(filename: str) -> bool:
    """Whether ``filename`` belongs to vl_jupyter (never reported as the user's code).

    Cached: resolving the path walks it from ``/`` (~30 µs), twice per monitored cell."""
    try:
        return str(Path(filename).resolve()).startswith(_PACKAGE)
    except (OSError, ValueError):
        return False


def is_cell(filename: str) -> bool:
    """Whether ``filename`` is IPython's name for a cell (``<ipython-input-...>`` or
    ipykernel's ``/tmp/ipykernel_<pid>/<hash>.py``)."""
    return filename.startswith("<ipython-input") or "/ipykernel_" in filename.replace("\\", "/")


@functools.lru_cache(maxsize=256)
def _block_ranges(filename: str, mtime: float) -> dict[int, tuple[int, int]]:
    """``start line -> (start, end)`` of every ``with`` statement and decorated or plain
    function in the file (cached per file version)."""
    try:
        tree = ast.parse("".join(linecache.getlines(filename)) or Path(filename).read_text())
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return {}
    ranges: dict[int, tuple[int, int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            ranges.setdefault(node.lineno, (node.lineno, node.end_lineno or node.lineno))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            span = (first, node.end_lineno or node.lineno)
            for line in {first, node.lineno}:
                ranges.setdefault(line, span)
    return ranges


def block_range(filename: str, line: int) -> tuple[int, int] | None:
    try:
        mtime = Path(filename).stat().st_mtime
    except OSError:
        mtime = 0.0
    return _block_ranges(filename, mtime).get(line)


def describe(
    where: dict[str, Any], source: str | None, notebook: str | None, count: int | None
) -> tuple[dict[str, Any], str | None]:
    """The code context of a block at ``where`` and its source text.

    ``source`` (given by ``%%vl_monitor``: the cell) wins over what the file says.
    """
    filename = str(where.get("file") or "")
    line = where.get("line")
    context: dict[str, Any] = {
        "file": None if is_internal(filename) else (filename or None),
        "line": line,
        "function": where.get("function"),
        "notebook": notebook,
        "execution_count": count,
    }
    if where.get("magic") or is_internal(filename) or (filename and is_cell(filename)):
        cell = source
        if cell is None and filename:
            cell = "".join(linecache.getlines(filename)) or None
        context.update(kind="notebook_cell", cell_source=cell, line=line if cell else None)
        if context["file"] is None:
            context["line"] = None
        return context, cell
    context["kind"] = "function" if where.get("function") else "block"
    span = block_range(filename, line) if filename and isinstance(line, int) else None
    if span is not None:
        context["line_start"], context["line_end"] = span
        if source is None:
            lines = linecache.getlines(filename)[span[0] - 1 : span[1]]
            source = "".join(lines) or None
    elif source is None and filename and isinstance(line, int):
        source = linecache.getline(filename, line) or None
    return context, source
