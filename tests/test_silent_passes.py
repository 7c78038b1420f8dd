"""Nothing counts as passed that was not measured (issue 9, "silent passes").

Each test feeds input that once came back ``pass`` although the metric could not honestly
be computed on it, and pins the ``fail`` or ``error`` it gets now, with its exact reason.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

import vl_jupyter as vl
from vl_jupyter.errors import BindingError, ComplianceBlockError
from vl_jupyter.metrics import CISettings, Measurement
from vl_jupyter.metrics._bootstrap import MAX_CI_GROUPS, summarise
from vl_jupyter.metrics._validate import MAX_CLASSES


def policy(*controls: dict) -> dict:
    return {"vl-policy": 1, "title": "silent", "controls": list(controls)}


def ctl(cid: str, metric: str, op: str, threshold: float, **extra: Any) -> dict:
    return {"id": cid, "metric": metric, "operator": op, "threshold": threshold, **extra}


def one(df: pd.DataFrame, control: dict, **kwargs: Any) -> vl.ControlResult:
    kwargs.setdefault("ci", False)
    return vl.enforce(df, policy(control), evidence=False, **kwargs)[control["id"]]


BALANCE = ctl("bal", "class_imbalance", "gt", 0.5, inputs={"target": "y"})
SIZE = ctl("size", "group_size_min", "ge", 3, inputs={"dimension": "g"})
SHARE = ctl("share", "group_share_min", "ge", 0.1, inputs={"dimension": "g"})
DI = ctl("di", "disparate_impact", "gt", 0.8, inputs={"dimension": "g"})
F1 = ctl("f1", "f1_score", "gt", 0.5, inputs={"target": "y", "prediction": "p"})


# --- class_imbalance -------------------------------------------------------------------------
def test_one_class_target_is_balance_zero_and_fails() -> None:
    """A model that approves everyone: one class present is 0 (as the SDK), never 1."""
    result = one(pd.DataFrame({"y": [1] * 20}), BALANCE, ci=True)
    assert (result.status, result.actual_value) == ("fail", 0.0)
    assert result.reason == "class_imbalance = 0, which is not > 0.5"
    assert result.ci == (0.0, 0.0)
    declared = pd.DataFrame({"y": pd.Categorical([1] * 20, categories=[0, 1])})
    assert one(declared, BALANCE).actual_value == 0.0  # the unused category is not a class


def test_two_classes_still_measure_least_over_most() -> None:
    result = one(pd.DataFrame({"y": [1] * 15 + [0] * 5}), BALANCE)
    assert (result.status, result.actual_value) == ("fail", pytest.approx(5 / 15))


def test_probabilities_bound_as_target_are_refused() -> None:
    frame = pd.DataFrame({"y": np.linspace(0.01, 0.99, 50)})
    result = one(frame, BALANCE)
    assert result.status == "error" and result.actual_value is None
    assert result.reason == (
        "target column 'y' holds scores, not labels: 50 distinct non-integer values "
        "(e.g. 0.01, 0.03, 0.05) (bind scores with score=..., or threshold them into labels)"
    )
    # integer-valued floats are labels
    assert one(pd.DataFrame({"y": [0.0, 1.0] * 10}), BALANCE).actual_value == 1.0


# --- dimensions: all missing, empty declared bands -------------------------------------------
@pytest.mark.parametrize(
    "column",
    [[np.nan] * 10, pd.Series([None] * 10, dtype=object), pd.Categorical([None] * 10, ["a"])],
    ids=["float", "object", "categorical"],
)
def test_all_missing_dimension_is_an_error(column) -> None:
    frame = pd.DataFrame({"g": column, "y": [0, 1] * 5})
    for control in (SIZE, SHARE, DI):
        result = one(frame, control, target="y")
        assert result.status == "error", control["id"]
        assert result.reason == (
            "dimension column 'g' is missing on all 10 rows, so it has no groups (every row "
            "would be the group '(missing)') (bind a column that holds the protected attribute)"
        )


def test_all_missing_part_of_an_intersection_is_an_error() -> None:
    frame = pd.DataFrame({"g": list("ab") * 5, "h": [np.nan] * 10})
    result = one(frame, {**SIZE, "inputs": {"dimension": ["g", "h"]}})
    assert result.status == "error"
    assert result.reason.startswith("dimension column 'h' is missing on all 10 rows")


def test_partly_missing_dimension_still_measures() -> None:
    frame = pd.DataFrame({"g": ["a"] * 5 + [None] * 5})
    result = one(frame, SIZE)
    assert (result.status, result.actual_value) == ("pass", 5.0)
    assert set(result.metadata["groups"]) == {"a", "(missing)"}


def test_empty_declared_band_is_a_group_of_size_zero() -> None:
    frame = pd.DataFrame({"g": [30, 40, 50] * 5})
    size = one(frame, {**SIZE, "params": {"bins": "25,60"}})
    assert (size.status, size.actual_value) == ("fail", 0.0)
    assert size.reason == "group_size_min = 0, which is not >= 3"
    assert size.metadata["groups"] == {
        "<25": {"n": 0, "value": 0.0},
        "[25, 60)": {"n": 15, "value": 15.0},
        ">=60": {"n": 0, "value": 0.0},
    }
    share = one(frame, {**SHARE, "params": {"bins": "25,60"}}, ci=True)
    assert (share.status, share.actual_value) == ("fail", 0.0)
    assert list(share.metadata["groups"]) == ["<25", "[25, 60)", ">=60"]


def test_empty_band_is_listed_as_excluded_from_a_comparison() -> None:
    frame = pd.DataFrame({"g": [20, 30, 40, 50] * 5, "y": [1, 0, 1, 1] * 5})
    result = one(frame, {**DI, "params": {"bins": "25,60"}}, target="y")
    assert result.metadata["excluded_groups"] == {">=60": 0}
    assert set(result.metadata["groups"]) == {"<25", "[25, 60)"}


def test_empty_band_of_an_intersection_is_a_group_of_size_zero() -> None:
    frame = pd.DataFrame({"age": [30, 40, 70, 20] * 3, "g": list("ffmm") * 3})
    control = {**SIZE, "threshold": 1, "inputs": {"dimension": ["g", "age"]}}
    result = one(frame, {**control, "params": {"bins": "25,60"}})
    assert (result.status, result.actual_value) == ("fail", 0.0)
    assert {k: v["n"] for k, v in result.metadata["groups"].items()} == {
        "f & <25": 0,
        "f & [25, 60)": 6,
        "f & >=60": 0,
        "m & <25": 3,
        "m & [25, 60)": 0,
        "m & >=60": 3,
    }
    quantiles = one(frame, {**control, "params": {"bins": 2}})  # describes the data: no padding
    assert all(v["n"] > 0 for v in quantiles.metadata["groups"].values())


def test_infinite_values_in_a_numeric_dimension_are_refused() -> None:
    frame = pd.DataFrame({"g": [30.0, np.inf, 70.0] * 5})
    result = one(frame, {**SIZE, "params": {"bins": "25,60"}})  # inf is no age in >=60
    assert result.reason == (
        "dimension column 'g' holds 5 non-finite value(s) (first at row 1), so the metric "
        "is undefined (drop or replace those rows before enforcing)"
    )


def test_bands_and_missing_keep_their_order() -> None:
    frame = pd.DataFrame({"g": [30.0, 40.0, np.nan] * 5})
    result = one(frame, {**SIZE, "params": {"bins": [25, 60]}})
    assert list(result.metadata["groups"]) == ["<25", "[25, 60)", ">=60", "(missing)"]
    assert result.actual_value == 0.0


# --- label columns ----------------------------------------------------------------------------
def test_mixed_label_types_are_refused_as_scikit_learn_does() -> None:
    y = pd.Series([1, "1", 0, 0] * 3, dtype=object)
    frame = pd.DataFrame({"y": y, "p": [1, 1, 0, 0] * 3})
    with pytest.raises((TypeError, ValueError)):
        f1_score(y, frame["p"])
    result = one(frame, F1)
    assert result.status == "error"
    assert result.reason == (
        "target column 'y' mixes value types: number (e.g. 0) and str (e.g. '1'); "
        "equal-looking labels such as 1 and '1' would count as different classes "
        "(cast the column to one type, e.g. df['y'].astype(str))"
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_infinite_labels_are_refused_as_scikit_learn_does() -> None:
    frame = pd.DataFrame({"y": [1, np.inf, 0, 0] * 3, "p": [1, 1, 0, 0] * 3})
    with pytest.raises(ValueError, match="infinity"):
        f1_score(frame["y"], frame["p"])
    result = one(frame, F1)
    assert result.reason == (
        "target column 'y' holds non-finite values (inf), which are not class labels "
        "(drop or replace those rows before enforcing)"
    )
    di = one(frame.assign(g=list("ab") * 6), DI, target="y")
    assert di.status == "error" and "holds non-finite values (inf)" in di.reason


def test_binary_average_on_three_classes_is_refused_as_scikit_learn_does() -> None:
    frame = pd.DataFrame({"y": [1, 2, 0, 0] * 3, "p": [1, 1, 0, 0] * 3})
    with pytest.raises(ValueError, match="average='binary'"):
        f1_score(frame["y"], frame["p"])
    result = one(frame, F1)
    assert result.reason == (
        "f1_score with average 'binary' needs at most two classes; target and prediction "
        "hold 3 (0, 1, 2) (set average: macro, micro or weighted)"
    )
    macro = one(frame, {**F1, "params": {"average": "macro"}})
    assert macro.actual_value == pytest.approx(f1_score(frame["y"], frame["p"], average="macro"))


def test_an_identifier_is_not_a_class_column() -> None:
    frame = pd.DataFrame({"y": np.arange(MAX_CLASSES + 1)})
    result = one(frame, BALANCE)
    assert result.reason == (
        f"target column 'y' has {MAX_CLASSES + 1} distinct values, more than the "
        f"{MAX_CLASSES} classes class_imbalance accepts (an identifier or a measurement, "
        "not labels) (bind a label column)"
    )


def test_a_class_table_too_large_for_memory_is_refused_before_it_is_built() -> None:
    n = 2000
    frame = pd.DataFrame(
        {"y": np.arange(n) % 900, "p": np.arange(n) % 900, "g": (np.arange(n) % 1000).astype(str)}
    )
    control = ctl(
        "mceo", "multiclass_equal_opportunity", "lt", 0.5,
        inputs={"target": "y", "prediction": "p", "dimension": "g"},
    )  # fmt: skip
    tracemalloc.start()
    try:
        result = one(frame, control)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.reason == (
        "multiclass_equal_opportunity would count 810,000,000 cells (1000 groups x 900 classes "
        "squared), more than the 50,000,000 that fit in memory (bin the dimension or group "
        "the classes)"
    )
    assert peak < 50 * 2**20, peak


def test_infinite_regression_target_is_refused() -> None:
    frame = pd.DataFrame({"y": [1.0, np.inf, 2.0], "p": [1.0, 2.0, 2.0]})
    result = one(frame, ctl("mae", "mae", "lt", 1.0, inputs={"target": "y", "prediction": "p"}))
    assert result.reason == (
        "target column 'y' holds 1 non-finite value(s) (first at row 1), so the metric is "
        "undefined (drop or replace those rows before enforcing)"
    )


def test_dimension_values_that_print_alike_are_refused() -> None:
    frame = pd.DataFrame({"g": pd.Series([1, "1", 2, 2], dtype=object), "y": [1, 0, 1, 0]})
    result = one(frame, DI, target="y")
    assert result.reason == (
        "dimension column 'g' holds 1 and '1', distinct values that both read '1' as a group "
        "name (cast the column to one type, e.g. df['g'].astype(str))"
    )


def test_target_and_prediction_of_different_label_types_are_refused() -> None:
    frame = pd.DataFrame({"y": [1, 0] * 4, "p": ["good", "bad"] * 4})
    result = one(frame, ctl("acc", "accuracy_score", "gt", 0.5, inputs=F1["inputs"]))
    assert result.reason == (
        "target column 'y' holds number labels but prediction column 'p' holds str labels, "
        "so no prediction can equal its target (map both columns to the same labels)"
    )
    booleans = frame.assign(p=[True, False] * 4)  # True == 1, as in scikit-learn
    acc = one(booleans, ctl("acc", "accuracy_score", "gt", 0.5, inputs=F1["inputs"]))
    assert (acc.status, acc.actual_value) == ("pass", 1.0)


def test_a_dimension_value_reading_missing_is_refused() -> None:
    frame = pd.DataFrame({"g": ["(missing)", None, "a", "a"], "y": [1, 0, 1, 0]})
    result = one(frame, SIZE)
    assert result.reason == (
        "dimension column 'g' holds the text '(missing)', which would merge with the group "
        "of its missing values (rename that value, or make those cells missing)"
    )


# --- frames -----------------------------------------------------------------------------------
def test_integer_column_names_bind_by_their_text() -> None:
    frame = pd.DataFrame({0: list("ffmm") * 5, 1: [1, 0, 1, 1] * 5})
    result = one(frame, {**DI, "inputs": {"dimension": "0"}}, target="1")
    assert result.status == "fail" and result.actual_value == pytest.approx(0.5 / 1.0)
    assert result.metadata["bindings"]["dimension"]["columns"] == ["0"]


def test_an_integer_name_and_its_text_are_two_columns_named_alike() -> None:
    frame = pd.DataFrame({0: list("ab") * 3, "0": list("ab") * 3})
    result = one(frame, {**SIZE, "inputs": {"dimension": "0"}})
    assert result.reason.startswith("the data has 2 columns named '0' (positions 0, 1)")


def test_duplicate_column_names_are_an_error_naming_the_column(evidence_dir: Path) -> None:
    frame = pd.DataFrame([[1, 0, "f"], [0, 1, "m"]] * 5, columns=["y", "y", "g"])
    report = vl.enforce(frame, policy(BALANCE, SIZE), evidence_dir=evidence_dir, ci=False)
    assert report["bal"].status == "error"
    assert report["bal"].reason == (
        "the data has 2 columns named 'y' (positions 0, 1), so which one to measure is "
        "ambiguous (rename or drop the duplicates (df.loc[:, ~df.columns.duplicated()]))"
    )
    assert report["bal"].metadata["error_code"] == "BINDING_FAILED"
    assert report["size"].status == "pass"  # the other columns are still measured
    assert [c["name"] for c in report.data["columns"]] == ["y", "y", "g"]


def test_list_valued_cells_are_an_error_naming_the_column() -> None:
    frame = pd.DataFrame({"g": [["f"], ["m"]] * 3, "y": [1, 0] * 3, "h": list("ab") * 3})
    result = one(frame, DI, target="y")
    assert result.reason == (
        "column 'g' holds list values (first at row 0: ['f']), which cannot be labels or "
        "groups (explode or join the values into one value per row)"
    )
    duplicates = one(frame, ctl("dup", "duplicate_rate", "le", 1.0))  # reads every column
    assert duplicates.metadata["error_code"] == "METRIC_UNDEFINED"
    assert duplicates.reason.startswith("column 'g' holds list values (first at row 0")
    # a list column no control reads is fingerprinted, not a crash
    report = vl.enforce(frame, policy({**DI, "inputs": {"dimension": "h"}}), target="y",
                        evidence=False, ci=False)  # fmt: skip
    assert (report["di"].status, report["di"].actual_value) == ("fail", 0.0)
    assert len(report.data["content_hash"]) == 64


# --- bindings ---------------------------------------------------------------------------------
def test_keyword_that_binds_nothing_is_a_binding_error() -> None:
    frame = pd.DataFrame({"gender": list("ffmm"), "y": [1, 0, 1, 0], "fw": [1, 1, 0, 0]})
    control = {**DI, "inputs": {"dimension": "gender"}}
    with pytest.raises(BindingError) as info:
        vl.enforce(frame, policy(control), target="y", gendr="fw", evidence=False)
    assert str(info.value) == (
        "keyword gendr=... binds no variable of the policy, so it would be ignored while the "
        "evidence records it (close variable names: 'gender')"
    )
    with pytest.raises(BindingError) as far:
        vl.enforce(frame, policy(control), target="y", xyz="fw", evidence=False)
    assert far.value.hint == (
        "the policy's variables are 'gender'; roles are target, prediction, score, "
        "dimension, sensitive"
    )


def test_keywords_naming_variables_roles_and_column_params_are_accepted() -> None:
    frame = pd.DataFrame({"sex": list("ffmm") * 3, "y": [1, 0, 1, 1] * 3, "zip": range(12)})
    control = {**DI, "inputs": {"dimension": "gender"}}
    kanon = ctl("k", "k_anonymity", "ge", 1, params={"quasi_identifiers": ["postcode"]})
    report = vl.enforce(
        frame, policy(control, kanon), target="y", gender="sex", postcode="zip", evidence=False
    )
    assert [r.status for r in report] == ["fail", "pass"]
    assert one(frame, control, target="y", dimension="sex").status == "fail"  # a role


# --- block mode -------------------------------------------------------------------------------
def test_block_mode_stops_on_an_error_after_writing_evidence(evidence_dir: Path) -> None:
    frame = pd.DataFrame({"gender": list("ffmm"), "y": [1, 0, 1, 0]})
    gate = {**DI, "inputs": {"dimension": "gendr"}, "enforcement_mode": "block"}
    with pytest.raises(ComplianceBlockError) as info:
        vl.enforce(frame, policy(gate), target="y", evidence_dir=evidence_dir, ci=False)
    report = info.value.report
    assert report["di"].status == "error"
    assert report.evidence_id is not None
    assert str(info.value) == (
        f"control 'di': blocking control(s) did not pass: di (error); evidence {report.evidence_id}"
    )
    assert list(evidence_dir.rglob(f"*{report.evidence_id}*"))  # the record exists


# --- the score --------------------------------------------------------------------------------
def _report(*statuses: str) -> vl.Report:
    results = [
        vl.ControlResult(f"c{i}", "", "m", 0.5, 1.0, "gt", s in ("pass", "warn"), "high", s)
        for i, s in enumerate(statuses)
    ]
    return vl.Report(results, policy={}, data={}, bindings={})


def test_score_counts_only_clean_passes() -> None:
    assert _report("pass", "pass").score == 1.0
    assert _report("pass", "warn").score == 0.5  # a warn is in doubt, not passed
    assert _report("pass", "warn").passed is True  # ... though it does not fail the report
    assert _report("pass", "pass", "skipped").score == 1.0
    assert _report("warn").score == 0.0


def test_score_never_reads_full_with_anything_in_doubt() -> None:
    almost = _report(*(["pass"] * 199 + ["warn"]))
    assert almost.score == 0.99 and f"{almost.score:.0%}" == "99%"
    assert _report(*(["pass"] * 999 + ["error"])).score == 0.99
    assert _report("pass", "pass", "fail").score == 0.66  # floored, not 0.67


# --- the cost of many groups -----------------------------------------------------------------
def test_many_groups_skip_the_interval_in_bounded_memory() -> None:
    n_groups = 20_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "g": rng.permutation(np.arange(2 * n_groups) % n_groups).astype(str),
            "y": [0, 1] * n_groups,
        }
    )
    control = ctl("dp", "demographic_parity_diff", "lt", 1.01, inputs={"dimension": "g"})
    tracemalloc.start()
    try:
        result = one(frame, control, target="y", ci=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.metadata["ci"] is None
    note = (
        f"no interval: {n_groups} groups and {2 * n_groups} count cells exceed the bootstrap "
        f"budget ({MAX_CI_GROUPS} groups, 20,000,000 drawn cells)"
    )
    assert result.metadata["ci_note"] == note
    assert note + "; bin or coarsen the dimension for one" in result.metadata["warnings"]
    assert result.status == "pass"  # judged on the point estimate
    assert peak < 150 * 2**20, peak  # 1,000 replicates of 40,000 cells would be 320 MB


# --- pins: paths no test pinned ---------------------------------------------------------------
def test_a_crashing_metric_becomes_an_error_result(monkeypatch) -> None:
    from vl_jupyter.metrics._evaluate import _CountMetric

    run = _CountMetric.run

    def boom(self):
        if self.spec.key == "class_imbalance":  # a bug inside one metric
            raise RuntimeError("boom")
        return run(self)

    monkeypatch.setattr(_CountMetric, "run", boom)
    frame = pd.DataFrame({"y": [0, 1] * 5, "g": list("ab") * 5})
    report = vl.enforce(frame, policy(BALANCE, SIZE), evidence=False, ci=False)
    result = report["bal"]
    assert (result.status, result.actual_value, result.passed) == ("error", None, False)
    assert result.reason == "internal error while computing class_imbalance: RuntimeError('boom')"
    assert result.metadata["error_code"] == "INTERNAL_ERROR"
    assert "RuntimeError: boom" in result.metadata["traceback"]
    assert report["size"].status == "pass"  # the other controls still ran


def _summarised(n_undefined: int) -> Measurement:
    replicates = np.linspace(0.0, 1.0, 1000)
    replicates[:n_undefined] = np.nan
    m = Measurement(value=0.5, n=10)
    summarise(m, replicates, CISettings(n_boot=1000), "multinomial_bootstrap")
    return m


def test_more_than_a_tenth_undefined_replicates_suppress_the_interval() -> None:
    kept = _summarised(100)  # exactly 10%: still an interval
    assert kept.ci is not None and kept.undefined_replicates == 100
    dropped = _summarised(101)
    assert dropped.ci is None and dropped.undefined_replicates == 101
    assert dropped.ci_note == (
        "no interval: the metric was undefined in 101 of 1000 replicates (a group too small "
        "to have the cells it needs)"
    )


def test_undefined_replicates_suppress_the_interval_end_to_end() -> None:
    # group 'b' has one favourable target in 40 rows: in ~37% of replicates it has none
    frame = pd.DataFrame(
        {"g": ["a"] * 40 + ["b"] * 40, "y": [1, 0] * 20 + [1] + [0] * 39, "p": [1, 0] * 40}
    )
    eo = ctl("eo", "equal_opportunity_diff", "lt", 0.9, inputs={"dimension": "g"})
    result = one(frame, eo, target="y", prediction="p", ci=True)
    assert result.metadata["ci"] is None
    assert result.metadata["ci_note"].startswith("no interval: the metric was undefined in ")


def test_ci_level_is_applied_and_recorded(german: pd.DataFrame) -> None:
    control = {**DI, "inputs": {"dimension": "gender"}}
    kwargs = {"target": "class", "ci": True, "n_boot": 400, "seed": 3}
    narrow = one(german, control, ci_level=0.8, **kwargs).metadata["ci"]
    wide = one(german, control, ci_level=0.99, **kwargs).metadata["ci"]
    assert (narrow["level"], wide["level"]) == (0.8, 0.99)
    assert wide["low"] < narrow["low"] < narrow["high"] < wide["high"]


def test_a_group_of_exactly_min_group_size_is_kept() -> None:
    frame = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 4 + ["c"] * 6, "y": [1, 0, 1] * 5})
    result = one(frame, DI, target="y", min_group_size=5)
    assert set(result.metadata["groups"]) == {"a", "c"}
    assert result.metadata["excluded_groups"] == {"b": 4}


def test_fingerprint_hashes_category_labels_not_codes() -> None:
    a = pd.DataFrame({"g": pd.Categorical(["f", "m", "f"])})
    b = pd.DataFrame({"g": pd.Categorical(["x", "y", "x"])})  # the same codes 0, 1, 0
    control = {**SIZE, "threshold": 1}
    fa = vl.enforce(a, policy(control), evidence=False, ci=False).data
    fb = vl.enforce(b, policy(control), evidence=False, ci=False).data
    assert a["g"].cat.codes.tolist() == b["g"].cat.codes.tolist()
    assert fa["schema_hash"] == fb["schema_hash"]
    assert fa["content_hash"] != fb["content_hash"]
