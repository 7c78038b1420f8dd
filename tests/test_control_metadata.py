"""``ControlResult.metadata`` is declared: every key a real report writes is a key of the
``ControlMetadata`` TypedDict (and every declared key is written by some control), and the
status is a ``Status`` that reads, compares and serialises as its string."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.enforcement import (
    STATUSES,
    CIMetadata,
    ControlMetadata,
    ControlResult,
    RegressionMetadata,
    Report,
    Status,
)

DECLARED = ControlMetadata.__required_keys__ | ControlMetadata.__optional_keys__


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = y.copy()
    p[150:195] = 0
    p[150] = 1  # group b has one predicted positive: precision undefined in most replicates
    return pd.DataFrame({"g": ["a"] * 150 + ["b"] * 45 + ["c"] * 5, "y": y, "p": p})


POLICY = {
    "vl-policy": 1,
    "title": "metadata",
    "controls": [
        {"id": "di", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "warn_threshold": 0.9, "inputs": {"dimension": "g", "target": "prediction"},
         "params": {"max_regression": "0.01,0.02,0.04", "min_group_size": 10}},
        {"id": "pp", "metric": "predictive_parity", "operator": "lt", "threshold": 0.2,
         "inputs": {"dimension": "g"}},
        {"id": "drift", "metric": "group_share_psi", "operator": "lt", "threshold": 0.1,
         "inputs": {"dimension": "g"}},
        {"id": "bad", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "inputs": {"dimension": "nosuch"}},
        {"id": "later", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "inputs": {"dimension": "g"}, "phases": ["monitoring"]},
    ],
}  # fmt: skip


def run(**options) -> Report:
    options = {"evidence": False, **options}
    return vl.enforce(frame(), POLICY, target="y", prediction="p", n_boot=200,
                      phase="training", **options)  # fmt: skip


def test_every_key_a_report_writes_is_declared_and_every_declared_key_is_written(
    monkeypatch, tmp_path
):
    first = run()
    recorded = run(evidence=True, evidence_dir=tmp_path)  # recording adds partition_digest
    custom = {"id": "custom", "metric": "house_metric", "operator": "gt", "threshold": 0.1}
    with pytest.warns(vl.VLWarning):  # a metric the catalogue does not know
        precomputed = vl.enforce(
            metrics={"disparate_impact": 0.9, "house_metric": 0.5},
            policy={**POLICY, "controls": [*POLICY["controls"], custom]},
            evidence=False,
        )
    compared = run(baseline=first)  # the regression entry gains the comparison's keys
    import vl_jupyter.enforcement._enforce as enforce_module

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(enforce_module, "measure", broken)  # the internal-error path
    internal = run()
    reports = (first, recorded, precomputed, compared, internal)
    results = [r for report in reports for r in [*report, *report.skipped]]
    written = {key for r in results for key in r.metadata}
    assert written - DECLARED == set(), "written but not declared in ControlMetadata"
    assert DECLARED - written == set(), "declared but written by no control here"
    assert set(internal["di"].metadata) >= {"reason", "error_code", "traceback"}
    assert internal["di"].metadata["error_code"] == "INTERNAL_ERROR"
    ci = first["di"].metadata["ci"]
    assert set(ci) == CIMetadata.__required_keys__
    regression = compared["di"].metadata["regression"]
    assert set(regression) == RegressionMetadata.__optional_keys__
    assert set(first["di"].metadata["regression"]) == {"rule"}  # no baseline: the rule only
    assert (first["pp"].metadata["metric_as_written"], first["pp"].metadata["ci"]) == (
        "predictive_parity", None,
    )  # fmt: skip
    assert first["pp"].metadata["ci_note"].startswith("no interval: the metric was undefined")
    assert recorded["di"].metadata["partition_digest"] == recorded.data["content_hash"]
    assert {k: precomputed["di"].metadata[k] for k in ("source", "metric_given_as", "n")} == {
        "source": "precomputed", "metric_given_as": "disparate_impact", "n": None,
    }  # fmt: skip
    assert (precomputed["custom"].status, precomputed["custom"].actual_value) == ("pass", 0.5)
    assert "house_metric" in precomputed["custom"].metadata["policy_problem"]


def test_status_is_an_enum_that_reads_as_its_string():
    report = run()
    assert [r.status for r in report] == [Status.FAIL, Status.FAIL, Status.SKIPPED, Status.ERROR]
    assert all(type(r.status) is Status for r in report)
    assert report.status is Status.ERROR and report.status == "error"
    assert f"{report.status}|{report['di'].status:>6}" == "error|  fail"
    assert STATUSES == ("pass", "warn", "fail", "error", "skipped")
    assert report.counts == {"pass": 0, "warn": 0, "fail": 2, "error": 1, "skipped": 2}
    assert [(r.control_id, r.status) for r in report.skipped] == [("later", "skipped")]
    record = dataclasses.asdict(report["di"])
    assert json.loads(json.dumps(record))["status"] == "fail"
    assert json.dumps(report.summary()["status"]) == '"error"'
    back = Report.from_dict(json.loads(json.dumps(report.to_dict())))
    assert [type(r.status) for r in back] == [Status] * 4
    assert back.to_dict() == json.loads(json.dumps(report.to_dict()))


def test_a_bare_string_status_becomes_a_status_and_an_unknown_one_is_refused():
    result = ControlResult("c", "", "accuracy", 0.5, 0.9, "gt", True, "high", "warn")
    assert result.status is Status.WARN
    with pytest.raises(ValueError, match="'passd' is not a valid Status"):
        ControlResult("c", "", "accuracy", 0.5, 0.9, "gt", True, "high", "passd")
