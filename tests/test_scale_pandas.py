"""The pandas path at scale: exact low-memory AUC, dense intersections, missing counts by
dtype, thread-safe shared encodings and the fingerprint that reuses them."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import vl_jupyter as vl
from vl_jupyter.enforcement._fingerprint import fingerprint
from vl_jupyter.metrics import Statistics, _stats


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 1), min_size=2, max_size=300),
    scale=st.sampled_from([1, 4, 1000]),
    chunk=st.sampled_from([1, 3, 64, 1 << 20]),
    workers=st.sampled_from([1, 2, 3]),
    data=st.data(),
)
def test_rank_auc_equals_sklearn(labels, scale, chunk, workers, data, monkeypatch_module):
    # few distinct scores (scale 1, 4) make many ties across both classes
    y = np.array(labels, dtype=np.uint8)
    scores = data.draw(st.lists(st.integers(0, scale), min_size=len(y), max_size=len(y)))
    s = np.array(scores, dtype=float) / scale
    monkeypatch_module.setattr(_stats, "_AUC_CHUNK", chunk)
    got = _stats.rank_auc(y, s, workers=workers)
    if y.min() == y.max():
        assert np.isnan(got)
    else:
        assert got == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_rank_auc_reads_bool_and_wide_indicators() -> None:
    y = np.array([0, 1, 1, 0, 1])
    s = np.array([0.1, 0.9, 0.4, 0.4, 0.2])
    expected = roc_auc_score(y, s)
    for positive in (y.astype(bool), y.astype(np.int64), y.astype(np.uint8)):
        assert _stats.rank_auc(positive, s) == pytest.approx(expected)


def test_rank_auc_does_not_modify_its_inputs() -> None:
    rng = np.random.default_rng(1)
    s = rng.random(1000)
    y = (rng.random(1000) < 0.3).astype(np.uint8)
    before = s.copy()
    _stats.rank_auc(y, s)
    np.testing.assert_array_equal(s, before)


def _encoded(values: list) -> _stats.Encoded:
    return _stats.encode(pd.Series(values, dtype="category"))


def test_dense_intersection_equals_the_unique_based_one(monkeypatch) -> None:
    rng = np.random.default_rng(2)
    a = _encoded(rng.choice(["f", "m"], 500).tolist())
    b = _encoded(rng.choice(["18-25", "26-40", "41-60", "60+"], 500).tolist())
    c = _encoded(rng.choice([f"r{i}" for i in range(7)], 500).tolist())
    dense = _stats.combine([a, b, c])
    monkeypatch.setattr(_stats, "_DENSE_CODES", 0)
    sparse = _stats.combine([a, b, c])
    assert dense.labels == sparse.labels
    np.testing.assert_array_equal(dense.codes, sparse.codes)
    assert dense.compact.dtype == np.uint8  # 2 * 4 * 7 combinations fit a byte
    assert dense.labels[0] == "f & 18-25 & r0"


def test_dense_intersection_skips_combinations_no_row_has() -> None:
    a = _encoded(["x", "x", "y"])
    b = _encoded(["1", "2", "1"])
    got = _stats.combine([a, b])
    assert got.labels == ("x & 1", "x & 2", "y & 1")  # "y & 2" never occurs
    assert got.codes.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        (pd.Series([1, 2, 3], dtype=np.int8), 0),
        (pd.Series([True, False]), 0),
        (pd.Series([0.5, np.nan, np.nan]), 2),
        (pd.Series(pd.to_datetime(["2026-01-01", None])), 1),
        (pd.Series(["a", None, "b"], dtype="category"), 1),
        (pd.Series(["a", None, "b", None], dtype=object), 2),
        (pd.Series(["a", None, "b"], dtype="str"), 1),
        (pd.Series([1, None, 3], dtype="Int64"), 1),
    ],
)
def test_missing_count_by_dtype(series: pd.Series, expected: int) -> None:
    assert _stats.missing_count(series) == expected


def test_score_with_missing_values_is_an_error_naming_the_column() -> None:
    df = pd.DataFrame({"y": [0, 1, 0, 1], "s": [0.1, np.nan, 0.3, 0.8]})
    policy = {
        "vl-policy": 1,
        "controls": [
            {"id": "auc", "metric": "roc_auc", "operator": "gt", "threshold": 0.5,
             "inputs": {"target": "y", "score": "s"}},
        ],
    }  # fmt: skip
    report = vl.enforce(df, policy, evidence=False)
    assert report["auc"].status == "error"
    assert report["auc"].reason.startswith(
        "score column 's' has 1 missing values, so the metric is undefined for those rows"
    )


def test_cached_builds_once_across_threads() -> None:
    stats = Statistics(pd.DataFrame({"a": [1]}))
    calls = []

    def build():
        calls.append(threading.get_ident())
        time.sleep(0.05)
        return 42

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(stats.cached(("k",), build)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 4
    assert len(calls) == 1


def test_cached_gives_every_waiter_the_builders_error() -> None:
    stats = Statistics(pd.DataFrame({"a": [1]}))

    def build():
        raise ValueError("boom")

    for _ in range(2):
        with pytest.raises(ValueError, match="boom"):
            stats.cached(("bad",), build)


def _frame(dtype: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": pd.Series(["b", "a", None, "b", "c"], dtype=dtype),
            "x": [1.0, 2.0, 3.0, np.nan, 5.0],
        }
    )


@pytest.mark.parametrize("dtype", ["object", "str"])
def test_fingerprint_reuses_the_metrics_encoding(dtype: str) -> None:
    df = _frame(dtype)
    stats = Statistics(df)
    asked = []

    def encoded(column):
        asked.append(column)
        return stats.encoded(column)

    shared = fingerprint(df, encoded)
    assert asked == ["region"]  # only the text column; floats are hashed from their buffer
    assert ("encode", "region") in stats._cache
    assert shared == fingerprint(df)  # the same digest without a shared Statistics


def test_fingerprint_tells_text_columns_apart() -> None:
    base = fingerprint(_frame("object"))["content_hash"]
    changed = _frame("object")
    changed.loc[0, "region"] = "a"
    moved = _frame("object").iloc[[1, 0, 2, 3, 4]].reset_index(drop=True)
    no_missing = _frame("object").fillna({"region": "c"})
    literal = _frame("object").fillna({"region": _stats.MISSING_LABEL})
    hashes = {base}
    for other in (changed, moved, no_missing, literal, _frame("str")):
        hashes.add(fingerprint(other)["content_hash"])
    assert len(hashes) == 6


def test_fingerprint_of_unorderable_objects_hashes_rows() -> None:
    df = pd.DataFrame({"mixed": pd.Series([1, "a", 2.5], dtype=object)})
    first = fingerprint(df)["content_hash"]
    df.loc[1, "mixed"] = "b"
    assert fingerprint(df)["content_hash"] != first


@pytest.mark.parametrize("dtype", ["str", "string"])
def test_text_factorized_by_slices_equals_one_factorize(dtype: str, monkeypatch) -> None:
    monkeypatch.setattr(_stats, "_FACTORIZE_SLICE", 7)
    rng = np.random.default_rng(4)
    values = rng.choice(["b", "a", "é", "c d", None], 100).tolist()
    series = pd.Series(values, dtype=dtype)
    got = _stats.encode(series)
    codes, uniques = pd.factorize(series, sort=True)
    expected = [*uniques.tolist(), _stats.MISSING_LABEL]
    assert got.labels == tuple(expected)
    np.testing.assert_array_equal(got.codes, np.where(codes < 0, len(expected) - 1, codes))
    assert got.n_missing == values.count(None)
    assert got.compact.dtype == np.uint8


def test_text_with_many_values_per_slice_falls_back(monkeypatch) -> None:
    monkeypatch.setattr(_stats, "_FACTORIZE_SLICE", 8)
    monkeypatch.setattr(_stats, "_SLICE_UNIQUES", 4)
    series = pd.Series([f"v{i}" for i in range(20)], dtype="str")
    got = _stats.encode(series)
    assert got.labels == tuple(sorted(series))
    assert got.codes.tolist() == [sorted(series).index(v) for v in series]
