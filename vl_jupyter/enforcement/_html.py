"""Plain-HTML view of a Report: no JavaScript, so it survives saving, export and GitHub.

Colour is never the only signal: every status has an icon and a word.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._report import ControlResult, Report

STATUS_STYLE = {
    "pass": ("#1a7f37", "✔", "PASS"),
    "warn": ("#9a6700", "▲", "WARN"),
    "fail": ("#cf222e", "✖", "FAIL"),
    "error": ("#57606a", "⦸", "ERROR"),
    "skipped": ("#8c959f", "–", "SKIPPED"),
}


def badge(status: str) -> str:
    colour, icon, word = STATUS_STYLE[status]
    return (
        f'<span class="vl-status vl-{status}" style="color:{colour};font-weight:600;'
        f'white-space:nowrap">{icon} {word}</span>'
    )


def _value(r: ControlResult) -> str:
    if r.actual_value is None:
        return "—"
    text = f"{r.actual_value:.4g}"
    if r.ci:
        text += f' <span style="color:#57606a">[{r.ci[0]:.3g}, {r.ci[1]:.3g}]</span>'
    return text


def _groups(r: ControlResult) -> str:
    groups = r.metadata.get("groups") or {}
    parts = []
    for name, g in list(groups.items())[:12]:
        value = g.get("value")
        shown = f"{value:.3g}" if isinstance(value, float) else ""
        parts.append(f"{escape(str(name))}: {shown} (n={g.get('n')})")
    excluded = r.metadata.get("excluded_groups") or {}
    if excluded:
        parts.append(
            "excluded: " + ", ".join(f"{escape(str(k))} (n={v})" for k, v in excluded.items())
        )
    return "<br>".join(parts)


def report_html(report: Report) -> str:
    policy = report.policy
    data = report.data or {}
    header = (
        f"{badge(report.status)} &nbsp; <b>{escape(str(policy.get('title')))}</b> "
        f"v{escape(str(policy.get('version')))} &nbsp; score {report.score:.0%} "
        f"({report.counts['pass'] + report.counts['warn']}/{len(report.evaluated)} passed)"
        f" &nbsp; data: {data.get('rows', '?')} rows, "
        f"<code>{escape(str(data.get('content_hash', ''))[:12])}</code>"
    )
    if report.evidence_id:
        header += f" &nbsp; evidence <code>{escape(report.evidence_id)}</code>"
    rows = []
    for r in report:
        reason = f'<div style="color:#57606a">{escape(r.reason)}</div>' if r.reason else ""
        rows.append(
            "<tr>"
            f"<td>{badge(r.status)}</td>"
            f"<td><b>{escape(r.control_id)}</b><div>{escape(r.description)}</div>{reason}</td>"
            f"<td><code>{escape(r.metric_key)}</code></td>"
            f"<td>{_value(r)}</td>"
            f"<td>{escape(_symbol(r.operator))} {r.threshold:g}</td>"
            f"<td>{escape(r.severity)}</td>"
            f'<td style="font-size:90%">{_groups(r)}</td>'
            "</tr>"
        )
    return (
        '<div class="vl-report">'
        f"<div>{header}</div>"
        '<table class="vl-report-table"><thead><tr>'
        "<th>status</th><th>control</th><th>metric</th><th>value [95% CI]</th>"
        "<th>threshold</th><th>severity</th><th>groups</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _symbol(operator: str) -> str:
    from ..policy import OPERATORS

    return OPERATORS[operator][1]
