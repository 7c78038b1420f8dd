"""How the model's objects look, without the model importing its views.

``Report`` and ``Comparison`` belong here; their HTML and the history chart belong to the
display room, which imports this room (statuses, types). So the display room registers
its renderers here (``display.install()``, called by the package root on import) and
``_repr_html_`` / ``Report.history()`` look them up: the dependency points one way,
display -> enforcement (tests/test_room_imports.py holds it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: view kind -> renderer: ``report_html(report) -> str``, ``review(report, **options)``,
#: ``comparison_html(comparison) -> str``, ``trend(frame, baseline=...) -> Trend``.
_VIEWS: dict[str, Callable[..., Any]] = {}


def register_view(kind: str, render: Callable[..., Any]) -> None:
    """Make ``render`` the view of ``kind`` (the display room does this on import)."""
    _VIEWS[kind] = render


def view(kind: str) -> Callable[..., Any] | None:
    """The renderer registered for ``kind``, or None (``import vl_jupyter`` registers
    them all; a bare ``vl_jupyter.enforcement`` without the package root has none)."""
    return _VIEWS.get(kind)
