"""The review panel's state round trip into the evidence store, driven in-process."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import vl_jupyter as vl
from vl_jupyter import evidence
from vl_jupyter.datasets import policy_path
from vl_jupyter.display import STATUS_STYLE
from vl_jupyter.review import record_review, reviews, sign_off, summary_html


@pytest.fixture
def report(german, evidence_dir):
    return vl.enforce(
        german, policy_path("german_credit_data"), target="class", gender="gender", age="age",
        evidence_dir=evidence_dir,
    )  # fmt: skip


@pytest.fixture
def panel(report, evidence_dir, monkeypatch):
    monkeypatch.delenv("VL_REVIEWER", raising=False)
    return report.review(evidence_dir=evidence_dir, show=False)


def _reviews(root):
    return list(evidence.records("review", root=root))


def test_a_decision_round_trips_into_a_linked_review_record(report, panel, evidence_dir):
    assert panel.filter.value == "needs review"
    assert [v for _, v in panel.controls.options] == [
        "class-balance", "approvals-by-age", "age-representation",
    ]  # fmt: skip
    panel.controls.value = "approvals-by-age"
    assert "approvals-by-age" in panel.detail.value and "vl-report-table" in panel.detail.value
    shapes = panel.figure.layout.shapes
    assert [s.y0 for s in shapes] == [0.8]  # the threshold line
    assert [t.x for t in panel.figure.data[0:1]] == [("<25", "[25, 60)", ">=60")]
    assert panel.figure.data[0].error_y.array is not None  # per-group intervals

    panel.reviewer.value = "A. Auditor"
    panel.decision.value = "accept_risk"
    panel.justification.value = "Under-25s are a known thin-file segment; monitored monthly."
    panel.save.click()

    (rec,) = _reviews(evidence_dir)
    assert rec.session == report.session
    assert rec.summary == {
        "report_id": report.evidence_id, "control_id": "approvals-by-age",
        "decision": "accept_risk", "reviewer": "A. Auditor",
    }  # fmt: skip
    data = rec.data
    assert data["report_id"] == report.evidence_id and data["reviewer"] == "A. Auditor"
    assert data["justification"].startswith("Under-25s are a known thin-file segment")
    assert data["control"]["status"] == "fail" and data["control"]["threshold"] == 0.8
    assert data["policy"]["sha256"] == report.policy["sha256"]
    assert "✔ recorded: accept risk on approvals-by-age" in panel.message.value
    assert panel.records == [rec] and reviews(report, evidence_dir) == [rec]
    assert panel.justification.value == "" and panel.decision.value is None
    assert "[accept risk]" in dict((v, k) for k, v in panel.controls.options)["approvals-by-age"]
    summary = panel.summary_html()
    assert "1/3 controls decided" in summary and "A. Auditor" in summary
    # an accepted risk is amber with its own word, never the green check of a pass
    assert 'class="vl-decision vl-decision-accept_risk"' in summary
    assert f"{STATUS_STYLE['warn'].icon} accept risk" in summary
    assert STATUS_STYLE["pass"].colour not in summary.split("vl-decision-accept_risk")[1][:80]
    # a readable time, the exact one on hover
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d UTC<", summary)
    assert repr(panel.outcome).startswith("✔ recorded: accept risk on approvals-by-age")
    assert evidence.verify(evidence_dir).ok


def test_missing_reviewer_or_justification_is_refused_visibly(panel, evidence_dir):
    panel.controls.value = "approvals-by-age"
    panel.save.click()
    assert "✖ choose a decision: accept risk, reject, needs work" in panel.message.value
    panel.decision.value = "accept_risk"
    panel.save.click()
    assert "enter the reviewer&#x27;s name" in panel.message.value
    panel.reviewer.value = "   "
    panel.save.click()
    assert "enter the reviewer&#x27;s name" in panel.message.value
    panel.reviewer.value = "B. Reviewer"
    panel.save.click()
    assert "accepting a risk needs a justification" in panel.message.value
    assert 'class="vl-note vl-note-fail"' in panel.message.value
    assert _reviews(evidence_dir) == []
    panel.decision.value = "needs_work"  # needs no justification
    panel.save.click()
    assert [r.data["decision"] for r in _reviews(evidence_dir)] == ["needs_work"]


def test_passing_controls_cannot_be_decided(panel):
    panel.filter.value = "pass"
    assert [v for _, v in panel.controls.options] == [
        "approvals-by-gender", "gender-representation", "completeness",
    ]  # fmt: skip
    assert panel.save.disabled and panel.decision.disabled
    assert "nothing to decide" in panel.message.value
    panel.filter.value = "fail"
    assert panel.controls.value == "approvals-by-age" and not panel.save.disabled


def test_record_review_checks_its_inputs(report, german, evidence_dir, tmp_path):
    with pytest.raises(ValueError, match="choose a decision"):
        record_review(report, "approvals-by-age", "maybe", reviewer="x")
    with pytest.raises(ValueError, match="has no control 'nope'"):
        record_review(report, "nope", "reject", reviewer="x", evidence_dir=evidence_dir)
    with pytest.raises(ValueError, match="control 'completeness' is pass"):
        record_review(report, "completeness", "reject", reviewer="x", evidence_dir=evidence_dir)
    with pytest.raises(ValueError, match="is not in the evidence store at"):
        record_review(report, "approvals-by-age", "reject", reviewer="x", evidence_dir=tmp_path)
    unrecorded = vl.enforce(german, policy_path("german_credit_data"), evidence=False, ci=False)
    with pytest.raises(ValueError, match="not recorded as evidence"):
        record_review(unrecorded, "approvals-by-age", "reject", reviewer="x")
    rec = record_review(
        report, "class-balance", "Needs work", reviewer=" C ", evidence_dir=evidence_dir
    )
    assert rec.data["decision"] == "needs_work" and rec.data["reviewer"] == "C"


def test_summary_html_is_plain_and_lists_open_decisions(report, evidence_dir):
    html = summary_html(report, [])
    assert "<script" not in html and "0/3 controls decided" in html
    assert html.count('class="vl-review-row"') == 3 and html.count("no decision yet") == 3


def test_importing_the_review_facade_stays_light():
    code = (
        "import sys, vl_jupyter.review; "
        "print([m for m in ('ipywidgets', 'plotly') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_whole_report_sign_off_needs_every_open_control_decided(report, panel, evidence_dir):
    panel.reviewer.value = "A. Auditor"
    panel.signoff.value = "approve"
    panel.sign.click()
    assert (
        "decide class-balance, approvals-by-age, age-representation before approving the "
        "report (3 of 3 controls have no decision)" in panel.message.value
    )
    for control in ("class-balance", "approvals-by-age", "age-representation"):
        record_review(report, control, "accept_risk", reviewer="A. Auditor",
                      justification="known and monitored", evidence_dir=evidence_dir)  # fmt: skip
    panel.signoff.value = "reject"
    panel.sign.click()
    assert "rejecting the report needs a justification" in panel.message.value
    panel.signoff.value = "approve"
    panel.sign.click()
    rec = panel.records[0]
    assert rec.summary == {"report_id": report.evidence_id, "scope": "report",
                           "decision": "approve", "reviewer": "A. Auditor"}  # fmt: skip
    assert rec.data["counts"] == dict(report.counts) and rec.session == report.session
    assert repr(panel.outcome) == f"✔ report approved by A. Auditor ({rec.id})"
    html = summary_html(report, reviews(report, evidence_dir))
    assert "3/3 controls decided" in html and "report sign-off: " in html
    assert 'vl-decision-approve"' in html and "✔ approved</b> by A. Auditor" in html
    assert f"border-left:4px solid {STATUS_STYLE['pass'].colour}" in html
    assert "sign-off: approved by A. Auditor" in panel._summary_bundle()["text/plain"]
    assert evidence.verify(evidence_dir).ok


def test_a_rejected_control_blocks_approval(report, evidence_dir):
    record_review(report, "approvals-by-age", "reject", reviewer="x", evidence_dir=evidence_dir)
    for control in ("class-balance", "age-representation"):
        record_review(report, control, "needs work", reviewer="x", evidence_dir=evidence_dir)
    with pytest.raises(ValueError, match="cannot approve: class-balance, approvals-by-age, "
                       "age-representation are rejected or needs work"):  # fmt: skip
        sign_off(report, "approve", reviewer="x", evidence_dir=evidence_dir)
    with pytest.raises(ValueError, match="choose a sign-off: approve, reject, needs_work"):
        sign_off(report, "ok", reviewer="x", evidence_dir=evidence_dir)
    html = summary_html(report, reviews(report, evidence_dir))
    assert f"border-left:4px solid {STATUS_STYLE['fail'].colour}" in html  # a rejection
    assert "report sign-off: not yet signed" in html


def test_the_panel_exports_as_a_sentence_not_a_widget_repr(report, evidence_dir, monkeypatch):
    shown = []
    monkeypatch.setattr("vl_jupyter.review._widget.display",
                        lambda obj, **kw: shown.append(obj) or _Handle())  # fmt: skip
    report.review(evidence_dir=evidence_dir)
    # (with an IPython shell alive from other tests, the chart is displayed too)
    (summary,) = [o for o in shown if 'class="vl-review-summary"' in o.get("text/html", "")]
    (widget,) = [o for o in shown if "application/vnd.jupyter.widget-view+json" in o]
    assert 'class="vl-review-summary"' in summary["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in widget
    assert widget["text/plain"].startswith("Review panel (interactive: needs a running kernel)")
    assert "VBox" not in widget["text/plain"]


class _Handle:
    def update(self, *args, **kwargs):
        pass
