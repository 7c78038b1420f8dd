"""Per-group values of a control, as bars: the inline HTML bars and the review chart share them.

A control's ``metadata["groups"]`` holds ``{label: {"n": ..., "value": ...}}``, or
``tpr``/``fpr`` instead of ``value`` for the equalized-odds metrics; groups left out for
being smaller than ``min_group_size`` are in ``metadata["excluded_groups"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._style import MUTED, STATUS_STYLE, TEXT, esc, fmt_number

#: At most this many bars are drawn per control; the rest are counted.
MAX_BARS = 12
#: The bar track: a fixed width, so bars of different controls compare at a glance.
_TRACK = "flex:0 0 120px;height:10px;border-radius:2px;box-sizing:border-box"
_TRACK_BG = "var(--jp-layout-color3, #eaeef2)"
#: Label, track and value side by side: the row never squeezes them below this.
_MIN_W = "19em"


@dataclass(frozen=True)
class GroupBar:
    """One bar: a group's value (None when excluded), its size and, for rates, a 95%
    Wilson interval."""

    group: str
    value: float | None
    n: int | None
    series: str = "value"
    excluded: bool = False
    ci: tuple[float, float] | None = None

    @property
    def label(self) -> str:
        return self.group if self.series == "value" else f"{self.group} {self.series.upper()}"


def wilson(successes: float, n: float, z: float = 1.959964) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a proportion; None when ``n`` is 0."""
    if not n:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def group_bars(metadata: Mapping[str, Any]) -> list[GroupBar]:
    """The bars of one control's per-group values, excluded groups last."""
    bars: list[GroupBar] = []
    for name, g in (metadata.get("groups") or {}).items():
        n = g.get("n")
        if "tpr" in g or "fpr" in g:
            tp, fn, fp, tn = (g.get(k) for k in ("tp", "fn", "fp", "tn"))
            for series, value, k, total in (
                ("tpr", g.get("tpr"), tp, _sum(tp, fn)),
                ("fpr", g.get("fpr"), fp, _sum(fp, tn)),
            ):
                ci = wilson(k, total) if k is not None and total else None
                bars.append(GroupBar(str(name), _num(value), n, series, ci=ci))
        elif _num(g.get("value")) is not None:
            ci = wilson(g["positives"], n) if "positives" in g and n else None
            bars.append(GroupBar(str(name), _num(g["value"]), n, ci=ci))
    for name, n in (metadata.get("excluded_groups") or {}).items():
        bars.append(GroupBar(str(name), None, n, excluded=True))
    return bars


def html_bars(bars: list[GroupBar], status: str, min_group_size: Any = None) -> str:
    """One bar per group (label, bar, value and count), excluded groups marked.

    Plain HTML, not SVG: an SVG with a viewBox is scaled down with its table cell (the
    text shrank to ~4.5 px with the sidebar open), while HTML text keeps the notebook's
    font size at any width. Text colours are the theme's variables with light fallbacks,
    so labels stay readable in a dark theme, in Notebook 7 and after nbconvert.
    """
    if not any(b.value is not None for b in bars):
        return ""
    shown, hidden = bars[:MAX_BARS], len(bars) - MAX_BARS
    values = [b.value for b in shown if b.value is not None]
    top = 1.0 if all(0 <= v <= 1 for v in values) else max(abs(v) for v in values) or 1.0
    colour = STATUS_STYLE[status].colour
    parts = [
        '<div class="vl-bars" role="list" aria-label="per-group values" '
        f'style="font-size:12px;line-height:1.5;color:{TEXT};min-width:{_MIN_W}">'
    ]
    for b in shown:
        label = (
            f'<span class="vl-bar-label" title="{esc(b.label)}" style="flex:0 0 7em;'
            'overflow:hidden;text-overflow:ellipsis;white-space:nowrap;text-align:right">'
            f"{esc(b.label)}</span>"
        )
        if b.excluded:
            size = f" &lt; {esc(min_group_size)}" if min_group_size is not None else ""
            track = (
                f'<span class="vl-bar vl-excluded" style="{_TRACK};border:1px dashed {MUTED};'
                'background:transparent"></span>'
                f'<span class="vl-bar-value" style="color:{MUTED};font-style:italic">'
                f"excluded (n={b.n}{size})</span>"
            )
            title = f"{b.group}: excluded, n={b.n}"
        else:
            value = b.value if b.value is not None else 0.0
            width = max(1.0, 100 * min(abs(value), top) / top)
            track = (
                f'<span class="vl-bar-track" style="{_TRACK};background:{_TRACK_BG}">'
                f'<span class="vl-bar" style="display:block;height:100%;width:{width:.1f}%;'
                f'background:{colour}"></span></span>'
                f'<span class="vl-bar-value">{fmt_number(b.value)} '
                f'<span style="color:{MUTED}">n={b.n}</span></span>'
            )
            title = f"{b.label}: {fmt_number(b.value)} (n={b.n})"
        parts.append(
            f'<div class="vl-bar-row" role="listitem" data-group="{esc(b.group)}" '
            f'title="{esc(title)}" style="display:flex;align-items:center;gap:6px;'
            f'white-space:nowrap">{label}{track}</div>'
        )
    if hidden > 0:
        parts.append(f'<div style="color:{MUTED};padding-left:7em">+{hidden} more groups</div>')
    parts.append("</div>")
    return "".join(parts)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _sum(a: Any, b: Any) -> float | None:
    return a + b if a is not None and b is not None else None
