"""Bad input gives an ``error`` result (or an exception) whose message says what to do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import vl_jupyter as vl
from vl_jupyter.errors import BindingError


def policy(*controls: dict) -> dict:
    return {"vl-policy": 1, "title": "errors", "controls": list(controls)}


def di(dimension: Any = "gender", **extra: Any) -> dict:
    return {
        "id": "di",
        "metric": "disparate_impact",
        "operator": "gt",
        "threshold": 0.8,
        "inputs": {"dimension": dimension},
        **extra,
    }


def one(df: pd.DataFrame, ctl: dict, **kwargs: Any) -> vl.ControlResult:
    kwargs.setdefault("ci", False)
    report = vl.enforce(df, policy(ctl), evidence=False, **kwargs)
    return report[ctl["id"]]


def small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "class": [1, 0, 1, 0, 1, 1, 0, 1],
            "pred": [1, 0, 0, 0, 1, 1, 1, 1],
            "gender": ["f", "f", "f", "f", "m", "m", "m", "m"],
        }
    )


def test_missing_keyword_column_suggests_the_close_one(german: pd.DataFrame) -> None:
    with pytest.raises(BindingError) as info:
        vl.enforce(german, policy(di()), target="clas", evidence=False)
    text = str(info.value)
    assert "'clas'" in text
    assert "'class'" in text  # the suggestion
    assert info.value.hint and "closest columns" in info.value.hint


def test_unbound_variable_never_takes_another_attribute(german: pd.DataFrame) -> None:
    frame = german.drop(columns=["gender"])  # 'age' is still there
    result = one(frame, di("gender"), target="class")
    assert result.status == "error"
    assert result.actual_value is None and result.passed is False
    assert "role 'dimension' needs variable 'gender', which matches no column" in result.reason
    assert "enforce(..., gender='<column>')" in result.reason
    assert "bindings" not in result.metadata  # nothing, in particular not 'age', was bound
    assert result.metadata["error_code"] == "BINDING_FAILED"


def test_unbound_variable_suggests_a_lookalike_column() -> None:
    frame = small().rename(columns={"gender": "Gender_code"})
    result = one(frame, di("gender_cd"), target="class")
    assert result.status == "error"
    assert "variable 'gender_cd'" in result.reason and "'Gender_code'" in result.reason


def test_pos_label_absent_from_string_labels() -> None:
    frame = small().assign(**{"class": lambda d: d["class"].map({1: "good", 0: "bad"})})
    result = one(frame, di(), target="class")  # default pos_label 1
    assert result.status == "error"
    assert "pos_label 1 does not occur in target column 'class'" in result.reason
    assert "'bad', 'good'" in result.reason
    assert one(frame, di(), target="class", pos_label="good").status != "error"


def test_pos_label_absent_from_integer_labels_with_a_gap() -> None:
    """Labels 0 and 2: pos_label 1 occurs nowhere, so no rate can be computed."""
    frame = small().assign(**{"class": lambda d: d["class"] * 2})
    ctl = {
        "id": "dp",
        "metric": "demographic_parity_diff",
        "operator": "lt",
        "threshold": 0.1,
        "inputs": {"dimension": "gender"},
    }
    result = one(frame, ctl, target="class")
    assert result.status == "error", (result.actual_value, result.status)
    assert "pos_label 1 does not occur in target column 'class'" in result.reason
    assert "values: 0, 2" in result.reason


def test_nan_in_target_names_the_count() -> None:
    frame = small().astype({"class": float})
    frame.loc[[0, 3, 5], "class"] = np.nan
    result = one(frame, di(), target="class")
    assert result.status == "error"
    assert "target column 'class' has 3 missing values" in result.reason


def test_prediction_with_float_scores() -> None:
    frame = small().assign(pred=[0.9, 0.1, 0.4, 0.2, 0.8, 0.7, 0.6, 0.95])
    ctl = {
        "id": "eo",
        "metric": "equal_opportunity_diff",
        "operator": "lt",
        "threshold": 0.1,
        "inputs": {"dimension": "gender"},
    }
    result = one(frame, ctl, target="class", prediction="pred")
    assert result.status == "error"
    assert "prediction column 'pred' holds scores, not labels" in result.reason
    assert "score=" in result.reason
    acc = {"id": "acc", "metric": "accuracy_score", "operator": "gt", "threshold": 0.5}
    assert "holds scores" in one(frame, acc, target="class", prediction="pred").reason
    # whole-number floats are labels
    assert (
        one(
            frame.assign(pred=small()["pred"].astype(float)), ctl, target="class", prediction="pred"
        ).status
        != "error"
    )


def test_group_without_actual_positives() -> None:
    frame = small()
    frame.loc[frame["gender"] == "f", "class"] = 0
    ctl = {
        "id": "eo",
        "metric": "equal_opportunity_diff",
        "operator": "lt",
        "threshold": 0.1,
        "inputs": {"dimension": "gender"},
    }
    result = one(frame, ctl, target="class", prediction="pred")
    assert result.status == "error"
    assert result.reason.startswith("true positive rate is undefined for group(s) 'f'")
    assert "no rows whose target is the favourable label 1" in result.reason
    odds = {**ctl, "id": "odds", "metric": "equalized_odds_diff"}
    reason = one(frame, odds, target="class", prediction="pred").reason
    assert "true positive rate is undefined for group(s) 'f'" in reason


def test_equalized_odds_ratio_with_no_false_positives() -> None:
    frame = small().assign(pred=lambda d: d["class"])  # a perfect model: every FPR is 0
    ctl = {
        "id": "odds",
        "metric": "equalized_odds_ratio",
        "operator": "gt",
        "threshold": 0.8,
        "inputs": {"dimension": "gender"},
    }
    result = one(frame, ctl, target="class", prediction="pred")
    assert result.status == "error"
    assert result.reason == "every group's false positive rate is 0, so the ratio is undefined"


def test_fewer_than_two_groups_after_min_group_size() -> None:
    frame = pd.DataFrame({"class": [1, 0] * 6, "g": ["a"] * 9 + ["b"] * 2 + ["c"]})
    result = one(frame, di("g", params={"min_group_size": 5}), target="class")
    assert result.status == "error"
    assert "fewer than two groups of 'g' have at least 5 rows" in result.reason
    assert "'a' (9 rows), 'b' (2 rows), 'c' (1 rows)" in result.reason


def test_excluded_groups_are_listed() -> None:
    frame = pd.DataFrame({"class": [1, 0] * 8, "g": ["a"] * 7 + ["b"] * 7 + ["c"] * 2})
    result = one(frame, di("g", params={"min_group_size": 5}), target="class")
    assert result.status != "error"
    assert result.metadata["excluded_groups"] == {"c": 2}
    assert set(result.metadata["groups"]) == {"a", "b"}
    # the call's default applies too
    assert one(frame, di("g"), target="class", min_group_size=3).metadata["excluded_groups"] == {
        "c": 2
    }


def test_dimension_with_missing_values() -> None:
    frame = small().astype({"gender": object})
    frame.loc[[0, 4], "gender"] = None
    result = one(frame, di(), target="class")
    assert result.status != "error"
    assert set(result.metadata["groups"]) == {"f", "m", "(missing)"}
    assert result.metadata["groups"]["(missing)"]["n"] == 2
    assert any(
        "dimension column 'gender' has 2 missing values, reported as the group '(missing)'" in w
        for w in result.metadata["warnings"]
    )


def test_numeric_dimension_with_many_values_suggests_bins(german: pd.DataFrame) -> None:
    result = one(german, di("age"), target="class")
    [warning] = result.metadata["warnings"]
    assert warning.startswith("dimension column 'age' has ")
    assert "distinct numeric values, each treated as a group" in warning
    assert "bin it with the 'bins' parameter" in warning
    binned = one(german, di("age", params={"bins": "25,60"}), target="class")
    assert binned.metadata["warnings"] == []


def test_many_values_warning_counts_the_values_present(german: pd.DataFrame) -> None:
    assert german["age"].nunique() == 53  # ages 19 to 75, with gaps
    [warning] = one(german, di("age"), target="class").metadata["warnings"]
    assert "dimension column 'age' has 53 distinct numeric values" in warning


def test_numeric_dimension_with_few_values_does_not_warn() -> None:
    """Two groups coded 1 and 50 are two distinct values, not fifty."""
    frame = pd.DataFrame({"class": [1, 0, 1, 1] * 5, "g": [1, 1, 50, 50] * 5})
    result = one(frame, di("g"), target="class")
    assert result.status != "error"
    assert set(result.metadata["groups"]) == {"1", "50"}
    assert result.metadata["warnings"] == []


def test_all_zero_selection_rates() -> None:
    frame = small().assign(pred=pd.Categorical([0] * 8, categories=[0, 1]))
    result = one(frame, di(), target="class", prediction="pred")
    assert result.status == "error"
    assert result.reason == "every group's selection rate is 0, so the ratio is undefined"


def test_empty_frame(german: pd.DataFrame) -> None:
    result = one(german.iloc[:0], di(), target="class")
    assert result.status == "error"
    assert result.reason == "the data has no rows"


@pytest.mark.parametrize("data", [[1, 2, 3], np.zeros((3, 2)), "class"])
def test_non_dataframe_raises_type_error(data: Any) -> None:
    with pytest.raises(TypeError, match="needs a pandas DataFrame"):
        vl.enforce(data, policy(di()), evidence=False)


def test_roc_auc_with_one_class() -> None:
    frame = pd.DataFrame({"class": [1, 1, 1], "s": [0.2, 0.5, 0.9]})
    ctl = {"id": "auc", "metric": "roc_auc", "operator": "gt", "threshold": 0.7}
    result = one(frame, ctl, target="class", score="s")
    assert result.status == "error"
    assert result.reason == "roc_auc is undefined: the target has only one class"


def test_an_error_is_never_a_pass(german: pd.DataFrame) -> None:
    frame = german.drop(columns=["gender"])
    report = vl.enforce(frame, policy(di()), target="class", evidence=False, ci=False)
    assert report.passed is False
    assert report.status == "error"
    assert report.score == 0.0
