"""A whole-report sign-off: one reviewer's verdict on the report as a whole, after the
per-control decisions (EU AI Act Art. 14: a person decides whether the system is used).

It is a ``review`` record like a control decision, with ``scope: "report"`` and no
``control_id``, in the report's store and session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ReviewError
from ._record import REVIEWABLE, _store_of, latest_decisions, reviews

if TYPE_CHECKING:
    from ..enforcement import Report
    from ..evidence import EvidenceRecord

#: Sign-off key -> the words the reviewer sees.
SIGNOFFS = {"approve": "approved", "reject": "rejected", "needs_work": "needs work"}


def sign_off(
    report: Report,
    decision: str,
    *,
    reviewer: str,
    justification: str = "",
    evidence_dir: str | Path | None = None,
) -> EvidenceRecord:
    """Record ``reviewer``'s verdict on the whole ``report``: ``approve``, ``reject`` or
    ``needs_work`` (or its words). Approving needs every failed, warned or errored
    control decided first and none of them rejected or sent back; rejecting needs a
    justification. Raises ValueError with a message for the reviewer."""
    key = _key(decision)
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("enter the reviewer's name: a sign-off must say who gave it")
    why = (justification or "").strip()
    if key == "reject" and not why:
        raise ReviewError("rejecting the report needs a justification: say why")
    store = _store_of(report, evidence_dir)
    if key == "approve":
        decided = latest_decisions(reviews(report, evidence_dir))
        open_ = [r.control_id for r in report if r.status in REVIEWABLE]
        waiting = [c for c in open_ if c not in decided]
        if waiting:
            raise ReviewError(
                f"decide {', '.join(waiting)} before approving the report "
                f"({len(waiting)} of {len(open_)} controls have no decision)"
            )
        blocking = [c for c in open_ if decided[c].data["decision"] != "accept_risk"]
        if blocking:
            raise ReviewError(
                f"cannot approve: {', '.join(blocking)} "
                f"{'is' if len(blocking) == 1 else 'are'} rejected or needs work"
            )
    policy = report.policy
    data = {
        "report_id": report.evidence_id,
        "scope": "report",
        "decision": key,
        "decision_label": SIGNOFFS[key],
        "reviewer": name,
        "justification": why,
        "report_status": report.status,
        "counts": dict(report.counts),
        "policy": {k: policy.get(k) for k in ("title", "version", "sha256")},
        "data_fingerprint": (report.data or {}).get("content_hash"),
        "oversight": "EU AI Act Article 14 (human oversight)",
    }
    summary = {"report_id": report.evidence_id, "scope": "report", "decision": key,
               "reviewer": name}  # fmt: skip
    return store.append("review", data, session=report.session, summary=summary)


def latest_signoff(records: list[EvidenceRecord]) -> EvidenceRecord | None:
    """The newest whole-report sign-off among ``records`` (newest first)."""
    return next((r for r in records if r.summary.get("scope") == "report"), None)


def _key(decision: str) -> str:
    text = (decision or "").strip().lower().replace("-", " ").replace("_", " ")
    for key, words in SIGNOFFS.items():
        if text in (words, key.replace("_", " ")):
            return key
    raise ReviewError(f"choose a sign-off: {', '.join(SIGNOFFS)} (got {decision or 'none'!r})")
