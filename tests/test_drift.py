"""Drift of what was audited: group shares, label rates and scores against a baseline's
tables, read from its evidence record (the baseline's raw data is never needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl

POLICY = """vl-policy: 1
title: Drift watch
controls:
  - {id: age-mix, metric: group_share_psi, operator: lt, threshold: 0.1,
     inputs: {dimension: age}, params: {bins: "25,60"}}
  - {id: approval-rates, metric: label_rate_shift, operator: lt, threshold: 0.1,
     inputs: {target: target, dimension: gender}}
  - {id: scores, metric: score_psi, operator: lt, threshold: 0.1, inputs: {score: score}}
"""
BIND = {"target": "class", "gender": "gender", "age": "age", "score": "score"}


@pytest.fixture
def scored(german):
    rng = np.random.default_rng(0)
    return german.assign(score=rng.beta(2, 2, len(german)))


def _psi(e: np.ndarray, a: np.ndarray) -> float:
    e = np.maximum(e / e.sum(), 1e-4)
    a = np.maximum(a / a.sum(), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def test_without_a_baseline_drift_is_skipped_and_its_table_recorded(scored, tmp_path):
    report = vl.enforce(scored, POLICY, evidence_dir=tmp_path, **BIND)
    assert [r.status for r in report] == ["skipped"] * 3
    assert not report.passed, "nothing measured: the report cannot pass"
    assert report["age-mix"].reason.startswith(
        "group_share_psi compares with a baseline and none was given: not measured"
    )
    stored = vl.evidence.get(report.evidence_id, root=tmp_path).data["results"]
    tables = {r["control_id"]: r["metadata"]["drift_table"] for r in stored}
    bands = pd.cut(scored["age"], [-np.inf, 25, 60, np.inf], right=False).value_counts(sort=False)
    assert tables["age-mix"] == {
        "kind": "group_shares",
        "labels": ["<25", "[25, 60)", ">=60"],
        "counts": bands.tolist(),
    }
    assert tables["scores"]["kind"] == "score_histogram" and len(tables["scores"]["counts"]) == 100


def test_values_equal_a_direct_computation_from_both_raw_frames(scored, tmp_path):
    base = vl.enforce(scored, POLICY, evidence_dir=tmp_path, **BIND)
    vl.evidence.tag(base.evidence_id, "audited", root=tmp_path)
    older = scored[scored["age"] > 35]
    now = older.assign(score=older["score"] ** 2)
    report = vl.enforce(now, POLICY, evidence_dir=tmp_path, baseline="audited", **BIND)

    # group shares: the age bands of both frames, counted with pandas
    def bands(frame: pd.DataFrame) -> pd.Series:
        return pd.cut(frame["age"], [-np.inf, 25, 60, np.inf], right=False).value_counts(sort=False)

    assert report["age-mix"].actual_value == pytest.approx(
        _psi(bands(scored).to_numpy(float), bands(now).to_numpy(float))
    )

    # label rates: the largest change of P(class == 1 | gender)
    def rate(frame: pd.DataFrame) -> pd.Series:
        return (frame["class"] == 1).groupby(frame["gender"]).mean()

    assert report["approval-rates"].actual_value == pytest.approx(
        (rate(now) - rate(scored)).abs().max()
    )
    groups = report["approval-rates"].metadata["groups"]
    assert groups["female"]["baseline_rate"] == pytest.approx(rate(scored)["female"])
    # scores: PSI over the baseline's deciles of a 100-bin histogram on [0, 1]
    edges = np.linspace(0, 1, 101)
    fine_base = np.histogram(scored["score"], edges)[0]
    fine_now = np.histogram(now["score"], edges)[0]
    cdf = np.concatenate([[0], np.cumsum(fine_base)[:-1]]) / fine_base.sum()
    decile = np.minimum((cdf * 10 + 1e-9).astype(int), 9)
    e = np.bincount(decile, weights=fine_base, minlength=10)
    a = np.bincount(decile, weights=fine_now, minlength=10)
    assert report["scores"].actual_value == pytest.approx(_psi(e, a))
    assert [r.status for r in report] == ["fail", "fail", "fail"]
    details = report["scores"].metadata["details"]
    assert details["p_value"] < 1e-6 and details["test"].startswith("two-sample Kolmogorov")


def test_a_resample_of_the_same_data_shows_no_drift(scored):
    base = vl.enforce(scored, POLICY, evidence=False, **BIND)
    flagged = 0
    for seed in range(20):
        copy = scored.sample(frac=1, replace=True, random_state=seed)
        report = vl.enforce(copy, POLICY, evidence=False, baseline=base, seed=seed, **BIND)
        assert all(r.status in ("pass", "warn") for r in report), report.to_frame()
        flagged += sum(r.metadata["details"]["p_value"] < 0.05 for r in report)
    assert flagged <= 3, f"{flagged} of 60 tests below p 0.05 on resamples"


def test_drift_in_a_props_dialect(scored, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "assessment-plan:\n  metadata: {title: Drift, version: '1'}\n"
        "  control-implementations:\n    - implemented-requirements:\n"
        "        - control-id: gender-mix\n          props:\n"
        "            - {name: metric_key, value: group_share_psi}\n"
        "            - {name: threshold, value: '0.1'}\n            - {name: operator, value: lt}\n"
        "            - {name: 'input:dimension', value: gender}\n"
    )
    bind = {k: v for k, v in BIND.items() if k != "age"}  # the plan names no age: unbindable
    base = vl.enforce(scored, plan, evidence=False, **bind)
    report = vl.enforce(scored.iloc[:500], plan, evidence=False, baseline=base, **bind)
    assert report["gender-mix"].status == "pass"
    assert report["gender-mix"].ci is not None
