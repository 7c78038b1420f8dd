"""The engines' native shortcuts (``metrics/_engine_native.py``) and the shared count-table
plan (``SourceStatistics.plan``): the same figures as the generic queries and sklearn, in
fewer queries."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vl_jupyter as vl
from vl_jupyter.errors import MetricError
from vl_jupyter.metrics import _engine_native, _engines
from vl_jupyter.metrics._engines import SourceStatistics, open_source

duckdb = pytest.importorskip("duckdb")
pl = pytest.importorskip("polars")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

METHODS = ("midrank", "group_by", "auto")


def _stats(df: pd.DataFrame) -> SourceStatistics:
    source = open_source(duckdb.from_df(df))
    assert source is not None and source.engine == "duckdb"
    return SourceStatistics(source)


def _auc(stats: SourceStatistics, method: str, label=1) -> tuple[int, int, int]:
    return _engine_native.duckdb_auc_counts(stats, "y", "s", label, method=method)


@st.composite
def scored(draw) -> pd.DataFrame:
    n = draw(st.integers(2, 80))
    y = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 0 < sum(v) < n))
    kind = draw(st.sampled_from(["ties", "continuous", "mixed"]))
    if kind == "ties":  # few distinct scores, with -0.0 beside 0.0 (equal, so tied)
        s = [float(v) for v in draw(st.lists(st.integers(-1, 3), min_size=n, max_size=n))]
        s = [-0.0 if v == -1 else v for v in s]
    else:
        finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
        s = draw(st.lists(finite, min_size=n, max_size=n))
        if kind == "mixed":  # continuous with a clipped end: a block of ties
            s = [max(v, 0.0) for v in s]
    return pd.DataFrame({"y": np.array(y, dtype=np.int64), "s": np.array(s, dtype=float)})


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=scored())
def test_every_duckdb_auc_method_is_sklearns_auc_exactly(df: pd.DataFrame) -> None:
    stats = _stats(df)
    counts = {method: _auc(stats, method) for method in METHODS}
    assert counts["midrank"] == counts["group_by"] == counts["auto"]  # integers, exactly
    twice_u, n_pos, n_neg = counts["midrank"]
    assert (n_pos, n_neg) == (int(df["y"].sum()), int((df["y"] == 0).sum()))
    expected = sklearn_metrics.roc_auc_score(df["y"], df["s"])
    assert math.isclose(twice_u / (2 * n_pos * n_neg), expected, rel_tol=1e-12, abs_tol=1e-12)


def test_the_midrank_sort_is_exact_at_scale_with_ties_and_distinct_scores() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    y = rng.integers(0, 2, n)
    s = np.where(rng.random(n) < 0.2, 0.5, rng.random(n) + 0.3 * y)  # 20% tied at 0.5
    df = pd.DataFrame({"y": y, "s": s})
    stats = _stats(df)
    twice_u, n_pos, n_neg = _auc(stats, "midrank")
    assert (twice_u, n_pos, n_neg) == _auc(stats, "group_by")
    auc = twice_u / (2 * n_pos * n_neg)
    assert auc == pytest.approx(sklearn_metrics.roc_auc_score(y, s), rel=1e-12, abs=1e-12)


def test_auto_sorts_distinct_scores_and_groups_repeated_ones(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 2_000)
    grouped: list[str] = []
    real = SourceStatistics.grouped_auc_counts
    monkeypatch.setattr(
        SourceStatistics,
        "grouped_auc_counts",
        lambda self, *a: grouped.append(a[1]) or real(self, *a),
    )
    distinct = _stats(pd.DataFrame({"y": y, "s": rng.random(2_000)}))
    repeated = _stats(pd.DataFrame({"y": y, "s": rng.integers(0, 20, 2_000) / 20}))
    assert _auc(distinct, "auto") == _auc(distinct, "midrank")
    assert grouped == []
    assert _auc(repeated, "auto") == _auc(repeated, "group_by")
    assert grouped == ["s", "s"]


def test_a_text_label_is_compared_as_the_generic_path_compares_it() -> None:
    df = pd.DataFrame({"y": ["yes", "no", "yes", "no", "yes"], "s": [0.9, 0.1, 0.4, 0.4, 0.8]})
    stats = _stats(df)
    got = _engine_native.duckdb_auc_counts(stats, "y", "s", "yes", method="midrank")
    # pairs (pos, neg): 0.9>0.1, 0.9>0.4, 0.4>0.1, 0.4=0.4 (half), 0.8>0.1, 0.8>0.4 -> U = 5.5
    assert got == (11, 3, 2)
    assert got == _engine_native.duckdb_auc_counts(stats, "y", "s", "yes", method="group_by")


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ([0.1, float("nan"), 0.3, 0.2], "score column 's' has 1 missing values"),
        ([0.1, None, 0.3, 0.2], "score column 's' has 1 missing values"),
        ([0.1, float("inf"), 0.3, -float("inf")], "score column 's' holds 2 non-finite value"),
    ],
)
def test_bad_scores_give_the_generic_paths_error(scores, message) -> None:
    df = pd.DataFrame({"y": [1, 0, 1, 0], "s": pd.array(scores, dtype="Float64")})
    native = _stats(df)
    with pytest.raises(MetricError, match=message):
        native.roc_auc_counts("y", "s", 1)
    generic = SourceStatistics(open_source(pl.from_pandas(df)))  # no native counter
    with pytest.raises(MetricError, match=message):
        generic.roc_auc_counts("y", "s", 1)
    # the checks read the one profile scan that completeness reads too
    assert (
        native.null_counts()
        == generic.null_counts()
        == {"y": 0, "s": 1 if "miss" in message else 0}
    )


# --- one query for the count tables the controls share ------------------------------------
def _policy() -> dict:
    def control(cid, metric, **inputs):
        lower = metric.endswith("_diff")  # better when lower
        return {"id": cid, "metric": metric, "operator": "lt" if lower else "gt",
                "threshold": 1.0 if lower else 0.0, "inputs": inputs}  # fmt: skip

    return {"vl-policy": 1, "controls": [
        control("dp", "demographic_parity_diff", prediction="p", dimension="g"),
        control("dp-gh", "demographic_parity_diff", prediction="p", dimension=["g", "h"]),
        control("eod", "equalized_odds_diff", target="y", prediction="p", dimension="h"),
        control("acc", "accuracy_score", target="y", prediction="p"),
        control("auc", "roc_auc", target="y", score="s"),
        control("missing-col", "accuracy_score", target="y", prediction="nope"),
    ]}  # fmt: skip


def _loan_like(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, n)
    return pd.DataFrame(
        {"y": y, "p": np.where(rng.random(n) < 0.8, y, 1 - y), "s": rng.random(n),
         "g": rng.choice(["a", "b", "c"], n), "h": rng.choice(["x", "y"], n)}
    )  # fmt: skip


def _outcome(report) -> dict:
    return {r.control_id: (r.status, r.actual_value, r.metadata.get("groups"),
                           r.metadata.get("ci"), r.reason if r.status == "error" else "")
            for r in report}  # fmt: skip


@pytest.fixture
def queried(monkeypatch) -> list[list[str]]:
    """The count tables fetched from the engine (columns of each), in order."""
    seen: list[list[str]] = []
    real = _engines._collect

    def spy(frame):
        out = real(frame)
        if _engines.WEIGHT in out.columns:
            seen.append([c for c in out.columns if c != _engines.WEIGHT])
        return out

    monkeypatch.setattr(_engines, "_collect", spy)
    return seen


@pytest.mark.parametrize("engine", ["parquet", "polars"])
def test_the_controls_count_tables_come_from_one_shared_query(
    tmp_path: Path, queried: list, engine: str
) -> None:
    df = _loan_like()
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    data = str(path) if engine == "parquet" else pl.scan_parquet(path)
    report = vl.enforce(data, _policy(), n_boot=30, seed=2, evidence=False)
    assert queried == [["g", "p", "h", "y"]]  # the union, in the controls' order
    assert _outcome(report) == _outcome(vl.enforce(df, _policy(), n_boot=30, seed=2,
                                                   evidence=False))  # fmt: skip
    assert "'nope', which matches no column" in report["missing-col"].reason
    tables = {tuple(t["columns"]): t["combinations"] for t in report.data["count_tables"]}
    assert tables[("g", "p", "h", "y")] == len(df.groupby(["g", "p", "h", "y"]))


def test_too_many_cells_fetch_only_the_sets_no_other_contains(
    tmp_path: Path, queried: list, monkeypatch
) -> None:
    df = _loan_like()
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    monkeypatch.setattr(_engines, "SHARED_TABLE_MAX_CELLS", 10)  # 3 x 2 x 2 x 2 cells is more
    report = vl.enforce(str(path), _policy(), n_boot=30, seed=2, evidence=False)
    # dp's (g, p) is inside dp-gh's (g, h, p); acc's (p, y) and auc's (y) inside eod's
    assert sorted(queried) == [["g", "h", "p"], ["h", "p", "y"]]
    expected = vl.enforce(df, _policy(), n_boot=30, seed=2, evidence=False)
    assert _outcome(report) == _outcome(expected)


def test_an_estimator_that_fails_leaves_each_set_to_its_own_query(
    tmp_path: Path, queried: list, monkeypatch
) -> None:
    df = _loan_like()
    path = tmp_path / "d.parquet"
    df.to_parquet(path)

    def broken(source, columns):
        raise RuntimeError("no estimate")

    monkeypatch.setitem(_engines._DISTINCT_ESTIMATORS, "duckdb", broken)
    report = vl.enforce(str(path), _policy(), n_boot=30, seed=2, evidence=False)
    assert sorted(queried) == [["g", "h", "p"], ["h", "p", "y"]]
    assert _outcome(report) == _outcome(
        vl.enforce(df, _policy(), n_boot=30, seed=2, evidence=False)
    )


@st.composite
def count_tables(draw) -> tuple[pd.DataFrame, np.ndarray]:
    n = draw(st.integers(1, 40))
    cats = pd.Categorical(
        draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n)),
        categories=["b", "a", "unused"],  # a declared order, one category never seen
    )
    text = pd.Series(draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n)),
                     dtype=object)  # fmt: skip
    floats = draw(st.lists(st.sampled_from([0.0, 1.0, float("nan")]), min_size=n, max_size=n))
    ints = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    weights = np.array(draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n)))
    frame = pd.DataFrame({"c": cats, "t": text, "f": floats, "i": np.array(ints, np.int8)})
    return frame, weights


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


@settings(max_examples=50, deadline=None)
@given(table=count_tables(), columns=st.permutations(["c", "t", "f", "i"]), k=st.integers(1, 4))
def test_a_coarser_table_is_the_pandas_groupby_of_the_finer_one(table, columns, k) -> None:
    frame, weights = table
    cols = tuple(columns[:k])
    stats = SourceStatistics.__new__(SourceStatistics)
    stats._codes = {}
    finer = type("View", (), {"frame": frame, "weights": weights})()
    got, sums = stats._regroup(finer, cols)
    want = frame.assign(w=weights).groupby(list(cols), dropna=False, observed=True, sort=False)
    want = want["w"].sum().reset_index()
    # pandas' groupby turns object keys into str (None into NaN); the regrouped table
    # keeps each column's dtype
    assert _rows(got) == _rows(want[list(cols)])
    assert got.dtypes.to_dict() == frame.dtypes[list(cols)].to_dict()
    assert sums.dtype == np.int64 and sums.tolist() == want["w"].tolist()


def test_a_low_estimate_is_capped_by_the_shared_query_itself(
    tmp_path: Path, queried: list, monkeypatch
) -> None:
    """The first rows of a file sorted by a column show few of its values: the shared
    table comes back with at most the cap plus one row, and past the cap it is dropped
    for the sets apart."""
    df = _loan_like().sort_values("g", kind="stable").reset_index(drop=True)
    path = tmp_path / "d.parquet"
    df.to_parquet(path)
    monkeypatch.setitem(
        _engines._DISTINCT_ESTIMATORS, "duckdb", lambda s, cols: dict.fromkeys(cols, 1)
    )
    monkeypatch.setattr(_engines, "SHARED_TABLE_MAX_CELLS", 20)  # 3 x 2 x 2 x 2 = 24 occur
    report = vl.enforce(str(path), _policy(), n_boot=30, seed=2, evidence=False)
    assert queried[0] == ["g", "p", "h", "y"] and sorted(queried[1:]) == [
        ["g", "h", "p"], ["h", "p", "y"]
    ]  # fmt: skip
    tables = [t["columns"] for t in report.data["count_tables"]]
    assert ["g", "p", "h", "y"] not in tables  # dropped: not a table the controls read
    assert _outcome(report) == _outcome(
        vl.enforce(df, _policy(), n_boot=30, seed=2, evidence=False)
    )
