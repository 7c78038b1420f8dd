"""``enforce``: report semantics, judgement, parameters, binding records and evidence."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.enforcement import Report
from vl_jupyter.errors import ComplianceBlockError, EnforcementError


def policy(*controls: dict) -> dict:
    return {"vl-policy": 1, "title": "enforce tests", "controls": list(controls)}


def di(cid: str = "di", dimension: Any = "gender", **extra: Any) -> dict:
    return {
        "id": cid,
        "metric": "disparate_impact",
        "operator": "gt",
        "threshold": 0.8,
        "inputs": {"dimension": dimension},
        **extra,
    }


def rates(a: tuple[int, int], b: tuple[int, int]) -> pd.DataFrame:
    """Group 'a' with a[0] favourable rows of a[1], group 'b' likewise (target 'class')."""
    rows = [("a", int(i < a[0])) for i in range(a[1])] + [("b", int(i < b[0])) for i in range(b[1])]
    return pd.DataFrame(rows, columns=["gender", "class"])


EXACT = rates((4, 8), (5, 8))  # 0.5 / 0.625 == 0.8 exactly in floating point


def run(df: pd.DataFrame, pol: Any, **kwargs: Any) -> Report:
    kwargs.setdefault("evidence", False)
    return vl.enforce(df, pol, **kwargs)


# --- report semantics ------------------------------------------------------------------------
def test_passed_and_score(german: pd.DataFrame) -> None:
    good = di("good", threshold=0.5)
    bad = di("bad", threshold=0.95)
    broken = di("broken", dimension="religion")
    report = run(german, policy(good, bad, broken), target="class", ci=False)
    assert [r.status for r in report] == ["pass", "fail", "error"]
    assert [r.passed for r in report] == [True, False, False]
    assert report.passed is False
    assert report.score == 0.33  # 1 of 3 passed, floored to a whole percent
    assert report.status == "error"
    assert report.counts == {"pass": 1, "warn": 0, "fail": 1, "error": 1, "skipped": 0}
    assert report["bad"].reason == "disparate_impact = 0.8966, which is not > 0.95"
    assert run(german, policy(good, bad), target="class", ci=False).status == "fail"
    only_good = run(german, policy(good), target="class", ci=False)
    assert only_good.passed is True and only_good.score == 1.0
    assert len(report) == 3 and report[0].control_id == "good"
    with pytest.raises(KeyError):
        report["nope"]


def test_all_skipped_or_nothing_evaluated_never_passes(german: pd.DataFrame) -> None:
    report = run(german, policy(di(phases=["training"])), target="class", phase="monitoring")
    assert list(report) == [] and [r.status for r in report.skipped] == ["skipped"]
    assert report.passed is False and report.score == 0.0 and report.status == "skipped"
    empty = Report([], policy={}, data={}, bindings={})
    assert empty.passed is False and empty.score == 0.0


def test_comparison_is_strict() -> None:
    assert run(EXACT, policy(di()), ci=False)["di"].actual_value == 0.8
    gt = run(EXACT, policy(di(operator="gt")), ci=False)["di"]
    ge = run(EXACT, policy(di(operator="ge")), ci=False)["di"]
    assert (gt.status, gt.passed) == ("fail", False)
    assert (ge.status, ge.passed) == ("pass", True)
    assert gt.reason == "disparate_impact = 0.8, which is not > 0.8"


def test_warn_band() -> None:
    frame = rates((17, 20), (20, 20))  # 0.85 / 1.0
    result = run(frame, policy(di(warn_threshold=0.9)), ci=False)["di"]
    assert result.actual_value == pytest.approx(0.85)
    assert (result.status, result.passed) == ("warn", True)
    assert "inside the warn band (not > 0.9)" in result.reason
    clean = run(frame, policy(di(warn_threshold=0.84)), ci=False)["di"]
    assert clean.status == "pass" and clean.reason is None


def test_ci_crossing_the_threshold_warns(german: pd.DataFrame) -> None:
    result = run(german, policy(di(threshold=0.85)), target="class", n_boot=300)["di"]
    assert result.actual_value > 0.85
    low, high = result.ci
    assert low < 0.85 < high
    assert (result.status, result.passed) == ("warn", True)
    assert "confidence interval" in result.reason and "crosses the threshold 0.85" in result.reason
    assert run(german, policy(di(threshold=0.85)), target="class", ci=False)["di"].status == "pass"


def test_phase_filter(german: pd.DataFrame) -> None:
    pol = policy(
        di("training-only", phases=["training"]),
        di("monitoring", threshold=0.95, phases=["monitoring", "validation"]),
        di("always", threshold=0.5),
    )
    report = run(german, pol, target="class", phase="monitoring", ci=False)
    # skipped controls are left out of the results (as the SDK does), kept in .skipped
    assert [r.status for r in report] == ["fail", "pass"]
    assert [r.control_id for r in report.skipped] == ["training-only"]
    assert report.counts["skipped"] == 1
    assert "not applicable in phase 'monitoring'" in report["training-only"].reason
    assert report.score == pytest.approx(0.5)
    assert report.phase == "monitoring"
    everything = run(german, pol, target="class", ci=False)
    assert "skipped" not in [r.status for r in everything]


# --- exceptions, after the evidence is written -----------------------------------------------
def test_strict_raises_after_writing_evidence(german: pd.DataFrame, evidence_dir: Path) -> None:
    pol = policy(di("ok", threshold=0.5), di("broken", dimension="religion"))
    with pytest.raises(EnforcementError) as info:
        vl.enforce(german, pol, target="class", strict=True, evidence_dir=evidence_dir, ci=False)
    error = info.value
    assert error.control_id == "broken"
    assert "control 'broken'" in str(error)
    assert "variable 'religion'" in str(error)
    report = error.report
    assert report.evidence_id is not None
    ids = [r.id for r in vl.evidence.records(root=evidence_dir)]
    assert ids == [report.evidence_id]
    # without strict the same policy returns a report
    assert run(german, pol, target="class", ci=False)["broken"].status == "error"


def test_block_mode_raises_after_writing_evidence(german: pd.DataFrame, evidence_dir: Path) -> None:
    pol = policy(di("gate", threshold=0.95, mode="block"), di("soft", threshold=0.95))
    with pytest.raises(ComplianceBlockError) as info:
        vl.enforce(german, pol, target="class", evidence_dir=evidence_dir, ci=False)
    report = info.value.report
    assert isinstance(report, Report)
    assert report["gate"].status == "fail"
    assert info.value.control_id == "gate"
    assert "gate (fail)" in str(info.value) and "soft" not in str(info.value)
    record = vl.evidence.get(report.evidence_id, root=evidence_dir)
    assert record.kind == "enforce"
    assert report.evidence_id in str(info.value)
    # a passing block control does not raise
    ok = vl.enforce(
        german,
        policy(di("gate", threshold=0.5, mode="block")),
        target="class",
        evidence_dir=evidence_dir,
        ci=False,
    )
    assert ok.passed


# --- shapes ----------------------------------------------------------------------------------
def test_result_shapes(german: pd.DataFrame) -> None:
    pol = policy(di(), di("band", "age", params={"bins": "25,60"}), di("broken", "religion"))
    report = run(german, pol, target="class", n_boot=200)
    record = dataclasses.asdict(report["di"])
    assert list(record) == [
        "control_id",
        "description",
        "metric_key",
        "threshold",
        "actual_value",
        "operator",
        "passed",
        "severity",
        "status",
        "metadata",
    ]
    json.dumps(report.to_dict())  # JSON-ready
    frame = report.to_frame()
    assert frame.index.name == "control_id"
    assert list(frame.index) == ["di", "band", "broken"]
    assert list(frame.columns) == [
        "metric_key",
        "actual_value",
        "ci_low",
        "ci_high",
        "operator",
        "threshold",
        "status",
        "passed",
        "severity",
        "reason",
    ]
    assert frame.loc["di", "ci_low"] == report["di"].ci[0]
    html = report._repr_html_()
    for result in report:
        assert result.control_id in html
        assert result.status in html.lower()


# --- parameters ------------------------------------------------------------------------------
def test_pos_label_per_call_and_per_control() -> None:
    frame = pd.DataFrame({"outcome": ["good"] * 3 + ["bad"], "gender": ["a", "a", "b", "b"]})
    rate = {"metric": "selection_rate", "operator": "ge", "threshold": 0.0}
    pol = policy({"id": "call", **rate}, {"id": "own", **rate, "params": {"pos_label": "bad"}})
    report = run(frame, pol, target="outcome", pos_label="good", ci=False)
    assert report["call"].actual_value == pytest.approx(0.75)
    assert report["own"].actual_value == pytest.approx(0.25)  # the control's label wins
    assert report["own"].metadata["params"]["pos_label"] == "bad"


def test_min_group_size_per_call(german: pd.DataFrame) -> None:
    result = run(
        german,
        policy(di("band", "age", params={"bins": "25,60"})),
        target="class",
        min_group_size=100,
        ci=False,
    )["band"]
    assert result.metadata["excluded_groups"] == {">=60": 51}
    assert set(result.metadata["groups"]) == {"<25", "[25, 60)"}
    assert result.actual_value == pytest.approx((88 / 149) / (574 / 800))


def test_bins_per_call(german: pd.DataFrame) -> None:
    result = run(
        german, policy(di("band", "age")), target="class", bins={"age": [25, 60]}, ci=False
    )["band"]
    sizes = {g: v["n"] for g, v in result.metadata["groups"].items()}
    assert sizes == {"<25": 149, "[25, 60)": 800, ">=60": 51}
    assert result.metadata["params"]["bins"] == [25.0, 60.0]
    # the control's own bins win over the call's
    own = run(
        german,
        policy(di("band", "age", params={"bins": [30]})),
        target="class",
        bins={"age": [25, 60]},
        ci=False,
    )["band"]
    assert set(own.metadata["groups"]) == {"<30", ">=30"}


def test_binding_rules_are_recorded() -> None:
    frame = pd.DataFrame(
        {
            "class": [1, 0, 1, 0],
            "sex": ["f", "f", "m", "m"],
            "Region": ["n", "s", "n", "s"],
            "col9": ["x", "x", "y", "y"],
        }
    )
    pol = policy(
        {**di("keyword", "gender"), "inputs": {"dimension": "gender", "target": "credit_risk"}},
        {**di("synonym", "sex"), "inputs": {"dimension": "gender"}},
        di("column", "Region"),
        di("case", "region"),
    )
    report = run(frame, pol, target="class", gender="col9", ci=False)
    rule = {r.control_id: r.metadata["bindings"] for r in report}
    assert rule["keyword"]["dimension"] == {
        "variable": "gender",
        "columns": ["col9"],
        "rule": "keyword",
    }
    assert rule["keyword"]["target"] == {
        "variable": "credit_risk",
        "columns": ["class"],
        "rule": "role keyword",
    }
    assert rule["column"]["dimension"]["rule"] == "column"
    assert rule["case"]["dimension"] == {
        "variable": "region",
        "columns": ["Region"],
        "rule": "synonym",
    }
    assert rule["column"]["target"] == {
        "variable": "target",
        "columns": ["class"],
        "rule": "keyword",
    }
    # without the keyword, 'gender' finds its synonym 'sex'
    plain = run(frame, pol, target="class", ci=False)["synonym"].metadata["bindings"]
    assert plain["dimension"] == {"variable": "gender", "columns": ["sex"], "rule": "synonym"}
    # a frame with a column literally called 'target' binds it by name
    named = run(frame.rename(columns={"class": "target"}), policy(di("c", "Region")), ci=False)
    assert named["c"].metadata["bindings"]["target"]["rule"] == "column"


def test_one_policy_audits_data_then_model(german: pd.DataFrame) -> None:
    rng = np.random.default_rng(3)
    german["prediction"] = np.where(rng.random(len(german)) < 0.7, 1, 2)
    pol = policy(di(threshold=0.5))
    data = run(german, pol, target="class", ci=False)["di"]
    model = run(german, pol, target="prediction", ci=False)["di"]

    def expected(column: str) -> float:
        sr = (german[column] == 1).groupby(german["gender"]).mean()
        return sr.min() / sr.max()

    assert data.actual_value == pytest.approx(expected("class"), abs=1e-12)
    assert model.actual_value == pytest.approx(expected("prediction"), abs=1e-12)
    assert data.actual_value != model.actual_value
    assert data.metadata["bindings"]["target"]["columns"] == ["class"]
    assert model.metadata["bindings"]["target"]["columns"] == ["prediction"]
    # a column named 'prediction' alone does not make it a model audit
    assert run(german, pol, ci=False, target="class")["di"].metadata["details"]["outcome"] == {
        "role": "target",
        "column": "class",
    }


# --- evidence --------------------------------------------------------------------------------
POLICY_YAML = """\
vl-policy: 1
title: Evidence test
version: "2"
controls:
  - id: di
    metric: disparate_impact
    operator: gt
    threshold: 0.8
    inputs: {dimension: gender}
  - id: balance
    metric: class_imbalance
    operator: gt
    threshold: 0.3
"""


def test_evidence_files(german: pd.DataFrame, tmp_path: Path, evidence_dir: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_YAML, encoding="utf-8")
    report = vl.enforce(german, path, target="class", n_boot=200, evidence_dir=evidence_dir)
    assert report.evidence_id and report.session

    results = json.loads((evidence_dir / "results.json").read_text())
    assert isinstance(results, list) and [r["control_id"] for r in results] == ["di", "balance"]
    for entry in results:
        for key in (
            "control_id",
            "description",
            "metric_key",
            "threshold",
            "actual_value",
            "operator",
            "passed",
            "severity",
            "metadata",
            "power",
        ):
            assert key in entry, key
        assert set(entry["power"]) == {
            "n",
            "n_clusters",
            "groups",
            "ci_low",
            "ci_high",
            "ci_level",
            "method",
            "n_boot",
            "seed",
        }
    power = results[0]["power"]
    assert power["n"] == 1000 and power["groups"] == {"female": 310, "male": 690}
    assert (power["ci_level"], power["n_boot"], power["seed"]) == (0.95, 200, 0)
    assert power["method"] == "multinomial_bootstrap_extreme_contrast"
    assert (power["ci_low"], power["ci_high"]) == report["di"].ci
    assert results[0]["actual_value"] == report["di"].actual_value

    # outside a run (a monitor block or session) there is no run folder, as in the SDK
    assert not (evidence_dir / "runs").exists()

    data = vl.evidence.get(report.evidence_id, root=evidence_dir).data
    # the text is stored once per policy, in a blob the record names by its sha256
    assert "text" not in data["policy"]
    digest = hashlib.sha256(POLICY_YAML.encode()).hexdigest()
    assert data["policy"]["text_file"] == f"policies/{digest}.yaml"
    assert vl.evidence.policy_text(data["policy"], evidence_dir) == POLICY_YAML
    assert data["policy"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert data["policy"]["title"] == "Evidence test"
    fp = data["data"]
    assert fp["rows"] == 1000
    assert [c["name"] for c in fp["columns"]] == list(german.columns)
    assert len(fp["content_hash"]) == 64
    assert data["bindings"] == {"target": "class"}
    assert data["results"][0]["metadata"]["bindings"]["target"]["rule"] == "keyword"
    assert "python" in data["environment"] and "packages" in data["environment"]
    assert data["started"] <= data["finished"]
    assert data["started"].endswith("Z")
    assert data["passed"] == report.passed


def test_data_fingerprint_follows_the_content(german: pd.DataFrame, evidence_dir: Path) -> None:
    pol = policy(di(threshold=0.5))

    def content_hash(frame: pd.DataFrame) -> str:
        report = vl.enforce(frame, pol, target="class", ci=False, evidence_dir=evidence_dir)
        return vl.evidence.get(report.evidence_id, root=evidence_dir).data["data"]["content_hash"]

    with vl.evidence.session("fingerprints") as sid:
        first = content_hash(german)
        assert content_hash(german.copy()) == first
        changed = german.copy()
        changed.loc[5, "age"] += 1
        assert content_hash(changed) != first
        text_changed = german.copy()
        text_changed.loc[5, "gender"] = "female" if german.loc[5, "gender"] == "male" else "male"
        assert content_hash(text_changed) != first
    # four records; the run's file gathers every distinct result: the second call checked
    # the same content as the first, so its result replaced the first one's
    records = list(vl.evidence.records(root=evidence_dir))
    assert len(records) == 4
    assert len(list(vl.evidence.records(root=evidence_dir, session=sid))) == 4
    assert sid == "fingerprints"
    gathered = json.loads((evidence_dir / "runs" / sid / "results.json").read_text())
    assert [r["control_id"] for r in gathered] == ["di"] * 3
    assert [r["evidence_id"] for r in gathered] == [r.id for r in records[::-1]][1:]


def test_default_evidence_dir_is_under_cwd(
    german: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    report = vl.enforce(german, policy(di(threshold=0.5)), target="class", ci=False)
    assert (tmp_path / ".venturalitica" / "results.json").is_file()
    assert vl.evidence.get(report.evidence_id, root=tmp_path / ".venturalitica")
    assert vl.enforce(german, policy(di()), target="class", evidence=False).evidence_id is None
