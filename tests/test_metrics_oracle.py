"""Our metric values equal the reference implementations named in the catalogue's ``oracle``.

Property tests draw random data (2 to 10 string-named groups, 0/1 or "yes"/"no" labels) and
compare every metric with a fairlearn or scikit-learn oracle to 1e-9; fixed tests do the
same on the German credit data and a deterministic model. Metrics without a third-party
oracle are checked against values computed by hand in the test.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import fairlearn.metrics as fl
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import vl_jupyter as vl
from vl_jupyter.metrics import get_spec
from vl_jupyter.metrics._catalogue import CATALOGUE, FAMILY_OF

TOL = 1e-9
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# fairlearn / scikit-learn function of each per-group rate of the generated families
RATE_ORACLE = {
    "selection_rate": fl.selection_rate,
    "tpr": fl.true_positive_rate,
    "fpr": fl.false_positive_rate,
    "fnr": fl.false_negative_rate,
    "ppv": skm.precision_score,
    "accuracy": skm.accuracy_score,
}
AGG = {"diff": "difference", "ratio": "ratio", "min": "group_min", "max": "group_max"}


def approx(x: float) -> Any:
    return pytest.approx(x, rel=TOL, abs=TOL)


def control(cid: str, metric: str, inputs: dict | None = None, params: dict | None = None) -> dict:
    """A control that always passes in the metric's direction (no direction warning)."""
    direction = get_spec(metric).direction
    operator, threshold = {"higher": ("gt", -1e9), "lower": ("lt", 1e9), "none": ("ge", -1e9)}[
        direction
    ]
    out: dict[str, Any] = {
        "id": cid,
        "metric": metric,
        "operator": operator,
        "threshold": threshold,
    }
    if inputs:
        out["inputs"] = inputs
    if params:
        out["params"] = params
    return out


def run(df: pd.DataFrame, controls: list[dict], **kwargs: Any) -> vl.Report:
    kwargs.setdefault("ci", False)
    policy = {"vl-policy": 1, "title": "oracle", "controls": controls}
    return vl.enforce(df, policy, evidence=False, **kwargs)


def value_of(report: vl.Report, cid: str) -> float:
    result = report[cid]
    assert result.status != "error", (cid, result.reason)
    return result.actual_value


def by_group(result: vl.ControlResult) -> dict[str, float]:
    return {g: v["value"] for g, v in result.metadata["groups"].items()}


# --- the oracle column of the catalogue is covered ------------------------------------------
BINARY_FAIRNESS = [
    *sorted(FAMILY_OF),
    "disparate_impact",
    "equalized_odds_diff",
    "equalized_odds_ratio",
    "selection_rate",
]
BINARY_PERFORMANCE = [
    "accuracy_score",
    "balanced_accuracy",
    "precision_score",
    "recall_score",
    "f1_score",
]
COVERED = {
    *BINARY_FAIRNESS,
    *BINARY_PERFORMANCE,
    "roc_auc",
    "mae",
    "rmse",
    "r2_score",
    "mae_group_diff",
    # one-vs-rest, in test_metrics_registry.py::test_multiclass_fairness_equals_fairlearn_one_vs_rest
    "multiclass_demographic_parity",
    "weighted_demographic_parity_multiclass",
    "multiclass_equal_opportunity",
    "predictive_parity_multiclass",
    "micro_equalized_odds_multiclass",
}


def test_every_metric_with_an_oracle_is_compared_here() -> None:
    with_oracle = {key for key, spec in CATALOGUE.items() if spec.oracle}
    assert with_oracle == COVERED


# --- random binary data ----------------------------------------------------------------------
NAMES = st.text(alphabet="abcdefgXYZ _-0123", min_size=1, max_size=5)


@st.composite
def binary_data(draw: st.DrawFn) -> tuple[pd.DataFrame, Any]:
    """Every group has both target classes and at least one true positive."""
    names = draw(st.lists(NAMES, min_size=2, max_size=10, unique=True))
    bit = st.integers(0, 1)
    y: list[int] = []
    p: list[int] = []
    g: list[str] = []
    for name in names:
        extra = draw(st.integers(0, 15))
        ys = [1, 0, *draw(st.lists(bit, min_size=extra, max_size=extra))]
        ps = [1, draw(bit), *draw(st.lists(bit, min_size=extra, max_size=extra))]
        y += ys
        p += ps
        g += [name] * len(ys)
    order = draw(st.permutations(range(len(y))))
    frame = pd.DataFrame({"y": y, "yhat": p, "grp": g}).iloc[list(order)].reset_index(drop=True)
    if draw(st.booleans()):
        labels = {1: "yes", 0: "no"}
        frame["y"] = frame["y"].map(labels)
        frame["yhat"] = frame["yhat"].map(labels)
        return frame, "yes"
    return frame, 1


def _binary_oracle(y: np.ndarray, p: np.ndarray, sf: pd.Series) -> dict[str, tuple[float, Any]]:
    """fairlearn's value (and per-group values, for the families) of every binary metric."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = fl.MetricFrame(metrics=RATE_ORACLE, y_true=y, y_pred=p, sensitive_features=sf)
        out: dict[str, tuple[float, Any]] = {}
        for key, (rate, agg) in [
            *FAMILY_OF.items(),
            ("disparate_impact", ("selection_rate", "ratio")),
        ]:
            out[key] = (float(getattr(frame, AGG[agg])()[rate]), frame.by_group[rate])
        out["equalized_odds_diff"] = (
            fl.equalized_odds_difference(y, p, sensitive_features=sf),
            None,
        )
        out["equalized_odds_ratio"] = (fl.equalized_odds_ratio(y, p, sensitive_features=sf), None)
        out["selection_rate"] = (fl.selection_rate(y, p), None)
    return out


@pytest.mark.slow  # 25 examples through every binary metric
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binary_data())
def test_binary_metrics_equal_fairlearn_and_sklearn(case: tuple[pd.DataFrame, Any]) -> None:
    df, pos = case
    controls = [
        control(k, k, {"dimension": "grp"}) for k in BINARY_FAIRNESS if k != "selection_rate"
    ]
    controls.append(control("selection_rate", "selection_rate"))
    controls += [control(k, k) for k in BINARY_PERFORMANCE]
    report = run(df, controls, target="y", prediction="yhat", pos_label=pos)
    y = (df["y"] == pos).to_numpy().astype(int)
    p = (df["yhat"] == pos).to_numpy().astype(int)
    sf = df["grp"]
    oracle = _binary_oracle(y, p, sf)
    all_fpr_zero = oracle["false_positive_rate_ratio"][1].max() == 0
    for key in BINARY_FAIRNESS:
        result = report[key]
        expected, per_group = oracle[key]
        if key in ("false_positive_rate_ratio", "equalized_odds_ratio") and all_fpr_zero:
            # 0/0: fairlearn returns nan (MetricFrame) or 1.0 (equalized_odds_ratio); ours
            # refuses to give a number
            assert result.status == "error", key
            assert "false positive rate is 0, so the ratio is undefined" in result.reason
            continue
        assert result.status != "error", (key, result.reason)
        assert result.actual_value == approx(expected), key
        if per_group is not None:
            ours = by_group(result)
            assert set(ours) == set(per_group.index), key
            for group, v in per_group.items():
                assert ours[group] == approx(v), (key, group)
    # the catalogue's named oracles for the selection-rate comparisons
    dp_diff = fl.demographic_parity_difference(y, p, sensitive_features=sf)
    dp_ratio = fl.demographic_parity_ratio(y, p, sensitive_features=sf)
    assert value_of(report, "demographic_parity_diff") == approx(dp_diff)
    assert value_of(report, "demographic_parity_ratio") == approx(dp_ratio)
    assert value_of(report, "disparate_impact") == approx(dp_ratio)
    # performance on the labels as written (strings included)
    yt, yp = df["y"], df["yhat"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected_perf = {
            "accuracy_score": skm.accuracy_score(yt, yp),
            "balanced_accuracy": skm.balanced_accuracy_score(yt, yp),
            "precision_score": skm.precision_score(yt, yp, pos_label=pos),
            "recall_score": skm.recall_score(yt, yp, pos_label=pos),
            "f1_score": skm.f1_score(yt, yp, pos_label=pos),
        }
    for key, expected in expected_perf.items():
        assert value_of(report, key) == approx(expected), key


@FAST
@given(binary_data())
def test_data_audit_disparate_impact_reads_the_target(case: tuple[pd.DataFrame, Any]) -> None:
    df, pos = case
    # no prediction bound: a data audit of the target, even though a 'yhat' column exists
    report = run(
        df, [control("di", "disparate_impact", {"dimension": "grp"})], target="y", pos_label=pos
    )
    y = (df["y"] == pos).to_numpy().astype(int)
    expected = fl.demographic_parity_ratio(y, y, sensitive_features=df["grp"])
    assert value_of(report, "di") == approx(expected)
    assert report["di"].metadata["details"]["outcome"] == {"role": "target", "column": "y"}
    assert "prediction" not in report["di"].metadata["bindings"]


@st.composite
def multiclass_data(draw: st.DrawFn) -> pd.DataFrame:
    """Every class occurs in the target at least once; labels are strings or 0..k-1."""
    k = draw(st.integers(3, 5))
    labels = [f"c{i}" for i in range(k)] if draw(st.booleans()) else list(range(k))
    index = st.integers(0, k - 1)
    extra = draw(st.integers(0, 40))
    y = list(range(k)) + draw(st.lists(index, min_size=extra, max_size=extra))
    p = draw(st.lists(index, min_size=len(y), max_size=len(y)))
    return pd.DataFrame({"y": [labels[i] for i in y], "yhat": [labels[i] for i in p]})


@FAST
@given(multiclass_data())
def test_multiclass_averages_equal_sklearn(df: pd.DataFrame) -> None:
    controls = [control("accuracy", "accuracy_score"), control("balanced", "balanced_accuracy")]
    for name in ("precision_score", "recall_score", "f1_score"):
        for average in ("macro", "micro", "weighted"):
            controls.append(control(f"{name}-{average}", name, params={"average": average}))
    report = run(df, controls, target="y", prediction="yhat")
    y, p = df["y"], df["yhat"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert value_of(report, "accuracy") == approx(skm.accuracy_score(y, p))
        assert value_of(report, "balanced") == approx(skm.balanced_accuracy_score(y, p))
        for name in ("precision_score", "recall_score", "f1_score"):
            for average in ("macro", "micro", "weighted"):
                expected = getattr(skm, name)(y, p, average=average, zero_division=0)
                assert value_of(report, f"{name}-{average}") == approx(expected), (name, average)


SCORES = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])  # few values: many ties


@FAST
@given(
    st.lists(st.tuples(st.integers(0, 1), SCORES | st.floats(0, 1)), min_size=2, max_size=60),
    st.booleans(),
)
def test_roc_auc_equals_sklearn_with_ties(rows: list[tuple[int, float]], strings: bool) -> None:
    rows = [(1, 0.5), (0, 0.5), *rows]  # both classes, and at least one tie across them
    y = np.array([r[0] for r in rows])
    df = pd.DataFrame({"y": y, "s": [r[1] for r in rows]})
    pos: Any = 1
    if strings:
        df["y"] = df["y"].map({1: "yes", 0: "no"})
        pos = "yes"
    report = run(df, [control("auc", "roc_auc")], target="y", score="s", pos_label=pos)
    assert value_of(report, "auc") == approx(skm.roc_auc_score(y, df["s"]))


FLOATS = st.floats(-1000, 1000, allow_nan=False, allow_subnormal=False)


@FAST
@given(
    st.lists(
        st.tuples(FLOATS, FLOATS, st.sampled_from(["a", "b b", "c", "Z"])), min_size=3, max_size=60
    ),
)
def test_regression_metrics_equal_sklearn(rows: list[tuple[float, float, str]]) -> None:
    df = pd.DataFrame(rows, columns=["y", "yhat", "grp"])
    controls = [control(k, k) for k in ("mae", "rmse", "r2_score")]
    if df["grp"].nunique() >= 2:
        controls.append(control("mae_group_diff", "mae_group_diff", {"dimension": "grp"}))
    report = run(df, controls, target="y", prediction="yhat")
    y, p = df["y"], df["yhat"]
    assert value_of(report, "mae") == approx(skm.mean_absolute_error(y, p))
    assert value_of(report, "rmse") == approx(skm.root_mean_squared_error(y, p))
    if np.ptp(y) > 1e-3:
        assert value_of(report, "r2_score") == approx(skm.r2_score(y, p))
    elif np.ptp(y) == 0:
        assert report["r2_score"].status == "error"
        assert "the target is constant" in report["r2_score"].reason
    if df["grp"].nunique() >= 2:
        frame = fl.MetricFrame(
            metrics=skm.mean_absolute_error, y_true=y, y_pred=p, sensitive_features=df["grp"]
        )
        result = report["mae_group_diff"]
        assert value_of(report, "mae_group_diff") == approx(frame.difference())
        ours = by_group(result)
        for group, v in frame.by_group.items():
            assert ours[group] == approx(v)


# --- labels that are not a contiguous run of integers ---------------------------------------
GAPPED = pd.DataFrame({"y": [0, 0, 5, 5, 5, 0], "yhat": [0, 5, 5, 0, 5, 0], "grp": list("aaabbb")})


@pytest.mark.parametrize(
    ("ctl", "expected"),
    [
        # 3 zeros / 3 fives
        (control("c", "class_imbalance"), 1.0),
        (
            control("c", "f1_score", params={"average": "macro"}),
            skm.f1_score(GAPPED["y"], GAPPED["yhat"], average="macro"),
        ),
        (
            control("c", "precision_score", params={"average": "macro"}),
            skm.precision_score(GAPPED["y"], GAPPED["yhat"], average="macro"),
        ),
        # recall of class 0: a 1/2, b 1/1; of class 5: a 1/1, b 1/2 -> worst gap 0.5
        (control("c", "multiclass_equal_opportunity", {"dimension": "grp"}), 0.5),
    ],
    ids=["class_imbalance", "f1-macro", "precision-macro", "multiclass_equal_opportunity"],
)
def test_integer_labels_with_gaps(ctl: dict, expected: float) -> None:
    """Class labels 0 and 5: no class 1..4 exists, so none may count in any figure."""
    report = run(GAPPED, [ctl], target="y", prediction="yhat")
    assert value_of(report, "c") == approx(expected)


# --- German credit and a deterministic model ------------------------------------------------
FEATURES = ["Attribute2", "Attribute5", "Attribute8", "Attribute11", "Attribute13", "Attribute16"]
EDGES = [-math.inf, 25, 60, math.inf]


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    df = vl.datasets.load_german_credit(derived=True)
    x = df[FEATURES].to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    model = LogisticRegression(max_iter=1000).fit(x, df["class"] == 1)
    df["prediction"] = np.where(model.predict(x), 1, 2)
    df["score"] = model.predict_proba(x)[:, 1]
    df["age_band"] = pd.cut(df["age"], EDGES, right=False).astype(str)
    return df


def _binary(df: pd.DataFrame, column: str) -> np.ndarray:
    return (df[column] == 1).to_numpy().astype(int)


def test_german_disparate_impact_data_audit(credit: pd.DataFrame) -> None:
    controls = [
        control("di-gender", "disparate_impact", {"dimension": "gender"}),
        control("di-age", "disparate_impact", {"dimension": "age"}, {"bins": "25,60"}),
    ]
    report = run(credit, controls, target="class")
    y = _binary(credit, "class")
    bands = pd.cut(credit["age"], EDGES, right=False)
    assert value_of(report, "di-gender") == approx(
        fl.demographic_parity_ratio(y, y, sensitive_features=credit["gender"])
    )
    assert value_of(report, "di-age") == approx(
        fl.demographic_parity_ratio(y, y, sensitive_features=bands)
    )
    frame = fl.MetricFrame(metrics=fl.selection_rate, y_true=y, y_pred=y, sensitive_features=bands)
    expected = {
        "<25": frame.by_group.iloc[0],
        "[25, 60)": frame.by_group.iloc[1],
        ">=60": frame.by_group.iloc[2],
    }
    assert by_group(report["di-age"]) == pytest.approx(expected, rel=TOL, abs=TOL)
    sizes = {g: v["n"] for g, v in report["di-age"].metadata["groups"].items()}
    assert sizes == {"<25": 149, "[25, 60)": 800, ">=60": 51}


MODEL_METRICS = [
    "disparate_impact",
    "equal_opportunity_diff",
    "equalized_odds_diff",
    "equalized_odds_ratio",
    "predictive_parity_diff",
]


@pytest.mark.parametrize("dimension", ["gender", "age_band"])
def test_german_model_fairness_equals_fairlearn(credit: pd.DataFrame, dimension: str) -> None:
    controls = [control(k, k, {"dimension": dimension}) for k in MODEL_METRICS]
    report = run(credit, controls, target="class", prediction="prediction")
    y, p, sf = _binary(credit, "class"), _binary(credit, "prediction"), credit[dimension]
    tpr = fl.MetricFrame(metrics=fl.true_positive_rate, y_true=y, y_pred=p, sensitive_features=sf)
    ppv = fl.MetricFrame(metrics=skm.precision_score, y_true=y, y_pred=p, sensitive_features=sf)
    expected = {
        "disparate_impact": fl.demographic_parity_ratio(y, p, sensitive_features=sf),
        "equal_opportunity_diff": tpr.difference(),
        "equalized_odds_diff": fl.equalized_odds_difference(y, p, sensitive_features=sf),
        "equalized_odds_ratio": fl.equalized_odds_ratio(y, p, sensitive_features=sf),
        "predictive_parity_diff": ppv.difference(),
    }
    for key, value in expected.items():
        assert value_of(report, key) == approx(value), key
    assert by_group(report["equal_opportunity_diff"]) == pytest.approx(
        tpr.by_group.to_dict(), rel=TOL, abs=TOL
    )
    odds = report["equalized_odds_diff"].metadata["groups"]
    assert {g: v["tpr"] for g, v in odds.items()} == pytest.approx(tpr.by_group.to_dict())


def test_german_performance_and_auc(credit: pd.DataFrame) -> None:
    controls = [control(k, k) for k in BINARY_PERFORMANCE] + [control("roc_auc", "roc_auc")]
    report = run(credit, controls, target="class", prediction="prediction", score="score")
    y, p = credit["class"], credit["prediction"]
    assert value_of(report, "accuracy_score") == approx(skm.accuracy_score(y, p))
    assert value_of(report, "balanced_accuracy") == approx(skm.balanced_accuracy_score(y, p))
    assert value_of(report, "precision_score") == approx(skm.precision_score(y, p, pos_label=1))
    assert value_of(report, "recall_score") == approx(skm.recall_score(y, p, pos_label=1))
    assert value_of(report, "f1_score") == approx(skm.f1_score(y, p, pos_label=1))
    assert value_of(report, "roc_auc") == approx(skm.roc_auc_score(y == 1, credit["score"]))


def test_intersectional_dimension_equals_fairlearn(credit: pd.DataFrame) -> None:
    inputs = {"dimension": ["gender", "band"]}
    controls = [
        control("dp", "demographic_parity_diff", inputs, {"bins": "25,60"}),
        control("eo", "equal_opportunity_diff", inputs, {"bins": "25,60"}),
    ]
    report = run(credit, controls, target="class", prediction="prediction", band="age")
    y, p = _binary(credit, "class"), _binary(credit, "prediction")
    sf = credit[["gender", "age_band"]]
    assert value_of(report, "dp") == approx(
        fl.demographic_parity_difference(y, p, sensitive_features=sf)
    )
    tpr = fl.MetricFrame(metrics=fl.true_positive_rate, y_true=y, y_pred=p, sensitive_features=sf)
    assert value_of(report, "eo") == approx(tpr.difference())
    band_name = {"[-inf, 25.0)": "<25", "[25.0, 60.0)": "[25, 60)", "[60.0, inf)": ">=60"}
    expected = {f"{g} & {band_name[b]}": v for (g, b), v in tpr.by_group.items()}
    assert by_group(report["eo"]) == pytest.approx(expected, rel=TOL, abs=TOL)
    binding = report["dp"].metadata["bindings"]["dimension"]
    assert binding == {
        "variable": "gender,band",
        "columns": ["gender", "age"],
        "rule": "column+keyword",
    }


# --- confidence intervals --------------------------------------------------------------------
def _di(df: pd.DataFrame, **kwargs: Any) -> vl.ControlResult:
    report = run(
        df, [control("di", "disparate_impact", {"dimension": "gender"})], target="class", **kwargs
    )
    return report["di"]


def test_ci_is_reproducible_and_seeded(credit: pd.DataFrame) -> None:
    first = _di(credit, ci=True, n_boot=400, seed=7)
    again = _di(credit, ci=True, n_boot=400, seed=7)
    other = _di(credit, ci=True, n_boot=400, seed=8)
    ci = first.metadata["ci"]
    assert ci == again.metadata["ci"]
    assert (ci["low"], ci["high"]) != (other.metadata["ci"]["low"], other.metadata["ci"]["high"])
    assert ci["low"] < first.actual_value < ci["high"]  # 1000 rows: the estimate is inside
    assert (ci["n_boot"], ci["seed"], ci["level"]) == (400, 7, 0.95)
    assert ci["method"] == "multinomial_bootstrap_extreme_contrast"
    assert first.ci == (ci["low"], ci["high"])
    wider = _di(credit, ci=True, n_boot=400, seed=7, ci_level=0.99).metadata["ci"]
    assert wider["low"] <= ci["low"] and wider["high"] >= ci["high"]
    assert wider["level"] == 0.99


def test_ci_off(credit: pd.DataFrame) -> None:
    assert _di(credit, ci=False).metadata["ci"] is None
    assert _di(credit, ci=True, n_boot=0).metadata["ci"] is None


def test_ci_coverage_of_a_selection_rate_difference() -> None:
    """200 samples from a known population; about 95% of the intervals cover the truth."""
    rng = np.random.default_rng(20240601)
    rate = {"a": 0.6, "b": 0.45}
    truth = rate["a"] - rate["b"]
    policy = vl.load_policy(
        {
            "vl-policy": 1,
            "title": "coverage",
            "controls": [control("dp", "demographic_parity_diff", {"dimension": "grp"})],
        }
    )
    covered = 0
    for i in range(200):
        groups = rng.choice(["a", "b"], size=400)
        y = (rng.random(400) < np.where(groups == "a", rate["a"], rate["b"])).astype(int)
        frame = pd.DataFrame({"y": y, "grp": groups})
        result = vl.enforce(frame, policy, target="y", n_boot=300, seed=i, evidence=False)["dp"]
        ci = result.metadata["ci"]
        covered += ci["low"] <= truth <= ci["high"]
    assert 0.88 <= covered / 200 <= 0.99


# --- metrics without a third-party oracle, checked by hand -----------------------------------
def test_calibration_diff_by_hand() -> None:
    df = pd.DataFrame(
        {
            "y": [0, 1, 1, 1, 0],
            "s": [0.1, 0.15, 0.9, 0.55, 0.55],
            "grp": ["a", "a", "a", "b", "b"],
        }
    )
    report = run(
        df, [control("cal", "calibration_diff", {"dimension": "grp"})], target="y", score="s"
    )
    # a, 10 bins: bin 1 holds 0.1 and 0.15 (score sum 0.25, 1 positive) -> |0.25 - 1| = 0.75;
    #   bin 9 holds 0.9 (1 positive) -> |0.9 - 1| = 0.1; ECE_a = (0.75 + 0.1) / 3 = 0.28333...
    # b: bin 5 holds 0.55 and 0.55 (sum 1.1, 1 positive) -> |1.1 - 1| = 0.1; ECE_b = 0.1 / 2
    # diff = 0.85 / 3 - 0.05 = 0.23333...
    assert value_of(report, "cal") == approx(0.85 / 3 - 0.05)
    assert by_group(report["cal"]) == pytest.approx({"a": 0.85 / 3, "b": 0.05})


def test_multiclass_demographic_parity_by_hand() -> None:
    df = pd.DataFrame({"y": list("xxyz" + "xyyy"), "grp": ["a"] * 4 + ["b"] * 4})
    report = run(
        df, [control("mdp", "multiclass_demographic_parity", {"dimension": "grp"})], target="y"
    )
    # a: x 2/4, y 1/4, z 1/4;  b: x 1/4, y 3/4, z 0/4
    # gaps: x 0.25, y 0.5, z 0.25 -> worst 0.5
    assert value_of(report, "mdp") == approx(0.5)
    groups = report["mdp"].metadata["groups"]
    assert groups["a"]["classes"] == {"x": 2, "y": 1, "z": 1}


def test_multiclass_equal_opportunity_by_hand() -> None:
    df = pd.DataFrame(
        {
            "y": list("xxyyz" + "xxyyzz"),
            "yhat": list("xyyyz" + "xxyzzz"),
            "grp": ["a"] * 5 + ["b"] * 6,
        }
    )
    # recall a: x 1/2, y 2/2, z 1/1;  b: x 2/2, y 1/2, z 2/2
    # gaps: x 0.5, y 0.5, z 0 -> worst 0.5
    report = run(
        df,
        [control("meo", "multiclass_equal_opportunity", {"dimension": "grp"})],
        target="y",
        prediction="yhat",
    )
    assert value_of(report, "meo") == approx(0.5)


def test_group_and_class_counts_by_hand() -> None:
    df = pd.DataFrame({"y": [1, 1, 1, 0] * 2 + [1, 1], "grp": list("aaabbbbbcc")})
    controls = [
        control("imbalance", "class_imbalance"),
        control("size", "group_size_min", {"dimension": "grp"}),
        control("share", "group_share_min", {"dimension": "grp"}),
    ]
    report = run(df, controls, target="y")
    assert value_of(report, "imbalance") == approx(2 / 8)  # 2 zeros / 8 ones
    assert value_of(report, "size") == 2  # a 3, b 5, c 2
    assert value_of(report, "share") == approx(0.2)  # 2 / 10


def test_frame_quality_metrics_by_hand() -> None:
    df = pd.DataFrame(
        {
            "a": [1.0, np.nan, 3.0, 3.0, 1.0],
            "b": ["x", "y", None, "z", "x"],
            "c": [1, 2, 3, 3, 1],
        }
    )
    controls = [
        control("complete", "data_completeness"),
        control("complete-ac", "data_completeness", params={"columns": "a,c"}),
        control("missing", "missing_rate_max"),
        control("dup", "duplicate_rate"),
        control("dup-ac", "duplicate_rate", params={"columns": ["a", "c"]}),
    ]
    report = run(df, controls)
    assert value_of(report, "complete") == approx(1 - 2 / 15)  # 2 missing of 5 x 3 cells
    assert value_of(report, "complete-ac") == approx(1 - 1 / 10)  # 1 of 5 x 2
    assert value_of(report, "missing") == approx(1 / 5)  # a and b each miss 1 of 5
    assert value_of(report, "dup") == approx(1 / 5)  # row 4 repeats row 0
    assert value_of(report, "dup-ac") == approx(2 / 5)  # rows 3 and 4 repeat on (a, c)


def test_privacy_metrics_by_hand() -> None:
    df = pd.DataFrame(
        {
            "zip": ["1000", "1000", "1000", "2000", "2000", "3000", "3000"],
            "band": ["y", "y", "y", "o", "o", "o", "o"],
            "diagnosis": ["flu", "cold", "flu", "flu", "flu", "cold", "asthma"],
        }
    )
    qi = {"quasi_identifiers": "zip,band"}
    controls = [control("k", "k_anonymity", params=qi), control("l", "l_diversity", params=qi)]
    report = run(df, controls, sensitive="diagnosis")
    # classes: (1000, y) 3 rows {flu, cold}; (2000, o) 2 rows {flu}; (3000, o) 2 rows {cold, asthma}
    assert value_of(report, "k") == 2
    assert value_of(report, "l") == 1
    assert report["l"].metadata["details"]["least_diverse_class"] == ["2000", "o"]


def test_mean_prediction_diff_by_hand() -> None:
    df = pd.DataFrame({"yhat": [1.0, 2.0, 3.0, 10.0, 20.0], "grp": list("aaabb")})
    report = run(
        df, [control("mp", "mean_prediction_diff", {"dimension": "grp"})], prediction="yhat"
    )
    # mean a = 6 / 3 = 2, mean b = 30 / 2 = 15 -> 13
    assert value_of(report, "mp") == approx(13.0)
    assert by_group(report["mp"]) == {"a": 2.0, "b": 15.0}
