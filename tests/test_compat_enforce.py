"""The Venturalítica SDK's enforce entries: precomputed metrics, policy lists, Report + Report,
ControlResult.power and skipped controls left out of the results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.errors import ComplianceBlockError, EnforcementError

PERF = """
vl-policy: 1
title: Model performance
version: "2"
controls:
  - {id: acc, metric: accuracy_score, operator: gt, threshold: 0.8, inputs: {target: target, prediction: prediction}}
  - {id: f1, metric: f1_score, operator: ge, threshold: 0.7, warn_threshold: 0.75, inputs: {target: target, prediction: prediction}}
  - {id: recall, metric: recall_score, operator: gt, threshold: 0.5, inputs: {target: target, prediction: prediction}}
  - {id: later, metric: accuracy_score, operator: gt, threshold: 0.5, phases: [monitoring], inputs: {target: target, prediction: prediction}}
"""
DATA = """
vl-policy: 1
title: Data balance
controls:
  - {id: balance, metric: class_imbalance, operator: gt, threshold: 0.3, inputs: {target: target}}
"""
BLOCK = """
vl-policy: 1
title: Blocking
controls:
  - {id: strict-balance, metric: class_imbalance, operator: gt, threshold: 0.9, enforcement_mode: block, inputs: {target: target}}
"""


@pytest.fixture
def perf(tmp_path: Path) -> Path:
    path = tmp_path / "perf.yaml"
    path.write_text(PERF, encoding="utf-8")
    return path


def test_precomputed_metrics_are_judged_and_missing_ones_are_errors(perf, evidence_dir):
    report = vl.enforce(
        metrics={"accuracy_score": 0.91, "f1_score": np.float64(0.72)},
        policy=perf,
        phase="validation",
        evidence_dir=evidence_dir,
    )
    assert [(r.control_id, r.status) for r in report] == [
        ("acc", "pass"),
        ("f1", "warn"),
        ("recall", "error"),
    ]
    assert report["acc"].actual_value == 0.91 and report["f1"].actual_value == 0.72
    assert report["recall"].actual_value is None and report["recall"].passed is False
    assert report["recall"].reason == (
        "metric 'recall_score' was not given in metrics= (given: accuracy_score, f1_score); "
        "a value nobody measured is never a pass"
    )
    assert report["recall"].metadata["error_code"] == "METRIC_NOT_GIVEN"
    assert report.passed is False and report.status == "error"
    # skipped (other phase) controls are not results, as in the SDK, but still listed
    assert [r.control_id for r in report.skipped] == ["later"]
    assert report["later"].status == "skipped" and report.counts["skipped"] == 1
    record = vl.evidence.get(report.evidence_id, root=evidence_dir)
    assert record.data["data"] == {
        "source": "precomputed",
        "metrics": {"accuracy_score": 0.91, "f1_score": 0.72},
        "rows": None,
        "columns": [],
    }
    assert [r["control_id"] for r in record.data["skipped"]] == ["later"]
    results = json.loads((evidence_dir / "results.json").read_text())
    assert [r["control_id"] for r in results] == ["acc", "f1", "recall"]


def test_precomputed_values_that_are_not_numbers_are_errors_not_passes(perf):
    report = vl.enforce(
        metrics={"accuracy_score": "0.9", "f1_score": float("nan"), "recall_score": True},
        policy=perf,
        evidence=False,
    )
    assert [r.status for r in report] == ["error"] * 4  # no phase: every control applies
    assert report["acc"].reason == (
        "metrics['accuracy_score'] = '0.9' is not a finite number, so it cannot be compared "
        "with > 0.8"
    )
    close = vl.enforce(metrics={"accuracy": 0.9}, policy=perf, evidence=False)["acc"]
    assert close.reason.endswith("a value nobody measured is never a pass")
    assert "did you mean accuracy?" in close.reason
    with pytest.raises(EnforcementError, match="metrics= must be a mapping"):
        vl.enforce(metrics=[0.9], policy=perf, evidence=False)
    with pytest.raises(EnforcementError, match="either data or metrics=, not both"):
        vl.enforce(pd.DataFrame({"target": [1]}), perf, metrics={"a": 1}, evidence=False)


def test_a_control_id_key_is_accepted_too(perf):
    report = vl.enforce(
        metrics={"acc": 0.95, "f1": 0.9, "recall": 0.6}, policy=perf, phase="validation",
        evidence=False,
    )  # fmt: skip
    assert [r.status for r in report] == ["pass", "pass", "pass"]
    assert report["acc"].metadata["metric_given_as"] == "acc"


def test_policy_list_and_report_addition(german, perf, tmp_path, evidence_dir):
    data_policy = tmp_path / "data.yaml"
    data_policy.write_text(DATA, encoding="utf-8")
    frame = german.assign(prediction=german["class"])
    both = vl.enforce(
        frame, [perf, data_policy], target="class", prediction="prediction",
        evidence_dir=evidence_dir, ci=False, phase="validation",
    )  # fmt: skip
    assert [r.control_id for r in both] == ["acc", "f1", "recall", "balance"]
    assert [p.policy["title"] for p in both.parts] == ["Model performance", "Data balance"]
    assert both.policy["title"] == "Model performance + Data balance"
    records = list(vl.evidence.records("enforce", root=evidence_dir))
    assert both.evidence_ids == [r.id for r in records[::-1]] and len(records) == 2
    assert both.passed is True and both.score == 1.0
    one = vl.enforce(
        frame, perf, target="class", prediction="prediction", phase="validation", evidence=False
    )
    two = vl.enforce(frame, data_policy, target="class", evidence=False)
    added = one + two
    assert [r.control_id for r in added] == [r.control_id for r in both]
    assert [r.control_id for r in added.skipped] == ["later"]
    assert (added + one).parts == [one, two, one]
    with pytest.raises(TypeError):
        _ = one + 1
    with pytest.raises(EnforcementError, match="names no policy"):
        vl.enforce(frame, [], evidence=False)


def test_a_blocking_part_stops_after_every_part_was_recorded(german, tmp_path, evidence_dir):
    block, data = tmp_path / "block.yaml", tmp_path / "data.yaml"
    block.write_text(BLOCK, encoding="utf-8")
    data.write_text(DATA, encoding="utf-8")
    with pytest.raises(ComplianceBlockError) as info:
        vl.enforce(german, [block, data], target="class", evidence_dir=evidence_dir, ci=False)
    combined = info.value.report
    assert [r.control_id for r in combined] == ["strict-balance", "balance"]
    assert len(combined.evidence_ids) == 2


def test_power_is_the_sdk_shape(german):
    policy = vl.datasets.policy_path("german_credit_data")
    report = vl.enforce(german, policy, target="class", gender="gender", age="age", n_boot=200, evidence=False)  # fmt: skip
    power = report["approvals-by-gender"].power
    assert list(power) == [
        "n", "n_clusters", "groups", "ci_low", "ci_high", "ci_level", "method", "n_boot", "seed",
    ]  # fmt: skip
    assert power["n"] == 1000 and power["groups"] == {"female": 310, "male": 690}
    assert (power["ci_low"], power["ci_high"]) == report["approvals-by-gender"].ci
    assert (power["n_boot"], power["seed"], power["ci_level"]) == (200, 0, 0.95)
    assert vl.enforcement.sdk_record(report[0])["power"] == report[0].power


def test_default_policy_is_risks_oscal_yaml_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EnforcementError, match=r"no risks\.oscal\.yaml"):
        vl.enforce(metrics={"accuracy_score": 0.9}, evidence=False)
    (tmp_path / "risks.oscal.yaml").write_text(PERF, encoding="utf-8")
    report = vl.enforce(metrics={"accuracy_score": 0.9}, evidence=False)
    assert report["acc"].status == "pass"


def test_the_sdk_readme_spellings_prediction_array_and_policy_path(german, perf):
    predictions = german["class"].to_numpy()
    before = list(german.columns)
    report = vl.enforce(
        data=german, target="class", prediction=predictions, policy_path=perf,
        phase="validation", ci=False, evidence=False,
    )  # fmt: skip
    assert list(german.columns) == before  # the caller's frame is not modified
    assert report["acc"].actual_value == 1.0 and report.bindings["prediction"] == "prediction"
    taken = german.assign(prediction=0)
    other = vl.enforce(
        taken, perf, target="class", prediction=predictions, phase="validation", evidence=False
    )
    assert other.bindings["prediction"] == "_prediction" and other["acc"].actual_value == 1.0
    with pytest.raises(
        EnforcementError, match=r"prediction= has shape \(3,\) but the data has 1000 rows"
    ):
        vl.enforce(german, perf, target="class", prediction=[1, 2, 1], evidence=False)
    with pytest.raises(EnforcementError, match="not both"):
        vl.enforce(german, perf, policy_path="other.yaml", evidence=False)


def test_skipped_controls_still_show_in_the_report_table(perf):
    report = vl.enforce(metrics={"accuracy_score": 0.9}, policy=perf, phase="validation", evidence=False)  # fmt: skip
    html = report._repr_html_()
    assert html.count('class="vl-control ') == 4 and "later" in html and "SKIPPED" in html


def test_a_policy_list_checks_keywords_against_all_its_policies(german, tmp_path):
    gendered = tmp_path / "gendered.yaml"
    gendered.write_text(
        "vl-policy: 1\ncontrols:\n  - {id: di, metric: disparate_impact, operator: gt,"
        " threshold: 0.5, inputs: {target: target, dimension: gender}}\n",
        encoding="utf-8",
    )
    balance = tmp_path / "balance.yaml"
    balance.write_text(DATA, encoding="utf-8")
    # gender= binds nothing in balance.yaml but is used by gendered.yaml: accepted
    both = vl.enforce(german, [balance, gendered], target="class", gender="gender", ci=False, evidence=False)  # fmt: skip
    assert [r.control_id for r in both] == ["balance", "di"]
    with pytest.raises(vl.BindingError, match=r"keyword gendr=\.\.\. binds no variable"):
        vl.enforce(german, [balance, gendered], target="class", gendr="gender", evidence=False)
