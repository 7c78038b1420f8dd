"""Baselines, regression alerts and trends (issue: over time).

The German credit scenarios use a real scikit-learn model: a baseline logistic regression,
a reweighed one (Kamiran & Calders weights over gender x age band x label) and
deliberately degraded copies of the baseline's predictions.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter import cli
from vl_jupyter.enforcement import ControlResult, Report, compare_reports
from vl_jupyter.errors import ComplianceBlockError, EvidenceError, PolicyError
from vl_jupyter.policy import RegressionRule, load_policy

MODEL_POLICY = vl.datasets.policy_path("german_credit_model")
BIND = {"target": "class", "prediction": "prediction", "gender": "gender", "age": "age"}


@pytest.fixture(scope="module")
def credit_models():
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df = vl.datasets.load_german_credit(derived=True)
    features = [f"Attribute{i}" for i in range(1, 21)]
    numeric = [c for c in features if df[c].dtype.kind in "if"]
    categorical = [c for c in features if c not in numeric]
    train, test = train_test_split(df, test_size=0.3, stratify=df["class"], random_state=0)

    def model():
        return make_pipeline(
            make_column_transformer(
                (OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric)
            ),
            LogisticRegression(max_iter=1000),
        )

    baseline = model().fit(train[features], train["class"])
    # Reweighing: w(g, y) = P(g) P(y) / P(g, y) makes group and label independent in training.
    group = train["gender"].astype(str) + "|" + np.digitize(train["age"], [25, 60]).astype(str)
    y = train["class"]
    cell = group + "#" + y.astype(str)
    weights = (
        group.map(group.value_counts(normalize=True))
        * y.map(y.value_counts(normalize=True))
        / cell.map(cell.value_counts(normalize=True))
    )
    reweighed = model().fit(
        train[features], y, logisticregression__sample_weight=weights.to_numpy()
    )
    return (
        test.assign(prediction=baseline.predict(test[features])),
        test.assign(prediction=reweighed.predict(test[features])),
    )


def _result(cid, value, operator="gt", threshold=0.7, ci=None, status="pass", **meta):
    metadata = dict(meta)
    if ci is not None:
        metadata["ci"] = {"low": ci[0], "high": ci[1], "level": 0.95}
    return ControlResult(
        cid, "", "accuracy_score", threshold, value, operator, status in ("pass", "warn"),
        "high", status, metadata,
    )  # fmt: skip


def _report(*results):
    return Report(list(results), policy={"title": "P"}, data={}, bindings={})


# --- the rule -------------------------------------------------------------------------


def test_default_levels_are_the_seed_levels():
    rule = RegressionRule()
    assert (rule.warning, rule.critical, rule.emergency) == (0.05, 0.10, 0.15)
    assert rule.mode == "auto"
    assert rule.effective_mode("higher") == "relative"
    assert rule.effective_mode("lower") == rule.effective_mode("closer") == "absolute"
    assert [rule.level(None, r) for r in (0.0, 0.049, 0.05, 0.0999, 0.10, 0.15, 0.5)] == [
        "none", "none", "warning", "warning", "critical", "emergency", "emergency",
    ]  # fmt: skip
    assert rule.level(None, -0.3) == "none", "an improvement is never an alert"
    assert rule.level(0.04, 1.0, "lower") == "none", "a gap 0.04 -> 0.08: four points"
    assert rule.level(0.11, 0.5, "lower") == "critical"
    assert rule.level(0.04, 1.0, "lower") == "none", "a gap 0.04 -> 0.08: four points"
    assert rule.level(0.11, 0.5, "lower") == "critical"
    assert not rule.fails("emergency"), "without fail_on_regression an alert never fails"


@pytest.mark.parametrize(
    "props, expected",
    [
        ({"max_regression": "0.02,0.04,0.08"}, (0.02, 0.04, 0.08, "auto", None)),
        ({"max_regression": "warning=1%, critical=2%"}, (0.01, 0.02, 0.15, "auto", None)),
        (
            {"max_regression": {"warning": 0.01, "critical": 0.02, "emergency": 0.03,
                                "mode": "absolute", "fail_on": "critical"}},
            (0.01, 0.02, 0.03, "absolute", "critical"),
        ),
        (
            {"max_regression_critical": "0.12", "fail_on_regression": "emergency"},
            (0.05, 0.12, 0.15, "auto", "emergency"),
        ),
    ],
)  # fmt: skip
def test_rule_from_params(props, expected):
    rule = RegressionRule.from_params(props, "c")
    assert (rule.warning, rule.critical, rule.emergency, rule.mode, rule.fail_at) == expected


@pytest.mark.parametrize(
    "props, message",
    [
        ({"max_regression": "0.2,0.1,0.3"}, "max_regression levels must grow"),
        ({"max_regression": {"severe": 0.1}}, "max_regression has an unknown level 'severe'"),
        ({"max_regression_warning": "lots"}, "max_regression_warning must be a number"),
        ({"regression_mode": "percent"}, "regression_mode must be relative, absolute or auto"),
        ({"fail_on_regression": "bad"}, "fail_on_regression must be warning, critical or"),
        ({"max_regression": "-0.1"}, "must be a finite number >= 0"),
    ],
)
def test_rule_errors_name_the_field(props, message):
    with pytest.raises(PolicyError, match=message):
        RegressionRule.from_params(props, "c")


def test_policies_carry_the_rule_in_native_and_props_dialects(tmp_path):
    native = load_policy(
        "vl-policy: 1\ncontrols:\n  - {id: acc, metric: accuracy_score, operator: gt, "
        "threshold: 0.7,\n     inputs: {target: target, prediction: prediction},\n"
        "     params: {max_regression: {warning: 0.01, critical: 0.02, emergency: 0.04},"
        " fail_on_regression: critical}}\n"
    )
    assert native.control("acc").regression == RegressionRule(0.01, 0.02, 0.04, "auto", "critical")
    oscal = tmp_path / "plan.yaml"
    oscal.write_text(
        "assessment-plan:\n  metadata: {title: T, version: '1'}\n  control-implementations:\n"
        "    - implemented-requirements:\n        - control-id: acc\n          props:\n"
        "            - {name: metric_key, value: accuracy_score}\n"
        "            - {name: threshold, value: '0.7'}\n            - {name: operator, value: gt}\n"
        "            - {name: 'input:target', value: target}\n"
        "            - {name: 'input:prediction', value: prediction}\n"
        "            - {name: max_regression, value: '0.03,0.06,0.09'}\n"
        "            - {name: regression_mode, value: absolute}\n"
    )
    policy = load_policy(oscal)
    assert policy.control("acc").regression == RegressionRule(0.03, 0.06, 0.09, "absolute", None)
    assert not any("max_regression" in w for w in policy.warnings)
    bad = oscal.read_text().replace("'0.03,0.06,0.09'", "'0.3,0.06,0.09'")
    oscal.write_text(bad)
    with pytest.raises(PolicyError, match=r"plan.yaml:\d+.*levels must grow"):
        load_policy(oscal, strict=True)  # without strict: an unevaluable control


# --- one comparison -------------------------------------------------------------------


def test_change_is_measured_in_the_direction_the_policy_calls_better():
    now = _report(
        _result("up", 0.72, "gt", ci=(0.70, 0.74)),
        _result("down", 0.12, "lt", 0.2, ci=(0.10, 0.14)),
        _result("near", 0.95, "eq", 1.0),
    )
    before = _report(
        _result("up", 0.80, "gt", ci=(0.78, 0.82)),
        _result("down", 0.10, "lt", 0.2, ci=(0.08, 0.12)),
        _result("near", 0.99, "eq", 1.0),
    )
    c = compare_reports(now, before)
    assert c["up"].direction == "regressed" and c["up"].relative_degradation == pytest.approx(0.1)
    assert c["up"].level == "critical" and c["up"].significant is True
    assert c["down"].better == "lower" and c["down"].degradation == pytest.approx(0.02)
    assert c["down"].level == "none", "a gap 0.10 -> 0.12: two points, under 5"
    assert c["near"].better == "closer" and c["near"].direction == "regressed"
    assert c["near"].significant is None and c["near"].p_value is None, "no CI: not tested"
    assert c["near"].level == "none", "0.99 -> 0.95 of a target 1.0: four points"
    assert c.worst_level == "critical"


def test_z_test_uses_both_intervals():
    se = 0.01 / 1.959963984540054
    c = compare_reports(
        _report(_result("a", 0.80, ci=(0.79, 0.81))), _report(_result("a", 0.79, ci=(0.78, 0.80)))
    )["a"]
    assert c.z == pytest.approx(0.01 / math.hypot(se, se))
    assert c.p_value == pytest.approx(math.erfc(abs(c.z) / math.sqrt(2)))


def test_added_removed_and_policy_changes_are_listed():
    now = _report(_result("a", 0.8, threshold=0.75), _result("new", 0.5))
    before = _report(_result("a", 0.8), _result("gone", 0.5))
    c = compare_reports(now, before)
    assert (c.added, c.removed) == (["new"], ["gone"])
    assert c.policy_changes == [
        {"control_id": "a", "before": "accuracy_score gt 0.7", "after": "accuracy_score gt 0.75"}
    ]
    html = c._repr_html_()
    assert "new controls: new" in html and "no longer checked: gone" in html


def test_comparison_round_trips_through_the_report_dict():
    now, before = (
        _report(_result("a", 0.7, ci=(0.6, 0.8))),
        _report(_result("a", 0.8, ci=(0.7, 0.9))),
    )
    now.comparison = compare_reports(now, before, baseline_info={"id": "x", "label": "x"})
    back = Report.from_dict(json.loads(json.dumps(now.to_dict())))
    assert back.comparison.to_dict() == now.comparison.to_dict()
    assert [dataclasses.asdict(r) for r in back] == [dataclasses.asdict(r) for r in now]


# --- German credit: the done-when scenarios ---------------------------------------------


def test_reweighed_model_moves_every_fairness_control_the_expected_way(credit_models, tmp_path):
    base_frame, fair_frame = credit_models
    base = vl.enforce(base_frame, MODEL_POLICY, evidence_dir=tmp_path, **BIND)
    fair = vl.enforce(fair_frame, MODEL_POLICY, evidence_dir=tmp_path, baseline=base, **BIND)
    c = fair.comparison
    # Reweighing equalises selection and true-positive rates ...
    assert c["approvals-by-gender"].direction == "improved"
    assert c["opportunity-by-gender"].direction == "improved"
    assert c["odds-by-age"].direction == "improved"
    # ... and, as the impossibility results say it must, gives up some predictive parity
    # and a little accuracy.
    assert c["precision-parity-by-gender"].direction == "regressed"
    assert c["accuracy"].direction == "regressed" and c["accuracy"].level == "none"
    record = vl.evidence.get(fair.evidence_id, root=tmp_path)
    stored = record.data["comparison"]["baseline"]
    assert stored["id"] == base.evidence_id and stored["how"] == "report"


def _degrade(frame: pd.DataFrame, relative: float) -> pd.DataFrame:
    """Flip just enough correct predictions to lose ``relative`` of the accuracy."""
    correct = np.flatnonzero(frame["prediction"].to_numpy() == frame["class"].to_numpy())
    flips = math.ceil(len(correct) * relative)
    out = frame.copy()
    idx = out.index[correct[:flips]]
    out.loc[idx, "prediction"] = np.where(out.loc[idx, "prediction"] == 1, 2, 1)
    return out


@pytest.mark.parametrize(
    "relative, level", [(0.03, "none"), (0.06, "warning"), (0.11, "critical"), (0.16, "emergency")]
)
def test_degraded_model_trips_the_documented_levels(credit_models, tmp_path, relative, level):
    base_frame, _ = credit_models
    base = vl.enforce(base_frame, MODEL_POLICY, evidence=False, **BIND)
    worse = vl.enforce(_degrade(base_frame, relative), MODEL_POLICY, evidence=False, **BIND)
    change = worse.compare(base)["accuracy"]
    assert change.relative_degradation == pytest.approx(relative, abs=0.005)
    assert change.level == level


def test_a_policy_can_fail_a_control_on_a_critical_regression(credit_models, tmp_path):
    base_frame, _ = credit_models
    policy = tmp_path / "gate.yaml"
    policy.write_text(
        "vl-policy: 1\ntitle: Gate\ncontrols:\n  - id: accuracy\n    metric: accuracy_score\n"
        "    operator: gt\n    threshold: 0.5\n    inputs: {target: target, prediction: prediction}\n"
        "    params: {fail_on_regression: critical}\n"
    )
    store = tmp_path / "ev"
    base = vl.enforce(
        base_frame, policy, target="class", prediction="prediction", evidence_dir=store
    )
    vl.evidence.tag(base.evidence_id, "production", root=store)
    mild = vl.enforce(
        _degrade(base_frame, 0.06), policy, target="class", prediction="prediction",
        evidence_dir=store, baseline="production",
    )  # fmt: skip
    assert mild["accuracy"].status == "pass" and mild.comparison["accuracy"].level == "warning"
    bad = vl.enforce(
        _degrade(base_frame, 0.16), policy, target="class", prediction="prediction",
        evidence_dir=store, baseline="production",
    )  # fmt: skip
    result = bad["accuracy"]
    assert result.status == "fail" and not bad.passed
    assert result.reason.startswith("regressed 16.")
    assert "against baseline production" in result.reason and "fails at critical" in result.reason
    assert result.metadata["regression"]["baseline"] == base.evidence_id
    stored = vl.evidence.get(bad.evidence_id, root=store).data
    assert (
        stored["comparison"]["baseline"]["hash"]
        == vl.evidence.get(base.evidence_id, root=store).hash
    )
    assert stored["results"][0]["status"] == "fail"
    # the same through the CLI: exit 1 on the critical regression
    data = tmp_path / "worse.csv"
    _degrade(base_frame, 0.16).to_csv(data, index=False)
    out = io.StringIO()
    code = cli.main(
        ["enforce", "--data", str(data), "--policy", str(policy), "--target", "class",
         "--prediction", "prediction", "--evidence-dir", str(store), "--baseline", "production"],
        out=out,
    )  # fmt: skip
    assert code == cli.EXIT_FAILED
    assert "against production" in out.getvalue() and "emergency" in out.getvalue()


def test_resampled_copies_rarely_look_significant(credit_models):
    """The same model on bootstrap copies of the test set: the false-alarm rate of the
    significance test stays near (below) its nominal 5 %. benchmarks/bench_false_alarms.py
    measures it over 200 seeds (docs/monitoring.md)."""
    base_frame, _ = credit_models
    base = vl.enforce(base_frame, MODEL_POLICY, evidence=False, n_boot=400, **BIND)
    alarms, tested = 0, 0
    for seed in range(30):
        copy = base_frame.sample(frac=1, replace=True, random_state=seed)
        try:
            report = vl.enforce(
                copy, MODEL_POLICY, evidence=False, n_boot=400, seed=seed + 1, **BIND
            )
        except ComplianceBlockError as blocked:  # a blocking control failed: judge them all
            report = blocked.report
        for change in report.compare(base):
            if change.significant is not None:
                tested += 1
                alarms += change.significant
    assert tested >= 30 * 5
    assert alarms / tested <= 0.05


# --- baselines from the store ------------------------------------------------------------


def test_previous_tag_and_id_baselines(german, tmp_path):
    policy = vl.datasets.policy_path("german_credit_data")
    bind = {"target": "class", "gender": "gender", "age": "age", "evidence_dir": tmp_path}
    with pytest.raises(EvidenceError, match="no previous run of policy 'German credit data audit'"):
        vl.enforce(german, policy, baseline="previous", **bind)
    first = vl.enforce(german, policy, **bind)
    second = vl.enforce(german.iloc[:600], policy, baseline="previous", **bind)
    assert second.comparison.baseline["id"] == first.evidence_id
    assert second.comparison.baseline["how"] == "previous"
    vl.evidence.tag(first.evidence_id, "production", root=tmp_path)
    assert second.compare("production", evidence_dir=tmp_path).baseline["id"] == first.evidence_id
    assert second.compare(first.evidence_id, evidence_dir=tmp_path).baseline["how"] == "id"
    with pytest.raises(EvidenceError, match="no baseline 'prodution'") as info:
        second.compare("prodution", evidence_dir=tmp_path)
    assert info.value.hint == "did you mean production?"
    third = vl.enforce(german.iloc[:500], policy, baseline="previous", **bind)
    assert third.comparison.baseline["id"] == second.evidence_id, "newest earlier run"


def test_tags_move_and_are_evidence(german, tmp_path):
    policy = vl.datasets.policy_path("german_credit_data")
    bind = {"target": "class", "gender": "gender", "age": "age", "evidence_dir": tmp_path}
    a, b = vl.enforce(german, policy, **bind), vl.enforce(german, policy, **bind)
    vl.evidence.tag(a.evidence_id, "production", root=tmp_path)
    vl.evidence.tag(b.evidence_id, "production", root=tmp_path)
    assert vl.evidence.tags(root=tmp_path) == {"production": b.evidence_id}
    assert [r.kind for r in vl.evidence.records(root=tmp_path)][:2] == ["tag", "tag"]
    assert vl.evidence.verify(root=tmp_path).ok
    with pytest.raises(EvidenceError, match="is not a tag name"):
        vl.evidence.tag(a.evidence_id, "../prod", root=tmp_path)
    with pytest.raises(EvidenceError):
        vl.evidence.tag("20261201T000000000000Z-deadbeef", "x", root=tmp_path)


# --- history and trend -----------------------------------------------------------------


def test_history_and_trend_chart(german, tmp_path):
    policy = vl.datasets.policy_path("german_credit_data")
    bind = {"target": "class", "gender": "gender", "age": "age", "evidence_dir": tmp_path}
    reports = [vl.enforce(german.iloc[: 400 + 200 * i], policy, **bind) for i in range(3)]
    vl.evidence.tag(reports[0].evidence_id, "production", root=tmp_path)
    frame = vl.evidence.history("approvals-by-age", root=tmp_path)
    assert list(frame["record_id"]) == [r.evidence_id for r in reports], "oldest first"
    assert list(frame["value"]) == [r["approvals-by-age"].actual_value for r in reports]
    assert list(frame["ci_low"]) == [r["approvals-by-age"].ci[0] for r in reports]
    assert list(frame["tags"]) == ["production", "", ""]
    assert frame["data_fingerprint"].nunique() == 3
    assert len(vl.evidence.history(root=tmp_path, limit=2)) == 2 * len(reports[0])
    assert vl.evidence.history(policy="no such policy", root=tmp_path).empty
    latest = reports[-1]
    latest.comparison = latest.compare("production", evidence_dir=tmp_path)
    trend = latest.history("approvals-by-age", evidence_dir=tmp_path)
    svg = trend._repr_html_()
    assert svg.count("<circle") == 3 and "(baseline)" in svg and "threshold 0.8" in svg
    assert "<polygon" in svg, "the CI band"
    bundle = trend._repr_mimebundle_()
    assert "application/vnd.plotly.v1+json" in bundle and bundle["text/html"] == svg
    names = [t.get("name") for t in bundle["application/vnd.plotly.v1+json"]["data"]]
    assert names == ["95% CI", "approvals-by-age", "baseline"]


def test_cli_compare_tag_and_history(german, tmp_path):
    policy = vl.datasets.policy_path("german_credit_data")
    bind = {"target": "class", "gender": "gender", "age": "age", "evidence_dir": tmp_path}
    vl.enforce(german, policy, **bind)
    out = io.StringIO()
    assert cli.main(["tag", "latest", "production", "--evidence-dir", str(tmp_path)], out=out) == 0
    vl.enforce(german.iloc[:300], policy, **bind)
    out = io.StringIO()
    code = cli.main(["compare", "latest", "production", "--evidence-dir", str(tmp_path)], out=out)
    text = out.getvalue()
    assert text.startswith("against production (")
    assert "approvals-by-age" in text and "p=" in text
    comparison = vl.evidence.history(root=tmp_path)  # the two runs are in the history
    assert comparison["record_id"].nunique() == 2
    assert code in (cli.EXIT_PASSED, cli.EXIT_FAILED)
    out = io.StringIO()
    cli.main(
        ["compare", "latest", "production", "--json", "--evidence-dir", str(tmp_path)], out=out
    )
    parsed = json.loads(out.getvalue())
    assert parsed["baseline"]["how"] == "tag" and len(parsed["changes"]) == 6
    expected = (
        cli.EXIT_FAILED
        if parsed["worst_level"] in ("critical", "emergency")
        and any(
            c["level"] in ("critical", "emergency") and c["significant"] is not False
            for c in parsed["changes"]
        )
        else cli.EXIT_PASSED
    )
    assert code == expected
    out = io.StringIO()
    cli.main(
        ["history", "--control", "completeness", "--csv", "--evidence-dir", str(tmp_path)], out=out
    )
    lines = out.getvalue().strip().splitlines()
    assert lines[0].startswith("created,control_id,value") and len(lines) == 3


@pytest.mark.slow
def test_an_mlflow_run_is_a_baseline(german, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "VL_EVIDENCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    policy = vl.datasets.policy_path("german_credit_data")
    bind = {"target": "class", "gender": "gender", "age": "age"}
    first = vl.enforce(german, policy, **bind)
    (run,) = vl.sync("mlflow").runs
    now = vl.enforce(german.iloc[:700], policy, baseline=f"mlflow:{run['run_id']}", **bind)
    assert now.comparison.baseline["how"] == "mlflow"
    assert now.comparison.baseline["id"] == first.evidence_id, "the synced record, from the store"
    # Without the record in the store, the run's logged values are the baseline
    elsewhere = tmp_path / "other-store"
    again = vl.enforce(
        german.iloc[:700], policy, baseline=f"mlflow:{run['run_id']}", evidence_dir=elsewhere,
        **bind,
    )  # fmt: skip
    change = again.comparison["approvals-by-age"]
    assert change.baseline_value == pytest.approx(first["approvals-by-age"].actual_value)
    assert change.significant is None, "a tracker's metric has no interval: not tested"


def test_latest_names_the_newest_enforce_run_everywhere(german, tmp_path):
    out = io.StringIO()
    assert cli.main(["tag", "latest", "x", "--evidence-dir", str(tmp_path)], out=out) == 2
    with pytest.raises(EvidenceError, match="no enforce record in") as info:
        vl.enforce(german, vl.datasets.policy_path("german_credit_data"), target="class",
                   gender="gender", age="age", evidence_dir=tmp_path / "other",
                   baseline="latest")  # fmt: skip
    assert info.value.hint == "run enforce once to create one"
    policy = vl.datasets.policy_path("german_credit_data")
    first = vl.enforce(
        german, policy, target="class", gender="gender", age="age", evidence_dir=tmp_path
    )
    second = vl.enforce(
        german.iloc[:500], policy, target="class", gender="gender", age="age",
        evidence_dir=tmp_path, baseline="latest",
    )  # fmt: skip
    assert second.comparison.baseline["id"] == first.evidence_id, "latest before this run"
    assert cli.main(["tag", "latest", "production", "--evidence-dir", str(tmp_path)], out=out) == 0
    assert vl.evidence.tags(root=tmp_path)["production"] == second.evidence_id
