"""Status colours, icons and words, and the HTML helpers built on them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..enforcement import Status


@dataclass(frozen=True)
class StatusStyle:
    """How one status looks: text colour, a light background, an icon and a word, and the
    ANSI colour code the CLI paints it with in a terminal."""

    colour: str
    background: str
    icon: str
    word: str
    ansi: str


#: The traffic lights: green pass, amber warn, red fail, grey error and skipped.
#: Keyed by ``Status`` (a str, so ``STATUS_STYLE["pass"]`` finds it too); the one place the
#: Python side declares status icons (the sidebar's TypeScript has its own copy).
STATUS_STYLE: dict[str, StatusStyle] = {
    Status.PASS: StatusStyle("#1a7f37", "#dafbe1", "✔", "PASS", "32"),
    Status.WARN: StatusStyle("#9a6700", "#fff8c5", "▲", "WARN", "33"),
    Status.FAIL: StatusStyle("#cf222e", "#ffebe9", "✖", "FAIL", "31"),
    Status.ERROR: StatusStyle("#57606a", "#eaeef2", "⊘", "ERROR", "90"),
    Status.SKIPPED: StatusStyle("#8c959f", "#f6f8fa", "–", "SKIPPED", "90"),
}
#: Secondary text (reasons, units, counts): the theme's secondary text colour where the
#: page has JupyterLab's variables (Lab, Notebook 7, nbconvert's lab template), else grey.
MUTED = "var(--jp-content-font-color2, #57606a)"
#: Primary text, the same way.
TEXT = "var(--jp-content-font-color1, #24292f)"
#: Rules between rows, the same way.
RULE = "var(--jp-border-color2, #d0d7de)"
FONT = (
    "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Helvetica,Arial,sans-serif;"
    "font-size:13px;line-height:1.4"
)
_CELL = f"padding:4px 8px;border-top:1px solid {RULE};text-align:left;vertical-align:top"


def esc(value: Any) -> str:
    """HTML-escaped ``str(value)`` (quotes included, so it is safe in attributes)."""
    return escape(str(value), quote=True)


def fmt_number(value: Any, digits: int = 3) -> str:
    """A short number: ``0.793``, ``310``, ``1.2e+04``; ``—`` for None or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e9:
        return str(int(value))
    return f"{value:.{digits}g}"


def version_label(version: Any) -> str:
    """``v1.0`` for a version number, the word itself otherwise (``unversioned``, not
    ``vunversioned``), empty when there is none."""
    text = "" if version is None else str(version).strip()
    if not text:
        return ""
    return f"v{text}" if text[0].isdigit() else text


def badge(status: str) -> str:
    """The status as icon and word on its light background, e.g. ``✖ FAIL``."""
    s = STATUS_STYLE[status]
    return (
        f'<span class="vl-status vl-{status}" title="{s.word.lower()}" style="color:{s.colour};'
        f"background:{s.background};font-weight:600;white-space:nowrap;padding:1px 6px;"
        f'border-radius:10px">{s.icon} {s.word}</span>'
    )


def banner(status: str, body: str, *, css_class: str, title: str = "") -> str:
    """A block with the status colour as its left edge: the frame of every summary."""
    s = STATUS_STYLE[status]
    hover = f' title="{esc(title)}"' if title else ""
    return (
        f'<div class="{css_class}"{hover} style="{FONT};border-left:4px solid {s.colour};'
        f'padding:4px 10px;margin:2px 0">{body}</div>'
    )


def row(cells: Sequence[str], *, css_class: str = "vl-row", attrs: str = "") -> str:
    """One ``<tr>``; ``cells`` are ready-made HTML (escape what you put in)."""
    tds = "".join(f'<td style="{_CELL}">{c}</td>' for c in cells)
    return f'<tr class="{css_class}"{" " + attrs if attrs else ""}>{tds}</tr>'


def table(css_class: str, headers: Sequence[str], rows: Iterable[str]) -> str:
    """A plain table of ``rows`` made by :func:`row`."""
    head = "".join(
        f'<th style="{_CELL};border-top:none;font-weight:600">{esc(h)}</th>' for h in headers
    )
    return (
        f'<table class="{css_class}" style="{FONT};border-collapse:collapse;margin:4px 0">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
