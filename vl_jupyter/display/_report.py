"""Plain-HTML view of a Report: no JavaScript, so it survives saving, export and GitHub.

A header (overall status, score, policy title and version, data fingerprint, evidence
id), then one row per control: traffic light, control and why it failed, metric, value
with its confidence interval, operator and threshold, severity, and an inline SVG bar
per group. Colours, icons and words come from :mod:`vl_jupyter.display`; colour is never
the only signal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..enforcement import Status
from ..policy import fail_sentence, operator_symbol
from ._groups import group_bars, html_bars
from ._style import (
    FONT,
    MUTED,
    STATUS_STYLE,
    badge,
    banner,
    esc,
    fmt_number,
    row,
    table,
    version_label,
)
from ._trend import comparison_html

if TYPE_CHECKING:
    from ..enforcement import ControlResult, Report

REPORT_HEADERS = ("status", "control", "metric", "value [CI]", "threshold", "severity")
#: Statuses whose row says why in one sentence.
EXPLAINED = (Status.FAIL, Status.ERROR, Status.WARN, Status.SKIPPED)


def report_html(report: Report) -> str:
    """The whole report: header, one row per control, legend."""
    # skipped controls are not results (as in the SDK) but the reader should see them
    rows = [control_row(r) for r in [*report, *getattr(report, "skipped", [])]]
    notes = "".join(
        f'<div class="vl-warning" style="color:{MUTED}">▲ {esc(w)}</div>' for w in report.warnings
    )
    comparison = comparison_html(report.comparison) if report.comparison is not None else ""
    return (
        f'<div class="vl-report" data-status="{report.status}" style="{FONT}">'
        f"{_header(report)}{table('vl-report-table', REPORT_HEADERS, rows)}{notes}"
        f"{comparison}{_legend()}</div>"
    )


def control_row(r: ControlResult) -> str:
    """One ``<tr class="vl-control vl-<status>">`` for one control, followed by a
    ``<tr class="vl-groups">`` with its per-group bars when it has any.

    The bars get a row of their own, as wide as the table: in a column of their own
    they were squeezed (or pushed out of view) as soon as the sidebar took room from
    the notebook."""
    reason = ""
    if r.status in EXPLAINED:
        s = STATUS_STYLE[r.status]
        colour = s.colour if r.status in (Status.FAIL, Status.ERROR) else MUTED
        reason = f'<div class="vl-reason" style="color:{colour}">{s.icon} {esc(explain(r))}</div>'
    meta = r.metadata
    params = meta.get("params") or {}
    bars = html_bars(group_bars(meta), r.status, params.get("min_group_size"))
    as_written = meta.get("metric_as_written")
    metric = f"<code>{esc(r.metric_key)}</code>" + (
        f'<div style="color:{MUTED}">as {esc(as_written)}</div>' if as_written else ""
    )
    cells = [
        badge(r.status),
        f"<b>{esc(r.control_id)}</b><div>{esc(r.description)}</div>{reason}",
        metric,
        _value(r),
        _threshold(r),
        esc(r.severity),
    ]
    attrs = f'data-control="{esc(r.control_id)}" data-status="{r.status}"'
    html = row(cells, css_class=f"vl-control vl-{r.status}", attrs=attrs)
    if bars:
        html += (
            f'<tr class="vl-groups" data-control="{esc(r.control_id)}"><td></td>'
            f'<td colspan="{len(REPORT_HEADERS) - 1}" style="padding:0 8px 6px">{bars}</td></tr>'
        )
    return html


def explain(r: ControlResult) -> str:
    """One sentence saying why a control did not simply pass."""
    text = r.reason or ""
    value, threshold = r.actual_value, r.threshold
    if not text and r.status == Status.FAIL and value is not None and threshold is not None:
        text = fail_sentence(r.metric_key, value, r.operator, threshold)
    if not text:
        text = {
            Status.ERROR: "the control could not be evaluated",
            Status.SKIPPED: "not evaluated",
        }.get(r.status, r.status)
    if r.status == Status.FAIL:
        spread = _spread(r)
        if spread:
            text += f" ({spread})"
    return text if text.endswith(".") else text + "."


def _spread(r: ControlResult) -> str:
    """``lowest <25: 0.591 (n=149); highest >=60: 0.745 (n=51)`` for a grouped control."""
    bars = [
        (b.value, b) for b in group_bars(r.metadata) if b.value is not None and b.series == "value"
    ]
    if len(bars) < 2:
        return ""
    low = min(bars, key=lambda vb: vb[0])[1]  # the first of equal values, as min() gives
    high = max(bars, key=lambda vb: vb[0])[1]
    return (
        f"lowest {low.group}: {fmt_number(low.value)} (n={low.n}); "
        f"highest {high.group}: {fmt_number(high.value)} (n={high.n})"
    )


def _header(report: Report) -> str:
    policy = report.policy
    data = report.data or {}
    counts = report.counts
    tally = " ".join(
        f'<span title="{s}" style="color:{STATUS_STYLE[s].colour}">'
        f"{STATUS_STYLE[s].icon} {counts[s]} {s}</span>"
        for s in STATUS_STYLE
        if counts[s]
    )
    passed = counts["pass"] + counts["warn"]
    columns = data.get("columns", "?")
    columns = len(columns) if isinstance(columns, (list, tuple)) else columns
    fingerprint = str(data.get("content_hash", ""))
    short = fingerprint.split(":", 1)[-1][:12]
    name = f" · {esc(report.name)}" if report.name else ""
    body = (
        f"{badge(report.status)} <b>{esc(policy.get('title'))}</b> "
        f'<span style="color:{MUTED}">{esc(version_label(policy.get("version")))}</span>{name}'
        f' · score <b class="vl-score">{report.score:.0%}</b> '
        f"({passed}/{len(report.evaluated)} evaluated controls passed) · {tally}"
        f'<div style="color:{MUTED}">data: {esc(data.get("rows", "?"))} rows × '
        f"{esc(columns)} columns, fingerprint "
        f'<code title="{esc(fingerprint)}">{esc(short)}</code>'
    )
    if report.phase:
        body += f" · phase {esc(report.phase)}"
    if report.evidence_id:
        # the sidebar opens this record on a click (data-vl-record); plain text elsewhere
        body += (
            f' · evidence <code class="vl-evidence-id" data-vl-record="{esc(report.evidence_id)}"'
            f' title="click to show this record in the Compliance sidebar"'
            f' style="cursor:pointer">{esc(report.evidence_id)}</code>'
        )
    else:
        body += " · not recorded as evidence"
    return banner(report.status, body + "</div>", css_class="vl-report-header")


def _value(r: ControlResult) -> str:
    if r.actual_value is None:
        return "—"
    text = f'<span class="vl-value">{fmt_number(r.actual_value, 4)}</span>'
    ci = r.metadata.get("ci")
    if ci:
        level = f"{ci.get('level', 0.95):.0%} CI"
        text += (
            f' <span class="vl-ci" title="{level}, {esc(ci.get("method"))}" '
            f'style="color:{MUTED};white-space:nowrap">'
            f"[{fmt_number(ci['low'])}, {fmt_number(ci['high'])}]</span>"
        )
    return text


def _threshold(r: ControlResult) -> str:
    text = f'<span style="white-space:nowrap">{esc(operator_symbol(r.operator))} {fmt_number(r.threshold, 4)}</span>'
    warn = r.metadata.get("warn_threshold")
    if warn is not None:
        text += f'<div style="color:{MUTED}">warn band to {fmt_number(warn, 4)}</div>'
    if r.metadata.get("enforcement_mode") == "block":
        text += f'<div style="color:{MUTED}">blocking</div>'
    return text


def _legend() -> str:
    items = " ".join(f"{s.icon} {s.word.lower()}" for s in STATUS_STYLE.values())
    return f'<div class="vl-legend" style="color:{MUTED};font-size:11px">{items}</div>'
