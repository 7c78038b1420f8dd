"""The review chart of one control: per-group values with their 95% intervals, and the
control's value with its confidence interval against the threshold. Imports plotly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..display import STATUS_STYLE, group_bars

if TYPE_CHECKING:
    from ..enforcement import ControlResult

_SERIES_COLOUR = {"value": None, "tpr": "#0969da", "fpr": "#8250df"}


def control_figure(result: ControlResult) -> go.Figure:
    """A two-panel plotly figure; the right panel shows the threshold line."""
    colour = STATUS_STYLE[result.status].colour
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.72, 0.28],
        subplot_titles=("per group (95% Wilson interval for rates)", result.metric_key),
    )
    bars = group_bars(result.metadata)
    for series in dict.fromkeys(b.series for b in bars if not b.excluded):
        chosen = [b for b in bars if b.series == series and not b.excluded]
        plus = [(b.ci[1] - b.value) if b.ci and b.value is not None else 0 for b in chosen]
        minus = [(b.value - b.ci[0]) if b.ci and b.value is not None else 0 for b in chosen]
        fig.add_trace(
            go.Bar(
                name=series.upper() if series != "value" else "value",
                x=[b.group for b in chosen],
                y=[b.value for b in chosen],
                marker_color=_SERIES_COLOUR[series] or colour,
                error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
                text=[f"n={b.n}" for b in chosen],
                textposition="outside",
            ),
            row=1,
            col=1,
        )
    for b in bars:
        if b.excluded:
            fig.add_annotation(
                x=b.group, y=0, text=f"excluded (n={b.n})", showarrow=False, row=1, col=1
            )
    if result.actual_value is not None:
        ci = result.ci
        fig.add_trace(
            go.Scatter(
                x=[result.control_id],
                y=[result.actual_value],
                mode="markers",
                marker={"size": 12, "color": colour},
                name="control value",
                error_y={
                    "type": "data",
                    "array": [ci[1] - result.actual_value] if ci else [0],
                    "arrayminus": [result.actual_value - ci[0]] if ci else [0],
                },
            ),
            row=1,
            col=2,
        )
    if result.threshold is not None:  # None: the policy gave none (an error result)
        fig.add_hline(
            y=result.threshold,
            line_dash="solid",
            line_color="#24292f",
            annotation_text=f"threshold {result.threshold:g}",
            row=1,
            col=2,
        )
    warn = result.metadata.get("warn_threshold")
    if warn is not None:
        fig.add_hline(
            y=warn, line_dash="dot", line_color="#9a6700", annotation_text="warn", row=1, col=2
        )
    style = STATUS_STYLE[result.status]
    fig.update_layout(
        title=f"{style.icon} {style.word} · {result.control_id}",
        height=340,
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
        barmode="group",
        showlegend=False,
        template="plotly_white",
    )
    return fig
