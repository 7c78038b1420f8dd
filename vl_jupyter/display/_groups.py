"""Per-group values of a control, as bars: the inline SVG and the review chart share them.

A control's ``metadata["groups"]`` holds ``{label: {"n": ..., "value": ...}}``, or
``tpr``/``fpr`` instead of ``value`` for the equalized-odds metrics; groups left out for
being smaller than ``min_group_size`` are in ``metadata["excluded_groups"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._style import MUTED, STATUS_STYLE, esc, fmt_number

#: At most this many bars are drawn per control; the rest are counted.
MAX_BARS = 12
_ROW, _LABEL_W, _BAR_W, _TEXT_W = 16, 84, 120, 96


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


def svg_bars(bars: list[GroupBar], status: str, min_group_size: Any = None) -> str:
    """An inline SVG with one bar per group (value and count), excluded groups marked."""
    if not any(b.value is not None for b in bars):
        return ""
    shown, hidden = bars[:MAX_BARS], len(bars) - MAX_BARS
    values = [b.value for b in shown if b.value is not None]
    top = 1.0 if all(0 <= v <= 1 for v in values) else max(abs(v) for v in values) or 1.0
    colour = STATUS_STYLE[status].colour
    rows = len(shown) + (hidden > 0)
    width, height = _LABEL_W + _BAR_W + _TEXT_W, rows * _ROW + 2
    parts = [
        f'<svg class="vl-bars" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="per-group values" style="font-size:11px;font-family:inherit">'
    ]
    for i, b in enumerate(shown):
        y = i * _ROW + 1
        label = b.label if len(b.label) <= 14 else b.label[:13] + "…"
        parts.append(
            f'<text x="{_LABEL_W - 4}" y="{y + 11}" text-anchor="end" fill="#24292f">'
            f"<title>{esc(b.label)}</title>{esc(label)}</text>"
        )
        if b.excluded:
            size = f" &lt; {esc(min_group_size)}" if min_group_size is not None else ""
            parts.append(
                f'<rect class="vl-bar vl-excluded" data-group="{esc(b.group)}" x="{_LABEL_W}" '
                f'y="{y + 2}" width="{_BAR_W}" height="{_ROW - 5}" fill="none" '
                f'stroke="{MUTED}" stroke-dasharray="3,2"><title>{esc(b.group)}: excluded, '
                f"n={b.n}</title></rect>"
                f'<text x="{_LABEL_W + 4}" y="{y + 11}" fill="{MUTED}" font-style="italic">'
                f"excluded (n={b.n}{size})</text>"
            )
            continue
        value = b.value if b.value is not None else 0.0
        w = max(1.0, _BAR_W * min(abs(value), top) / top)
        parts.append(
            f'<rect class="vl-bar" data-group="{esc(b.group)}" x="{_LABEL_W}" y="{y + 2}" '
            f'width="{w:.1f}" height="{_ROW - 5}" fill="{colour}" fill-opacity="0.75">'
            f"<title>{esc(b.label)}: {fmt_number(b.value)} (n={b.n})</title></rect>"
            f'<text x="{_LABEL_W + _BAR_W + 4}" y="{y + 11}" fill="#24292f">'
            f'{fmt_number(b.value)} <tspan fill="{MUTED}">n={b.n}</tspan></text>'
        )
    if hidden > 0:
        y = len(shown) * _ROW + 1
        parts.append(
            f'<text x="{_LABEL_W}" y="{y + 11}" fill="{MUTED}">+{hidden} more groups</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) else float(value)


def _sum(a: Any, b: Any) -> float | None:
    return a + b if a is not None and b is not None else None
