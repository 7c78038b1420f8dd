"""The SDK's helper verbs: load_sample, quickstart, list_scenarios, scan, retain."""

from __future__ import annotations

import json

import pytest

import vl_jupyter as vl
from vl_jupyter.errors import EnforcementError

BROKEN = "controls:\n  - {id: x, metric: disparate_impact, operator: gt}\n"


def test_load_sample_is_the_uci_data_as_published():
    df = vl.load_sample("loan")
    assert df.shape == (1000, 21) and list(df.columns)[-1] == "class"
    assert df["class"].value_counts().to_dict() == {1: 700, 2: 300}
    assert vl.load_sample("german_credit").equals(df)
    assert vl.list_scenarios() == {
        "loan": "Credit scoring fairness: bias in loan approvals (UCI German credit)"
    }
    with pytest.raises(ValueError, match="no sample 'hiring'; known: loan"):
        vl.load_sample("hiring")


def test_quickstart_enforces_the_shipped_oscal_policy_inside_a_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    report = vl.quickstart("loan", n_boot=200)
    assert [r.control_id for r in report] == [
        "credit-data-imbalance", "credit-data-bias", "credit-age-disparate",
    ]  # fmt: skip
    assert report.policy["dialect"] == "assessment-plan"
    assert report.bindings == {"target": "class", "gender": "Attribute9", "age": "Attribute13"}
    assert report["credit-data-imbalance"].actual_value == pytest.approx(300 / 700)
    assert {r.status for r in report} <= {"pass", "warn", "fail"}
    printed = capsys.readouterr().out
    assert "credit-data-bias" in printed and "Loan approval fairness" in printed
    run = tmp_path / ".venturalitica" / "runs" / "latest"
    audit = ["assessment-results.oscal.json", "bom.json"]  # the export room's run writer
    audit += ["poam.oscal.json"] if any(r.status in ("fail", "error") for r in report) else []
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["results.json", "trace_quickstart_loan.json", *audit]
    )
    assert report.session == vl.evidence.latest_run(tmp_path / ".venturalitica")


def test_scan_reads_policies_and_the_newest_results(tmp_path, monkeypatch, german):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VL_EVIDENCE_DIR", raising=False)
    empty = vl.scan(project_root=".")
    assert empty.passed is False and empty.score == 0.0 and empty.results == []
    good = tmp_path / "policies" / "risks.oscal.yaml"
    good.parent.mkdir()
    good.write_text(vl.datasets.policy_path("loan.oscal").read_text(), encoding="utf-8")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "x_policy.yaml").write_text(BROKEN)  # never looked at
    with vl.monitor("audit", sample=False):
        vl.enforce(german, good, target="class", gender="Attribute9", age="Attribute13", ci=False)
    audit = vl.scan(project_root=".")
    assert [p["path"] for p in audit.policies] == ["policies/risks.oscal.yaml"]
    assert audit.policies[0]["controls"] == 3 and audit.policies[0]["error"] is None
    assert audit.run_id == vl.evidence.latest_run(".venturalitica")
    assert len(audit.results) == 3 and audit.passed is True and audit.score == 1.0
    (tmp_path / "broken_policy.yaml").write_text(BROKEN)
    again = vl.scan(project_root=tmp_path)
    assert again.passed is False  # a policy nobody can read is not a pass
    assert [p["path"] for p in again.policy_errors] == ["broken_policy.yaml"]
    assert "broken_policy.yaml" in again.policy_errors[0]["error"]
    assert json.loads(json.dumps(again.to_dict()))["passed"] is False
    assert "NOT PASSED" in repr(again)
    with pytest.raises(FileNotFoundError):
        vl.scan(project_root=tmp_path / "nope")


def test_retain_declares_the_authoritative_subset(german, evidence_dir):
    policy = vl.datasets.policy_path("german_credit_data")
    with vl.evidence.session("gate") as sid:
        report = vl.enforce(german, policy, target="class", gender="gender", age="age", ci=False, evidence_dir=evidence_dir)  # fmt: skip
        kept = [r for r in report if r.control_id.startswith("approvals")]
        path = vl.retain(kept, evidence_dir=evidence_dir)
        vl.retain(kept[:1], evidence_dir=evidence_dir)  # re-declaring replaces, no duplicate
        vl.retain(report, evidence_dir=evidence_dir)
    assert path == evidence_dir / "runs" / sid / "retained_results.json"
    entries = json.loads(path.read_text())
    # one entry per control and data partition (a re-declared one moves to the end)
    assert [e["control_id"] for e in entries] == [r.control_id for r in report]
    assert {e["evidence_id"] for e in entries} == {report.evidence_id}
    digest = vl.evidence.get(report.evidence_id, root=evidence_dir).data["data"]["content_hash"]
    assert {e["result_key"] for e in entries} == {f"{r.control_id}|{digest}" for r in report}
    retains = list(vl.evidence.records("retain", root=evidence_dir))[::-1]
    assert [len(r.data["results"]) for r in retains] == [2, 1, 6]
    assert retains[1].data["results"][0] == {
        "control_id": "approvals-by-gender",
        "result_key": f"approvals-by-gender|{digest}",
        "evidence_id": report.evidence_id,
        "passed": report["approvals-by-gender"].passed,
    }
    with pytest.raises(EnforcementError, match="got no results"):
        vl.retain([], evidence_dir=evidence_dir)
    with pytest.raises(EnforcementError, match="takes a Report or a list"):
        vl.retain("x", evidence_dir=evidence_dir)
