"""The catalogue is the registry: every key resolves, dispatch comes from the entry, and the
keys added for the Venturalítica SDK's registry compute what their formulas say.

Where fairlearn or scikit-learn defines the metric the value is compared with it (to 1e-9,
hypothesis-drawn data); the SDK-only keys are compared with the SDK's formula as coded,
re-computed here with plain pandas, or with values worked out by hand in the comments.
"""

from __future__ import annotations

import warnings
from typing import Any

import fairlearn.metrics as fl
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import sklearn.metrics as skm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vl_jupyter as vl
from vl_jupyter.errors import VLWarning
from vl_jupyter.metrics import CATALOGUE, canonical_key, get_spec
from vl_jupyter.metrics._catalogue import COUNT_STATISTICS, SDK_REGISTRY_KEYS

TOL = 1e-9
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def approx(x: float) -> Any:
    return pytest.approx(x, rel=TOL, abs=TOL)


def control(cid: str, metric: str, inputs: dict | None = None, params: dict | None = None) -> dict:
    """A control that passes in the metric's direction (no direction warning)."""
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
    return vl.enforce(
        df, {"vl-policy": 1, "title": "registry", "controls": controls}, evidence=False, **kwargs
    )


def value_of(report: vl.Report, cid: str) -> float:
    result = report[cid]
    assert result.status != "error", (cid, result.reason)
    return result.actual_value


def sdk_policy(*controls: tuple[str, str, str, str, dict[str, str]]) -> dict:
    """An assessment-plan policy as the SDK's tutorials write it: props, string values."""
    requirements = []
    for cid, metric, operator, threshold, props in controls:
        items = [
            {"name": "metric_key", "value": metric},
            {"name": "operator", "value": operator},
            {"name": "threshold", "value": threshold},
        ]
        items += [{"name": k, "value": v} for k, v in props.items()]
        requirements.append({"control-id": cid, "props": items})
    return {
        "assessment-plan": {
            "metadata": {"title": "sdk"},
            "control-implementations": [{"implemented-requirements": requirements}],
        }
    }


# --- the registry is whole ---------------------------------------------------------------------
def test_every_sdk_registry_key_resolves() -> None:
    assert len(SDK_REGISTRY_KEYS) == len(set(SDK_REGISTRY_KEYS)) == 56
    assert [k for k in SDK_REGISTRY_KEYS if canonical_key(k) is None] == []


def test_every_sdk_key_documents_the_sdk_meaning() -> None:
    undocumented = [k for k in SDK_REGISTRY_KEYS if not get_spec(k).sdk]
    assert undocumented == []


def test_every_entry_has_a_computation_of_its_kind() -> None:
    for spec in CATALOGUE.values():
        assert spec.kind in ("count", "measure", "unsupported"), spec.key
        assert callable(spec.compute) or spec.unsupported, spec.key
        if spec.kind == "count":
            assert spec.statistic in COUNT_STATISTICS
        for name, _ in spec.sdk_defaults:
            assert spec.param(name) is not None, (spec.key, name)


UNSUPPORTED = [k for k, s in CATALOGUE.items() if s.unsupported]


def test_the_keys_that_resolve_to_errors() -> None:
    assert sorted(UNSUPPORTED) == [
        "causal_fairness_diagnostic",
        "counterfactual_fairness",
        "fairness_through_awareness",
        "multiclass_confusion_metrics",
        "path_decomposition",
        "subtitle_diversity",
    ]


@pytest.mark.parametrize("key", UNSUPPORTED)
def test_unsupported_key_loads_and_is_an_error_saying_why(key: str) -> None:
    df = pd.DataFrame({"y": [0, 1, 1, 0], "g": list("aabb")})
    report = run(df, [control("c", key)], target="y")
    result = report["c"]
    assert result.status == "error" and result.actual_value is None and not report.passed
    assert result.reason.startswith(CATALOGUE[key].unsupported)
    assert result.metadata["error_code"] == "METRIC_NOT_COMPUTED"


_I = np.arange(36)
RICH = pd.DataFrame(
    {
        # each group (a, b, c) has every class in the target and predicts every class
        "y": (_I // 3) % 3,
        "p": ((_I // 3) % 3 + (_I % 5 == 0)) % 3,
        "g": np.array(list("abc"))[_I % 3],
        "h": np.array(list("xxyy"))[_I % 4],
        "s": np.linspace(0.1, 0.9, 36),
        "zip": ["1000", "2000"] * 18,
        "dx": ["flu", "cold", "flu", "asthma"] * 9,
        "page_number": range(36),
        "chunk_number": [1, 2, 3] * 12,
    }
)
RICH_PARAMS = {
    "k_anonymity": {"quasi_identifiers": "zip,h"},
    "l_diversity": {"quasi_identifiers": "zip,h", "sensitive_attribute": "dx"},
    "t_closeness": {"quasi_identifiers": "zip,h", "sensitive_attribute": "dx"},
    "sample_adequacy_ratio": {"required_rows": 30},
    "worst_cell_score": {"dimensions": "g,h"},
    "precision_score": {"average": "macro"},
    "recall_score": {"average": "macro"},
    "f1_score": {"average": "macro"},
}
BINARY_ONLY = {"roc_auc", "calibration_diff"}  # read a 0/1 target against a probability


@pytest.mark.parametrize(
    "key", sorted(k for k, s in CATALOGUE.items() if not s.unsupported and k not in BINARY_ONLY)
)
def test_every_computed_key_measures_a_frame_without_an_internal_error(key: str) -> None:
    """A smoke test of the dispatch: each entry runs end to end and gives a finite number."""
    spec = CATALOGUE[key]
    inputs = {"dimension": "g"} if spec.grouped else None
    binary = spec.statistic in ("outcome", "confusion") or key == "class_imbalance"
    df = (
        RICH.assign(y=(RICH["y"] > 0).astype(int), p=(RICH["p"] > 0).astype(int))
        if binary
        else RICH
    )
    controls = [control("c", key, inputs, RICH_PARAMS.get(key))]
    report = run(df, controls, target="y", prediction="p", score="s")
    if spec.statistic == "drift":  # compares with a baseline: the same frame's own tables
        assert report["c"].status == "skipped" and "drift_table" in report["c"].metadata
        report = run(df, controls, target="y", prediction="p", score="s", baseline=report)
    result = report["c"]
    assert result.status != "error", result.reason
    assert np.isfinite(result.actual_value)


# --- multiclass: fairlearn / scikit-learn one-vs-rest ------------------------------------------
@st.composite
def multiclass_groups(draw: st.DrawFn) -> pd.DataFrame:
    """3-4 classes, 2-4 groups; every group has every class in the target and predicts each."""
    k = draw(st.integers(3, 4))
    groups = draw(st.lists(st.sampled_from("abcdXY"), min_size=2, max_size=4, unique=True))
    labels = [f"c{i}" for i in range(k)] if draw(st.booleans()) else list(range(k))
    rows: list[tuple[Any, Any, str]] = []
    for g in groups:
        for i in range(k):  # each class once true and once predicted, correctly
            rows.append((labels[i], labels[i], g))
        extra = draw(st.integers(0, 20))
        for _ in range(extra):
            rows.append(
                (labels[draw(st.integers(0, k - 1))], labels[draw(st.integers(0, k - 1))], g)
            )
    return pd.DataFrame(rows, columns=["y", "p", "g"])


def _per_class(df: pd.DataFrame, metric: Any, on: str) -> dict[Any, float]:
    """Between-group range of a scikit-learn / fairlearn ``metric`` for each class,
    one-vs-rest (what fairlearn's ``MetricFrame(...).difference()`` gives, without its
    per-call overhead)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cls in sorted(df[on].unique(), key=str):
            values = [
                metric((part["y"] == cls).astype(int), (part["p"] == cls).astype(int))
                for _, part in df.groupby("g")
            ]
            out[cls] = float(max(values) - min(values))
    return out


def test_per_class_oracle_is_fairlearns_difference() -> None:
    df = pd.DataFrame({"y": list("xyzxyz"), "p": list("xyyxzz"), "g": list("aaabbb")})
    frame = fl.MetricFrame(
        metrics=skm.recall_score,
        y_true=(df["y"] == "y").astype(int),
        y_pred=(df["p"] == "y").astype(int),
        sensitive_features=df["g"],
    )
    assert _per_class(df, skm.recall_score, "y")["y"] == approx(frame.difference())


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multiclass_groups())
def test_multiclass_fairness_equals_fairlearn_one_vs_rest(df: pd.DataFrame) -> None:
    controls = [
        control("meo", "multiclass_equal_opportunity", {"dimension": "g"}),
        control("macro", "macro_equal_opportunity_multiclass", {"dimension": "g"}),
        control("ppm", "predictive_parity_multiclass", {"dimension": "g"}),
        control(
            "ppw", "predictive_parity_multiclass", {"dimension": "g"}, {"strategy": "weighted"}
        ),
        control("mdp", "multiclass_demographic_parity", {"dimension": "g"}),
        control(
            "mdpm", "multiclass_demographic_parity", {"dimension": "g"}, {"aggregation": "macro"}
        ),
        control("wdp", "weighted_demographic_parity_multiclass", {"dimension": "g"}),
        control(
            "wdpw",
            "weighted_demographic_parity_multiclass",
            {"dimension": "g"},
            {"strategy": "weighted"},
        ),
        control("meodds", "micro_equalized_odds_multiclass", {"dimension": "g"}),
    ]
    report = run(df, controls, target="y", prediction="p")
    recall = _per_class(df, skm.recall_score, "y")
    precision = _per_class(df, skm.precision_score, "p")
    selection = _per_class(df, fl.selection_rate, "p")
    share = df["p"].value_counts(normalize=True)
    assert value_of(report, "meo") == approx(max(recall.values()))
    assert value_of(report, "macro") == approx(max(recall.values()))
    assert value_of(report, "ppm") == approx(max(precision.values()))
    assert value_of(report, "ppw") == approx(sum(precision[c] * share[c] for c in precision))
    assert value_of(report, "mdp") == approx(max(selection.values()))
    assert value_of(report, "mdpm") == approx(np.mean(list(selection.values())))
    assert value_of(report, "wdp") == approx(max(selection.values()))
    assert value_of(report, "wdpw") == approx(sum(selection[c] * share[c] for c in selection))
    accuracy = [skm.accuracy_score(part["y"], part["p"]) for _, part in df.groupby("g")]
    assert value_of(report, "meodds") == approx(2 * (max(accuracy) - min(accuracy)))


def test_multiclass_class_only_predicted_has_no_recall_and_does_not_count() -> None:
    # class 'z' is predicted once but never true: recall of 'z' is 0/0 everywhere, not a gap
    df = pd.DataFrame(
        {"y": list("xyxy" + "xyxy"), "p": list("xyxz" + "xyyy"), "g": list("aaaabbbb")}
    )
    report = run(
        df,
        [control("meo", "multiclass_equal_opportunity", {"dimension": "g"})],
        target="y",
        prediction="p",
    )
    # recall a: x 2/2, y 1/2; b: x 1/2, y 2/2 -> gaps x 0.5, y 0.5
    assert value_of(report, "meo") == approx(0.5)


def test_predictive_parity_multiclass_undefined_group_is_an_error() -> None:
    # group b never predicts 'y' while a does: the precision of 'y' in b is 0/0
    df = pd.DataFrame(
        {"y": list("xyxy" + "xyxy"), "p": list("xyxy" + "xxxx"), "g": list("aaaabbbb")}
    )
    result = run(
        df,
        [control("ppm", "predictive_parity_multiclass", {"dimension": "g"})],
        target="y",
        prediction="p",
    )["ppm"]
    assert result.status == "error"
    assert (
        result.reason
        == "undefined: some group never predicts a class that others do (precision is 0/0)"
    )


def test_predictive_parity_is_the_binary_precision_gap() -> None:
    df = pd.DataFrame(
        {"y": [1, 0, 1, 1, 0, 1, 0, 0], "p": [1, 1, 1, 0, 1, 1, 0, 1], "g": list("aaaabbbb")}
    )
    report = run(
        df, [control("pp", "predictive_parity", {"dimension": "g"})], target="y", prediction="p"
    )
    frame = fl.MetricFrame(
        metrics=skm.precision_score, y_true=df["y"], y_pred=df["p"], sensitive_features=df["g"]
    )
    assert value_of(report, "pp") == approx(frame.difference())  # a 2/3, b 1/3
    assert report["pp"].metadata["metric_as_written"] == "predictive_parity"
    assert report["pp"].metric_key == "predictive_parity_diff"


# --- the SDK's other meanings, reported beside ours ---------------------------------------------
BINARY = pd.DataFrame(
    {
        "y": [1, 1, 0, 0, 1, 1, 1, 0, 0, 0],
        "p": [1, 0, 1, 0, 1, 1, 1, 0, 0, 1],
        "g": list("aaaaabbbbb"),
    }
)


def test_equalized_odds_ratio_reports_the_sdk_sum_of_gaps() -> None:
    report = run(
        BINARY,
        [control("eor", "equalized_odds_ratio", {"dimension": "g"})],
        target="y",
        prediction="p",
    )
    y, p, g = BINARY["y"], BINARY["p"], BINARY["g"]
    assert value_of(report, "eor") == approx(fl.equalized_odds_ratio(y, p, sensitive_features=g))
    # a: TPR 1/2, FPR 1/2; b: TPR 3/3, FPR 1/2 -> SDK: (1 - 1/2) + (1/2 - 1/2) = 0.5
    assert report["eor"].metadata["details"]["sdk_equalized_odds_ratio"] == approx(0.5)


def test_equal_opportunity_diff_reports_the_sdk_0_8_1_meaning() -> None:
    report = run(
        BINARY,
        [control("eod", "equal_opportunity_diff", {"dimension": "g"})],
        target="y",
        prediction="p",
    )
    y, p, g = BINARY["y"], BINARY["p"], BINARY["g"]
    tpr = fl.MetricFrame(metrics=fl.true_positive_rate, y_true=y, y_pred=p, sensitive_features=g)
    assert value_of(report, "eod") == approx(tpr.difference())  # 0.8.2 and the field: 0.5
    details = report["eod"].metadata["details"]
    assert details["sdk_0_8_1_equal_opportunity_diff"] == approx(
        fl.equalized_odds_difference(y, p, sensitive_features=g)
    )


def test_equalized_odds_ratio_with_lt_warns_about_the_sdk_meaning() -> None:
    text = sdk_policy(("eor", "equalized_odds_ratio", "lt", "0.2", {"input.dimension": "g"}))
    with pytest.warns(VLWarning, match="equalized_odds_ratio means fairlearn's ratio"):
        policy = vl.load_policy(text)
    assert any(
        "the Venturalítica SDK meant the sum of the TPR and FPR gaps" in w for w in policy.warnings
    )


# --- the SDK default its stored outputs depend on ------------------------------------------------
SMALL_GROUP = pd.DataFrame(
    {
        "y": [*(1, 1, 0, 1, 0, 1), *(1, 0, 0, 0, 1, 0), *(0, 0, 0)],  # a 4/6, b 2/6, c 0/3
        "g": ["a"] * 6 + ["b"] * 6 + ["c"] * 3,
    }
)


def test_disparate_impact_from_an_sdk_dialect_ignores_groups_under_five_rows() -> None:
    policy = sdk_policy(("di", "disparate_impact", "gt", "0.8", {"input.dimension": "g"}))
    result = vl.enforce(SMALL_GROUP, policy, target="y", ci=False, evidence=False)["di"]
    kept = SMALL_GROUP[SMALL_GROUP["g"] != "c"]
    # a 4/6, b 2/6 -> 0.5, as the SDK (fairlearn's demographic_parity_ratio on groups >= 5)
    assert result.actual_value == approx(
        fl.demographic_parity_ratio(kept["y"], kept["y"], sensitive_features=kept["g"])
    )
    assert result.actual_value == approx(0.5)
    assert result.metadata["excluded_groups"] == {"c": 3}
    assert result.metadata["params"]["min_group_size"] == 5


def test_disparate_impact_native_keeps_small_groups_and_own_value_wins() -> None:
    native = run(SMALL_GROUP, [control("di", "disparate_impact", {"dimension": "g"})], target="y")[
        "di"
    ]
    assert native.status != "error" and native.actual_value == 0.0  # c selects nobody
    assert native.metadata["excluded_groups"] == {}
    policy = sdk_policy(
        ("di", "disparate_impact", "gt", "0.8", {"input.dimension": "g", "min_group_size": "1"})
    )
    own = vl.enforce(SMALL_GROUP, policy, target="y", ci=False, evidence=False)["di"]
    assert own.actual_value == 0.0 and own.metadata["excluded_groups"] == {}
    sdk = sdk_policy(("di", "disparate_impact", "gt", "0.8", {"input.dimension": "g"}))
    called = vl.enforce(SMALL_GROUP, sdk, target="y", min_group_size=1, ci=False, evidence=False)
    assert called["di"].actual_value == 0.0 and called["di"].metadata["excluded_groups"] == {}


# --- per-case scores: the SDK's segmentation formulas, re-computed with pandas ----------------
@st.composite
def scored_groups(draw: st.DrawFn) -> pd.DataFrame:
    groups = draw(
        st.lists(st.sampled_from(["f", "m", "x y", "Z"]), min_size=2, max_size=4, unique=True)
    )
    rows = []
    for g in groups:
        for s in draw(st.lists(st.floats(0.05, 1.0), min_size=1, max_size=12)):
            rows.append((s, g, draw(st.sampled_from(["ge", "si"]))))
    return pd.DataFrame(rows, columns=["dice", "g", "scanner"])


SCORE_KEYS = [
    "mean_score", "mean_nsd", "max_score", "max_hd95", "min_group_score", "worst_group_score",
    "group_score_gap", "score_gap", "score_ratio", "score_std", "score_cv", "score_skew",
    "essp", "es_dice", "es_iou", "essp_stdev", "worst_cell_score",
]  # fmt: skip


def _sdk_skew(arr: np.ndarray) -> float:
    """The SDK's _skewness as coded: population skewness, 0 for < 3 groups or no spread."""
    if arr.size < 3 or arr.std() == 0:
        return 0.0
    return float(np.mean(((arr - arr.mean()) / arr.std()) ** 3))


def test_sdk_skew_is_scipys_population_skewness() -> None:
    values = np.array([0.9, 0.5, 0.75, 0.6])
    assert _sdk_skew(values) == approx(scipy.stats.skew(values, bias=True))


def _sdk_scores(df: pd.DataFrame) -> dict[str, float]:
    """The SDK's segmentation metrics as coded (assurance/segmentation), with pandas."""
    means = df.groupby("g")["dice"].mean()
    overall = df["dice"].mean()
    std = float(means.to_numpy().std())
    cells = df.groupby(["g", "scanner"])["dice"].mean()
    return {
        "mean_score": overall, "mean_nsd": overall, "max_score": df["dice"].max(),
        "max_hd95": df["dice"].max(), "min_group_score": means.min(), "worst_group_score": means.min(),
        "group_score_gap": means.max() - means.min(), "score_gap": means.max() - means.min(),
        "score_ratio": means.min() / means.max(), "score_std": std,
        "score_cv": std / means.mean(),
        "score_skew": _sdk_skew(means.to_numpy()),
        "essp": overall / (1 + np.abs(overall - means).sum()),
        "es_dice": overall / (1 + np.abs(overall - means).sum()),
        "es_iou": overall / (1 + np.abs(overall - means).sum()),
        "essp_stdev": overall / (1 + std), "worst_cell_score": cells.min(),
    }  # fmt: skip


@FAST
@given(scored_groups())
def test_score_family_equals_the_sdk_formula(df: pd.DataFrame) -> None:
    controls = [
        control(k, k, {"dimension": "g"} if get_spec(k).grouped else None,
                {"dimensions": "g,scanner"} if k == "worst_cell_score" else None)
        for k in SCORE_KEYS
    ]  # fmt: skip
    report = run(df, controls, score="dice")
    expected = _sdk_scores(df)
    for key in SCORE_KEYS:
        assert value_of(report, key) == pytest.approx(expected[key], rel=1e-9, abs=1e-9), key
    assert {
        g: v["value"] for g, v in report["group_score_gap"].metadata["groups"].items()
    } == pytest.approx(df.groupby("g")["dice"].mean().to_dict())


def test_subgroup_disparity_measures_are_the_named_keys() -> None:
    df = pd.DataFrame({"dice": [0.9, 0.8, 0.7, 0.5, 0.6, 0.95], "g": list("aabbcc")})
    measures = ["gap", "ratio", "std", "cv", "worst_group", "skew"]
    named = {"gap": "score_gap", "ratio": "score_ratio", "std": "score_std", "cv": "score_cv",
             "worst_group": "min_group_score", "skew": "score_skew"}  # fmt: skip
    controls = [
        control(f"sub-{m}", "subgroup_disparity", {"dimension": "g"}, {"measure": m})
        for m in measures
    ]
    controls += [control(named[m], named[m], {"dimension": "g"}) for m in measures]
    report = run(df, controls, score="dice")
    for m in measures:
        assert value_of(report, f"sub-{m}") == approx(value_of(report, named[m])), m
    # means a 0.85, b 0.6, c 0.775 -> gap 0.25
    assert value_of(report, "sub-gap") == approx(0.25)


def test_score_family_has_a_normal_approximation_interval() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"dice": rng.uniform(0.6, 1.0, 400), "g": rng.choice(["a", "b"], 400)})
    result = vl.enforce(df, {"vl-policy": 1, "controls": [control("gap", "group_score_gap", {"dimension": "g"})]},
                        score="dice", evidence=False, n_boot=300)["gap"]  # fmt: skip
    ci = result.metadata["ci"]
    assert ci["method"] == "normal_approximation_extreme_contrast" and ci["n_boot"] == 300
    assert ci["low"] < result.actual_value < ci["high"]
    maxed = vl.enforce(
        df, {"vl-policy": 1, "controls": [control("m", "max_score")]}, score="dice", evidence=False
    )["m"]
    assert maxed.metadata["ci"] is None  # the largest case describes this sample


def test_sdk_policy_binds_the_score_with_a_score_prop() -> None:
    """The SDK's segmentation policies write `score: Dice` as a prop, not input.score."""
    df = pd.DataFrame({"Dice": [0.9, 0.8, 0.7, 0.5], "age_group": ["old", "old", "young", "young"]})
    policy = sdk_policy(
        ("dice", "mean_score", "gt", "0.85", {"score": "Dice"}),
        ("gap", "group_score_gap", "lt", "0.05", {"input.dimension": "age_group", "score": "Dice"}),
    )
    report = vl.enforce(df, policy, ci=False, evidence=False)
    assert report["dice"].actual_value == approx(0.725) and report["dice"].status == "fail"
    assert report["gap"].actual_value == approx(0.85 - 0.6)
    assert report["gap"].metadata["bindings"]["score"]["columns"] == ["Dice"]


def test_worst_cell_score_needs_dimensions() -> None:
    df = pd.DataFrame({"dice": [0.9, 0.8], "g": ["a", "b"]})
    result = run(df, [control("c", "worst_cell_score")], score="dice")["c"]
    assert result.status == "error"
    assert "worst_cell_score needs the dimensions parameter" in result.reason


# --- privacy, data and benchmark keys: by hand ---------------------------------------------------
def test_t_closeness_by_hand() -> None:
    df = pd.DataFrame(
        {
            "zip": ["1", "1", "1", "1", "2", "2", "2", "2"],
            "dx": ["flu", "flu", "flu", "cold", "cold", "cold", "flu", "cold"],
        }
    )
    report = run(
        df,
        [
            control(
                "t", "t_closeness", params={"quasi_identifiers": "zip", "sensitive_attribute": "dx"}
            )
        ],
    )
    # overall flu 4/8, cold 4/8; zip 1: flu 3/4 -> TV = ½(|¾-½| + |¼-½|) = 0.25; zip 2 the same
    assert value_of(report, "t") == approx(0.25)
    role = run(df, [control("t", "t_closeness", {"sensitive": "dx"}, {"quasi_identifiers": "zip"})])
    assert value_of(role, "t") == approx(0.25)


def test_l_diversity_reads_the_sdk_sensitive_attribute_param() -> None:
    df = pd.DataFrame({"zip": ["1", "1", "2", "2"], "dx": ["flu", "cold", "flu", "flu"]})
    report = run(
        df,
        [
            control(
                "l", "l_diversity", params={"quasi_identifiers": "zip", "sensitive_attribute": "dx"}
            )
        ],
    )
    assert value_of(report, "l") == 1.0
    by_name = run(
        df.rename(columns={"dx": "sensitive"}),
        [control("l", "l_diversity", params={"quasi_identifiers": "zip"})],
    )
    assert value_of(by_name, "l") == 1.0  # a column named after the role, as every role binds
    missing = run(df, [control("l", "l_diversity", params={"quasi_identifiers": "zip"})])["l"]
    assert missing.status == "error" and "l_diversity needs the sensitive column" in missing.reason


def test_data_minimization_by_hand_and_by_whole_words() -> None:
    df = pd.DataFrame(
        columns=["Age", "residence_since", "customer_id", "gender", "amount", "emailAddress"]
    )
    df.loc[0] = [30, 2, 7, "f", 100.0, "a@b"]
    report = run(df, [control("dm", "data_minimization")])
    # whole words: Age, customer_id (id), gender, emailAddress (email); not residence_since
    assert value_of(report, "dm") == approx(1 - 4 / 6)
    details = report["dm"].metadata["details"]
    assert details["sensitive_columns"] == ["Age", "customer_id", "gender", "emailAddress"]
    assert details["guessed"] is True
    assert report["dm"].metadata["warnings"] == [
        "no sensitive_columns given: guessed from column names (Age, customer_id, gender, "
        "emailAddress); name them to be exact"
    ]
    named = run(
        df, [control("dm", "data_minimization", params={"sensitive_columns": "Age,gender"})]
    )
    assert value_of(named, "dm") == approx(1 - 2 / 6) and named["dm"].metadata["warnings"] == []


def test_sample_adequacy_provenance_coverage_and_chunks_by_hand() -> None:
    df = pd.DataFrame(
        {
            "report": ["r1", "r1", "r1", "r2", "r2", None],
            "chunk": [1, 2, 2, 1, 1, 3],
            "page_number": [1, 2, None, 4, 5, 6],
            "chunk_number": [1, 1, 1, None, 1, 1],
        }
    )
    controls = [
        control("sar", "sample_adequacy_ratio", params={"required_rows": 4}),
        control("prov", "provenance_completeness"),
        control("prov-page", "provenance_completeness", params={"fields": "page_number"}),
        control("cov", "report_coverage", {"target": "report"}),
        control("chunks", "chunk_diversity", {"target": "report", "dimension": "chunk"}),
    ]
    report = run(df, controls)
    assert value_of(report, "sar") == approx(6 / 4)
    assert value_of(report, "prov") == approx(4 / 6)  # rows 2 and 3 miss a field
    assert value_of(report, "prov-page") == approx(5 / 6)
    assert value_of(report, "cov") == approx(2 / 6)  # r1, r2 (a missing report is none)
    assert value_of(report, "chunks") == approx((2 + 1) / 2)  # r1 {1, 2}, r2 {1}


def test_provenance_without_its_columns_is_an_error_not_zero() -> None:
    result = run(pd.DataFrame({"a": [1, 2]}), [control("p", "provenance_completeness")])["p"]
    assert result.status == "error"
    assert result.reason.startswith(
        "provenance_completeness reads the fields 'page_number', 'chunk_number', and "
        "'page_number', 'chunk_number' is not a column"
    )


def test_bias_score_and_its_aliases_are_the_target_mean() -> None:
    df = pd.DataFrame({"stereo": [1, 0, 1, 1, 0, 1, 1, 0]})
    controls = [
        control(k, k) for k in ("bias_score", "stereotype_preference_rate", "category_bias_score")
    ]
    report = run(df, controls, target="stereo")
    for key in ("bias_score", "stereotype_preference_rate", "category_bias_score"):
        assert value_of(report, key) == approx(5 / 8)


def test_class_imbalance_of_a_single_class_is_zero() -> None:
    report = run(
        pd.DataFrame({"y": [1, 1, 1]}),
        [control("c", "class_imbalance"), control("d", "classification_distribution")],
        target="y",
    )
    assert value_of(report, "c") == 0.0 and value_of(report, "d") == 0.0


def test_group_min_positive_rate_reads_the_sdk_age_buckets() -> None:
    ages = list(range(20, 80, 5))  # 12 ages
    df = pd.DataFrame({"y": [1, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0], "age": ages})
    sdk = run(df, [control("g", "group_min_positive_rate", {"dimension": "age"},
                           {"age_bucket_method": "quantiles", "age_buckets": 3})], target="y")  # fmt: skip
    ours = run(
        df, [control("g", "group_min_positive_rate", {"dimension": "age"}, {"bins": 3})], target="y"
    )
    assert value_of(sdk, "g") == approx(value_of(ours, "g"))
    assert set(sdk["g"].metadata["groups"]) == set(ours["g"].metadata["groups"])
    assert len(sdk["g"].metadata["groups"]) == 3


def test_schema_metric_enum_is_the_generated_list(tmp_path: Any) -> None:
    import json

    from vl_jupyter.metrics._docs import metric_names, write_schema_enum
    from vl_jupyter.policy import SCHEMA_PATH

    committed = json.loads(SCHEMA_PATH.read_text())
    assert committed["$defs"]["metric"]["enum"] == metric_names(), (
        "run `python -m vl_jupyter.metrics._docs --schema` (make docs)"
    )
    copy = tmp_path / "schema.json"
    copy.write_text(SCHEMA_PATH.read_text())
    write_schema_enum(copy)
    assert copy.read_text() == SCHEMA_PATH.read_text()  # regenerating changes nothing else
    assert len(metric_names()) == len(CATALOGUE) + sum(len(s.aliases) for s in CATALOGUE.values())


MULTICLASS_AND_SCORES = [
    "multiclass_demographic_parity", "weighted_demographic_parity_multiclass",
    "multiclass_equal_opportunity", "predictive_parity_multiclass",
    "micro_equalized_odds_multiclass", "mean_score", "min_group_score", "group_score_gap",
    "score_ratio", "score_std", "score_cv", "score_skew", "essp", "essp_stdev",
    "subgroup_disparity", "worst_cell_score", "bias_score",
]  # fmt: skip


def test_small_groups_give_no_interval_and_say_why() -> None:
    policy = {
        "vl-policy": 1,
        "controls": [control("c", "predictive_parity_multiclass", {"dimension": "g"})],
    }
    result = vl.enforce(RICH, policy, target="y", prediction="p", evidence=False, n_boot=200)["c"]
    assert result.status != "error" and result.metadata["ci"] is None
    assert result.metadata["ci_note"].startswith("no interval: the metric was undefined in ")


@pytest.mark.parametrize("key", MULTICLASS_AND_SCORES)
def test_new_keys_get_an_interval_from_their_own_formula(key: str) -> None:
    spec = get_spec(key)
    inputs = {"dimension": "g"} if spec.grouped else None
    params = RICH_PARAMS.get(key)
    policy = {"vl-policy": 1, "controls": [control("c", key, inputs, params)]}
    big = pd.concat([RICH] * 6, ignore_index=True)  # 216 rows: every replicate is defined
    result = vl.enforce(
        big, policy, target="y", prediction="p", score="s", evidence=False, n_boot=200
    )["c"]
    assert result.status != "error", result.reason
    ci = result.metadata["ci"]
    expected = "multinomial_bootstrap" if spec.kind == "count" else "normal_approximation"
    # min/max statistics over groups take the extreme-group contrast of the same replicates
    assert ci is not None and ci["method"] in (expected, expected + "_extreme_contrast")
    assert ci["n_boot"] == 200
    assert ci["low"] <= ci["high"]
    # the same seed gives the same interval
    again = vl.enforce(
        big, policy, target="y", prediction="p", score="s", evidence=False, n_boot=200
    )["c"]
    assert again.metadata["ci"] == ci


FUZZ_KEYS = [k for k in MULTICLASS_AND_SCORES if k != "bias_score"]


@st.composite
def ragged_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Small frames with nothing guaranteed: groups may lack classes, scores may repeat."""
    n = draw(st.integers(2, 30))
    cls = st.sampled_from(["x", "y", "z"])
    return pd.DataFrame(
        {
            "y": draw(st.lists(cls, min_size=n, max_size=n)),
            "p": draw(st.lists(cls, min_size=n, max_size=n)),
            "g": draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)),
            "h": draw(st.lists(st.sampled_from(["u", "v"]), min_size=n, max_size=n)),
            "s": draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=n, max_size=n)),
        }
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ragged_frames())
def test_new_keys_on_ragged_data_give_a_number_or_a_reason_never_a_crash(df: pd.DataFrame) -> None:
    controls = [
        control(k, k, {"dimension": "g"} if get_spec(k).grouped else None, RICH_PARAMS.get(k))
        for k in FUZZ_KEYS
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 0/0 leaks out of a formula
        report = vl.enforce(
            df, {"vl-policy": 1, "controls": controls}, target="y", prediction="p", score="s",
            evidence=False, n_boot=20,
        )  # fmt: skip
    for key in FUZZ_KEYS:
        result = report[key]
        if result.status == "error":
            assert result.metadata["error_code"] == "METRIC_UNDEFINED", (key, result.reason)
            assert result.reason
        else:
            assert np.isfinite(result.actual_value), key


def test_keys_of_the_sdk_samples_column_mean_and_predictive_equality() -> None:
    """Two keys the SDK samples use outside its registry: the medical scenario's mean of a
    per-case score column, and predictive equality (the false-positive-rate gap)."""
    report = run(
        RICH,
        [
            control("dice", "column_mean", {"target": "s"}),
            control(
                "fpr",
                "predictive_equality_diff",
                {"target": "y", "prediction": "p", "dimension": "g"},
            ),
            control(
                "fpr2",
                "false_positive_rate_diff",
                {"target": "y", "prediction": "p", "dimension": "g"},
            ),
        ],
        pos_label=1,
    )
    assert value_of(report, "dice") == pytest.approx(RICH["s"].mean())
    assert value_of(report, "fpr") == value_of(report, "fpr2")
    assert report["fpr"].metadata["metric_as_written"] == "predictive_equality_diff"
