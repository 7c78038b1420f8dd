"""Review records: validate a human decision and append it to the evidence store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..enforcement import Status
from ..errors import EvidenceError, ReviewError
from ..evidence import EvidenceRecord, EvidenceStore

if TYPE_CHECKING:
    from ..enforcement import Report

#: Decision key -> the words the reviewer sees.
DECISIONS = {"accept_risk": "accept risk", "reject": "reject", "needs_work": "needs work"}
#: Controls a decision can be recorded on: the ones that did not simply pass.
REVIEWABLE = (Status.FAIL, Status.ERROR, Status.WARN)


def record_review(
    report: Report,
    control_id: str,
    decision: str,
    *,
    reviewer: str,
    justification: str = "",
    evidence_dir: str | Path | None = None,
    signing_key: str | Path | None = None,
) -> EvidenceRecord:
    """Record ``reviewer``'s ``decision`` on one control of ``report``; return the record.

    ``decision`` is ``accept_risk``, ``reject`` or ``needs_work`` (or its words, e.g.
    ``"accept risk"``). Accepting a risk needs a justification. The record goes to the
    store that holds the report (``evidence_dir``, default ``$VL_EVIDENCE_DIR`` or
    ``./.venturalitica``) with the report's session. Raises ValueError, with a message
    for the reviewer, when something is missing. ``signing_key`` is the reviewer's own
    key file (Annex IV 2(g): reports signed by the responsible persons); without it the
    record is signed by the user's key if there is one (docs/audit.md).
    """
    key = _decision_key(decision)
    name = (reviewer or "").strip()
    if not name:
        raise ReviewError("enter the reviewer's name: a decision must say who took it")
    why = (justification or "").strip()
    if key == "accept_risk" and not why:
        raise ReviewError("accepting a risk needs a justification: say why the risk is acceptable")
    try:
        result = report[control_id]
    except (KeyError, IndexError, TypeError):
        known = ", ".join(r.control_id for r in report)
        raise ReviewError(f"the report has no control '{control_id}' (controls: {known})") from None
    if result.status not in REVIEWABLE:
        raise ReviewError(
            f"control '{control_id}' is {result.status}: decisions are recorded on "
            f"{', '.join(REVIEWABLE)} controls"
        )
    store = _store_of(report, evidence_dir)
    policy = report.policy
    data = {
        "report_id": report.evidence_id,
        "control_id": control_id,
        "decision": key,
        "decision_label": DECISIONS[key],
        "reviewer": name,
        "justification": why,
        "control": {
            "status": result.status,
            "metric_key": result.metric_key,
            "actual_value": result.actual_value,
            "ci": list(result.ci) if result.ci else None,
            "operator": result.operator,
            "threshold": result.threshold,
            "severity": result.severity,
            "reason": result.reason,
        },
        "report_status": report.status,
        "policy": {k: policy.get(k) for k in ("title", "version", "sha256")},
        "data_fingerprint": (report.data or {}).get("content_hash"),
        "oversight": "EU AI Act Article 14 (human oversight)",
    }
    summary = {
        "report_id": report.evidence_id,
        "control_id": control_id,
        "decision": key,
        "reviewer": name,
    }
    signer = None
    if signing_key is not None:
        from ..signing import signer_for_key

        signer = signer_for_key(signing_key)
    return store.append("review", data, session=report.session, summary=summary, signer=signer)


def reviews(report: Report | str, evidence_dir: str | Path | None = None) -> list[EvidenceRecord]:
    """The review records of ``report`` (a Report or its evidence id), newest first."""
    report_id = report if isinstance(report, str) else report.evidence_id
    store = EvidenceStore(evidence_dir)
    if report_id is None or not store.index_path.exists():
        return []
    return [r for r in store.records(kind="review") if r.summary.get("report_id") == report_id]


def latest_decisions(records: list[EvidenceRecord]) -> dict[str, EvidenceRecord]:
    """The newest decision per control (``records`` newest first); a whole-report
    sign-off (no control) is not a control's decision."""
    latest: dict[str, EvidenceRecord] = {}
    for rec in records:
        control = rec.summary.get("control_id")
        if control is not None:
            latest.setdefault(control, rec)
    return latest


def _decision_key(decision: str) -> str:
    text = (decision or "").strip().lower().replace("-", " ").replace("_", " ")
    for key, words in DECISIONS.items():
        if text in (words, key.replace("_", " ")):
            return key
    raise ReviewError(
        f"choose a decision: {', '.join(DECISIONS.values())} (got {decision or 'none'!r})"
    )


def _store_of(report: Report, evidence_dir: str | Path | None) -> EvidenceStore:
    store = EvidenceStore(evidence_dir)
    if not report.evidence_id:
        raise ReviewError(
            "this report was not recorded as evidence (enforce(..., evidence=False)): "
            "run enforce with evidence to review it"
        )
    try:
        store.get(report.evidence_id)
    except EvidenceError:
        raise ReviewError(
            f"report {report.evidence_id} is not in the evidence store at {store.root}: "
            "pass evidence_dir= where enforce() wrote it"
        ) from None
    return store
