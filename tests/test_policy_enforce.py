"""A control the policy reader could not understand is an ``error`` result at enforce time
with the reader's reason, so the report cannot pass; the controls around it are evaluated."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.errors import EnforcementError, VLWarning
from vl_jupyter.policy import load_policy

UNEVALUABLE = Path(__file__).parent / "policies" / "corpus" / "unevaluable.yaml"


@pytest.fixture(scope="module")
def policy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VLWarning)
        return load_policy(UNEVALUABLE)


def test_unevaluable_controls_are_error_results(german: pd.DataFrame, policy, evidence_dir) -> None:
    report = vl.enforce(german, policy, target="class", ci=False, evidence_dir=evidence_dir)
    assert [(r.control_id, r.status) for r in report] == [
        ("good", "pass"),
        *[(c.id, "error") for c in policy.problems],
    ]
    assert not report.passed
    for control in policy.problems:
        result = report[control.id]
        assert result.reason == f"cannot be evaluated as the policy is written: {control.problem}"
        assert result.metadata["error_code"] == "POLICY_INVALID"
        assert result.actual_value is None and result.passed is False
    assert report["null-threshold"].threshold is None
    assert report["typo-metric"].metric_key == "disparate_impakt"
    # the evidence records the policy's warnings next to the results
    assert any("typo-metric" in w for w in report.policy["warnings"])


def test_strict_enforce_stops_on_them(german: pd.DataFrame, policy, evidence_dir) -> None:
    with pytest.raises(EnforcementError, match="6 control\\(s\\) could not be evaluated"):
        vl.enforce(german, policy, target="class", ci=False, strict=True, evidence_dir=evidence_dir)


def test_a_problem_control_of_another_phase_is_skipped(german: pd.DataFrame, evidence_dir) -> None:
    text = (
        "- {id: later, metric_key: nope, operator: gt, threshold: 1, lifecycle_phase: monitoring}\n"
        "- {id: now, metric_key: class_imbalance, operator: gt, threshold: 0.1}\n"
    )
    with pytest.warns(VLWarning, match="control 'later' cannot be evaluated"):
        report = vl.enforce(
            german, text, target="class", phase="training", ci=False, evidence_dir=evidence_dir
        )
    # (whether a skipped control is listed among the results is the report's business)
    assert [(r.control_id, r.status) for r in report if r.status != "skipped"] == [("now", "pass")]
    assert report.passed


def test_a_policy_with_unevaluable_controls_is_not_shown_as_valid(policy) -> None:
    from vl_jupyter.display import PolicyView

    view = PolicyView(policy)
    text = repr(view)
    assert text.splitlines()[0] == "Half broken vunversioned: 7 controls (6 cannot be evaluated)"
    assert "  null-threshold: disparate_impact > —" in text
    html = view._repr_html_()
    assert "INCOMPLETE" in html and "VALID" not in html
    assert "control &#x27;typo-metric&#x27; cannot be evaluated and will be an error" in html


def test_precomputed_values_judge_what_can_be_judged(policy, evidence_dir) -> None:
    """enforce(metrics=...): a control whose metric we cannot compute is judged from the
    value given; one without operator or threshold is an error with the reader's reason."""
    report = vl.enforce(
        metrics={"class_imbalance": 0.5, "disparate_impakt": 0.9, "disparate_impact": 0.9},
        policy=policy,
        evidence_dir=evidence_dir,
    )
    status = {r.control_id: r.status for r in report}
    assert status["good"] == "pass"
    assert status["typo-metric"] == "pass"  # 0.9 > 0.8, from the value given
    assert report["typo-metric"].metadata["policy_problem"].startswith("line 14: unknown metric")
    for cid in ("null-threshold", "no-operator", "bad-operator"):
        assert status[cid] == "error"
        assert report[cid].reason.startswith("cannot be evaluated as the policy is written: ")
        assert report[cid].metadata["error_code"] == "POLICY_INVALID"
    assert not report.passed
