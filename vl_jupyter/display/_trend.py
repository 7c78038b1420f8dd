"""Over time: the comparison table (arrows and deltas) and the trend chart of a control.

The trend is drawn twice: a plotly figure for the live notebook (value, CI band,
threshold line, baseline marker) and a static SVG of the same picture as the
``text/html`` fallback, so a saved, exported or GitHub-rendered notebook still shows it.
"""

from __future__ import annotations

import contextlib
import json
import math
from typing import Any

from ._style import FONT, MUTED, badge, esc, fmt_number, row, table

#: Alert level -> (colour, word); "none" is not an alert.
LEVEL_STYLE = {
    "none": ("#57606a", "none"),
    "warning": ("#9a6700", "warning"),
    "critical": ("#cf222e", "critical"),
    "emergency": ("#82071e", "emergency"),
}
_ARROW = {"improved": "▲ better", "regressed": "▼ worse", "unchanged": "= same", "n/a": "—"}
COMPARISON_HEADERS = ("Control", "Now", "Baseline", "Change", "p", "Alert")


def _signed(value: float | None, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:+.1%}" if percent else f"{value:+.3g}"


def level_badge(level: str) -> str:
    colour, word = LEVEL_STYLE.get(level, LEVEL_STYLE["none"])
    weight = "400" if level == "none" else "600"
    return f'<span class="vl-alert vl-alert-{esc(level)}" style="color:{colour};font-weight:{weight}">{esc(word)}</span>'


def comparison_html(comparison: Any) -> str:
    """The comparison as a table: each control's value now and then, the change in the
    policy's "better" direction (arrow, absolute and relative), p-value and alert."""
    base = comparison.baseline
    label = base.get("label") or base.get("id") or "baseline"
    when = f", {esc(base['created'])}" if base.get("created") else ""
    rows = []
    for c in comparison.changes:
        worse = c.direction == "regressed"
        colour = "#cf222e" if worse else ("#1a7f37" if c.direction == "improved" else MUTED)
        change = (
            f'<span style="color:{colour};white-space:nowrap">{_ARROW[c.direction]}</span> '
            f"{_signed(c.change)} ({_signed(c.relative_change, percent=True)})"
        )
        if c.significant is None:
            p = f'<span style="color:{MUTED}" title="no interval on one side">not tested</span>'
        else:
            p = f"{c.p_value:.3g}" + (" *" if c.significant else "")
        rows.append(
            row(
                [
                    f"<code>{esc(c.control_id)}</code>",
                    f"{fmt_number(c.value)} {badge(c.status)}",
                    fmt_number(c.baseline_value)
                    + (f" {badge(c.baseline_status)}" if c.baseline_status else ""),
                    change,
                    p,
                    level_badge(c.level),
                ],
                css_class=f"vl-change vl-alert-{c.level}",
            )
        )
    extra = []
    if comparison.added:
        extra.append("new controls: " + ", ".join(esc(x) for x in comparison.added))
    if comparison.removed:
        extra.append("no longer checked: " + ", ".join(esc(x) for x in comparison.removed))
    for pc in comparison.policy_changes:
        extra.append(f"{esc(pc['control_id'])}: {esc(pc['before'])} → {esc(pc['after'])}")
    notes = "".join(f'<div style="color:{MUTED}">{x}</div>' for x in extra)
    head = (
        f"<div><b>Against {esc(label)}</b>{when}: worst alert "
        f"{level_badge(comparison.worst_level)}</div>"
    )
    foot = f'<div style="color:{MUTED}">* {esc(comparison.method)}</div>'
    return (
        f'<div class="vl-comparison" style="{FONT}">{head}'
        f"{table('vl-comparison-table', COMPARISON_HEADERS, rows)}{notes}{foot}</div>"
    )


class Trend:
    """A control's history as a chart: ``frame`` is the DataFrame of
    :func:`vl_jupyter.evidence.history`; displays as plotly when live, SVG when exported."""

    def __init__(self, frame: Any, *, baseline: dict[str, Any] | None = None) -> None:
        self.frame = frame
        self.baseline = baseline or {}

    def __repr__(self) -> str:
        controls = sorted(set(self.frame["control_id"])) if len(self.frame) else []
        return (
            f"<Trend of {len(controls)} control(s) over {self.frame['record_id'].nunique()} run(s)>"
        )

    def controls(self) -> list[str]:
        return list(dict.fromkeys(self.frame["control_id"]))

    def figure(self):
        """A plotly figure: one panel per control, CI band, threshold line, baseline marker."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        controls = self.controls() or ["(no runs)"]
        fig = make_subplots(rows=len(controls), cols=1, subplot_titles=controls, shared_xaxes=True)
        for i, cid in enumerate(controls, start=1):
            part = self.frame[self.frame["control_id"] == cid]
            x = part["created"]
            if part["ci_low"].notna().any():
                fig.add_trace(
                    go.Scatter(
                        x=list(x) + list(x[::-1]),
                        y=list(part["ci_high"]) + list(part["ci_low"][::-1]),
                        fill="toself",
                        line={"width": 0},
                        fillcolor="rgba(9,105,218,0.15)",
                        name="95% CI",
                        showlegend=i == 1,
                        hoverinfo="skip",
                    ),
                    row=i,
                    col=1,
                )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part["value"],
                    mode="lines+markers",
                    name=cid,
                    text=part["status"],
                    hovertemplate="%{y:.4g} (%{text})<br>%{x}<extra></extra>",
                ),
                row=i,
                col=1,
            )
            if len(part) and part["threshold"].notna().any():
                fig.add_hline(
                    y=float(part["threshold"].iloc[-1]),
                    line_dash="dash",
                    line_color="#cf222e",
                    row=i,
                    col=1,
                )
            base_id = self.baseline.get("id")
            if base_id is not None and (part["record_id"] == base_id).any():
                b = part[part["record_id"] == base_id]
                fig.add_trace(
                    go.Scatter(
                        x=b["created"],
                        y=b["value"],
                        mode="markers",
                        marker={"symbol": "star", "size": 12, "color": "#8250df"},
                        name="baseline",
                        showlegend=i == 1,
                    ),
                    row=i,
                    col=1,
                )
        fig.update_layout(height=220 * len(controls), margin={"t": 40, "b": 30, "l": 50, "r": 20})
        return fig

    def svg(self, width: int = 560, height: int = 150) -> str:
        """The same chart as static SVG (one panel per control)."""
        return (
            "".join(
                _panel(
                    self.frame[self.frame["control_id"] == cid], cid, self.baseline, width, height
                )
                for cid in self.controls()
            )
            or f'<div style="{FONT};color:{MUTED}">no runs recorded for these controls yet</div>'
        )

    def _repr_html_(self) -> str:
        return f'<div class="vl-trend" style="{FONT}">{self.svg()}</div>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        # plotly missing, or a figure it cannot draw: the SVG fallback still shows
        with contextlib.suppress(Exception):
            bundle["application/vnd.plotly.v1+json"] = json.loads(self.figure().to_json())
        return bundle


def _panel(part: Any, cid: str, baseline: dict[str, Any], width: int, height: int) -> str:
    pad_l, pad_r, pad_t, pad_b = 48, 10, 18, 22
    values = [v for v in part["value"] if v is not None and not _nan(v)]
    lows = [v for v in part["ci_low"] if v is not None and not _nan(v)]
    highs = [v for v in part["ci_high"] if v is not None and not _nan(v)]
    thresholds = [v for v in part["threshold"] if v is not None and not _nan(v)]
    span = values + lows + highs + thresholds[-1:]
    if not span:
        return f'<div style="color:{MUTED}">{esc(cid)}: no values</div>'
    lo, hi = min(span), max(span)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    margin = (hi - lo) * 0.08
    lo, hi = lo - margin, hi + margin
    n = len(part)

    def x(i: int) -> float:
        return pad_l + (width - pad_l - pad_r) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1 - (v - lo) / (hi - lo))

    rows = list(part.itertuples(index=False))
    parts = [
        f'<svg class="vl-trend-panel" role="img" aria-label="trend of {esc(cid)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="display:block;max-width:100%;height:auto;font-size:11px">',
        f'<text x="{pad_l}" y="12" fill="currentColor" font-weight="600">{esc(cid)}</text>',
        f'<text x="4" y="{y(hi - margin) + 4:.1f}" fill="{MUTED}">{fmt_number(hi - margin)}</text>',
        f'<text x="4" y="{y(lo + margin) + 4:.1f}" fill="{MUTED}">{fmt_number(lo + margin)}</text>',
    ]
    band = [
        (i, r.ci_low, r.ci_high)
        for i, r in enumerate(rows)
        if not _nan(r.ci_low) and not _nan(r.ci_high)
    ]
    if band:
        upper = " ".join(f"{x(i):.1f},{y(h):.1f}" for i, _, h in band)
        lower = " ".join(f"{x(i):.1f},{y(lo_):.1f}" for i, lo_, _ in reversed(band))
        parts.append(
            f'<polygon points="{upper} {lower}" fill="rgba(9,105,218,0.15)"><title>95% CI</title></polygon>'
        )
    if thresholds:
        ty = y(thresholds[-1])
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{ty:.1f}" y2="{ty:.1f}" '
            f'stroke="#cf222e" stroke-dasharray="4 3"><title>threshold {fmt_number(thresholds[-1])}</title></line>'
        )
    points = [(i, r.value) for i, r in enumerate(rows) if not _nan(r.value)]
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0969da" stroke-width="1.5"/>')
    for i, r in enumerate(rows):
        if _nan(r.value):
            continue
        is_base = baseline.get("id") is not None and r.record_id == baseline.get("id")
        fill = "#8250df" if is_base else "#0969da"
        radius = 5 if is_base else 3
        label = f"{fmt_number(r.value)} {r.status} {r.created:%Y-%m-%d %H:%M}" + (
            " (baseline)" if is_base else ""
        )
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(r.value):.1f}" r="{radius}" fill="{fill}">'
            f"<title>{esc(label)}</title></circle>"
        )
    first, last = rows[0].created, rows[-1].created
    parts.append(f'<text x="{pad_l}" y="{height - 6}" fill="{MUTED}">{first:%Y-%m-%d %H:%M}</text>')
    if n > 1:
        parts.append(
            f'<text x="{width - pad_r}" y="{height - 6}" fill="{MUTED}" text-anchor="end">'
            f"{last:%Y-%m-%d %H:%M}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _nan(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))
