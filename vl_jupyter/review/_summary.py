"""The plain-HTML review summary: what needs a decision, what was decided, by whom, and
the whole report's sign-off. No widget, no script: it is what a saved, exported or
reopened notebook keeps of a review."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..display import MUTED, STATUS_STYLE, badge, banner, esc, row, table
from ._record import DECISIONS, REVIEWABLE, latest_decisions
from ._signoff import SIGNOFFS, latest_signoff

if TYPE_CHECKING:
    from ..enforcement import Report
    from ..evidence import EvidenceRecord

#: How each decision looks: an accepted risk is amber (the risk is still there), never
#: the green check of a pass; a rejection is red; "needs work" is grey (still open).
DECISION_STYLE = {
    "accept_risk": "warn",
    "reject": "fail",
    "needs_work": "error",
    "approve": "pass",
}


def decision_badge(key: str, label: str | None = None) -> str:
    """A decision as an icon and words on its colour, e.g. ``▲ accept risk`` on amber."""
    s = STATUS_STYLE[DECISION_STYLE.get(key, "skipped")]
    words = label or DECISIONS.get(key) or SIGNOFFS.get(key, key)
    return (
        f'<b class="vl-decision vl-decision-{esc(key)}" style="color:{s.colour};'
        f"background:{s.background};padding:1px 6px;border-radius:10px;"
        f'white-space:nowrap">{s.icon} {esc(words)}</b>'
    )


def when(rec: EvidenceRecord) -> str:
    """A record's time for people: ``2026-12-01 09:31 UTC`` (the exact one on hover)."""
    created = rec.created
    return created.strftime("%Y-%m-%d %H:%M UTC") if hasattr(created, "strftime") else str(created)


def summary_html(report: Report, records: list[EvidenceRecord]) -> str:
    """The review summary of ``report`` from its review records (newest first)."""
    decided = latest_decisions(records)
    signoff = latest_signoff(records)
    open_ = [r for r in report if r.status in REVIEWABLE]
    rows = []
    for r in open_:
        rec = decided.get(r.control_id)
        if rec is None:
            cells = [badge(r.status), f"<b>{esc(r.control_id)}</b>", "<i>no decision yet</i>", ""]
        else:
            d = rec.data
            cells = [
                badge(r.status),
                f"<b>{esc(r.control_id)}</b>",
                f"{decision_badge(d['decision'], d.get('decision_label'))} by "
                f"{esc(d['reviewer'])}{_time(rec)}",
                esc(d.get("justification", "")),
            ]
        rows.append(
            row(cells, css_class="vl-review-row", attrs=f'data-control="{esc(r.control_id)}"')
        )
    waiting = sum(1 for r in open_ if r.control_id not in decided)
    head = (
        f"<b>Human review</b> (EU AI Act Art. 14) of "
        f"<code>{esc(report.evidence_id or 'unrecorded report')}</code>: "
        f"{len(open_) - waiting}/{len(open_)} controls decided"
    )
    if open_:
        head += table("vl-review-table", ("status", "control", "decision", "justification"), rows)
    else:
        head += " · nothing to decide"
    return banner(_status(signoff, decided, waiting), head + _signoff_line(signoff),
                  css_class="vl-review-summary")  # fmt: skip


def _status(signoff: EvidenceRecord | None, decided: dict, waiting: int) -> str:
    """Green only for a signed-off approval; red for a rejection; amber while open."""
    if signoff is not None:
        return DECISION_STYLE.get(signoff.data["decision"], "warn")
    if any(r.data["decision"] == "reject" for r in decided.values()):
        return "fail"
    return "warn" if waiting or decided else "pass"


def _signoff_line(signoff: EvidenceRecord | None) -> str:
    if signoff is None:
        return (
            f'<div class="vl-signoff" style="color:{MUTED}">report sign-off: not yet signed</div>'
        )
    d = signoff.data
    why = f" · {esc(d['justification'])}" if d.get("justification") else ""
    return (
        f'<div class="vl-signoff">report sign-off: '
        f"{decision_badge(d['decision'], d.get('decision_label'))} by "
        f"{esc(d['reviewer'])}{_time(signoff, inline=True)}{why}</div>"
    )


def _time(rec: EvidenceRecord, *, inline: bool = False) -> str:
    tag = "span" if inline else "div"
    lead = " · " if inline else ""
    return f'<{tag} style="color:{MUTED}" title="{esc(rec.created)}">{lead}{esc(when(rec))}</{tag}>'
