"""Text and object group columns: the fast encodings equal one ``pd.factorize``.

Long text columns are encoded a slice at a time, by Arrow's dictionary encoding
(``str``, ``string[pyarrow]``) or by object identity (``object``, ``string[python]``).
These tests shrink the slice to a few rows, so the slicing, the merging of the slices'
distinct values and the fallbacks run on small frames, and compare labels (with their
types), codes and missing counts against ``pd.factorize(series, sort=True)`` over the
whole column -- including the cases where identity and equality part ways (equal strings
that are distinct objects, ``1`` / ``1.0`` / ``True``, several NaN objects).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vl_jupyter.enforcement._fingerprint import fingerprint
from vl_jupyter.errors import MetricError
from vl_jupyter.metrics import _stats
from vl_jupyter.metrics._evaluate import Statistics


def _reference(series: pd.Series) -> tuple[list[str], np.ndarray, int]:
    """What the encoding must equal: one factorize of the whole column."""
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = list(uniques.tolist() if hasattr(uniques, "tolist") else uniques)
    n_missing = int(np.count_nonzero(codes < 0))
    if n_missing:
        labels.append(_stats.MISSING_LABEL)
        codes = np.where(codes < 0, len(labels) - 1, codes)
    return [repr(x) for x in labels], np.asarray(codes), n_missing


def _assert_same(series: pd.Series) -> _stats.Encoded:
    try:
        expected = _reference(series)
    except TypeError as exc:  # unorderable values: the encoding refuses them the same way
        with pytest.raises(TypeError) as got:
            _stats.encode(series)
        assert type(got.value) is type(exc)
        return None
    enc = _stats.encode(series)
    assert [repr(x) for x in enc.labels] == expected[0]
    np.testing.assert_array_equal(enc.codes, expected[1])
    assert enc.n_missing == expected[2] == int(series.isna().sum())
    assert enc.compact.dtype == _stats.code_dtype(len(enc.labels))
    return enc


@pytest.fixture
def small_slices(monkeypatch):
    monkeypatch.setattr(_stats, "_FACTORIZE_SLICE", 4)
    monkeypatch.setattr(_stats, "_SLICE_FROM", 4)


def _fresh(text: str) -> str:
    """An equal string that is a distinct object (as strings built one per row are)."""
    return "".join(list(text))


_TEXT = st.sampled_from(["b", "a", "é", "", "c d", "region_07", None])
_OBJECTS = st.sampled_from(["b", "a", "é", None, np.nan, pd.NA, 1, 2, 1.0, 2.5, True, False])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(_TEXT, min_size=5, max_size=40),
    dtype=st.sampled_from(["str", "string[pyarrow]", "string[python]", "object", "arrow"]),
    fresh=st.booleans(),
)
def test_text_encoding_equals_one_factorize(values, dtype, fresh, small_slices) -> None:
    if fresh:
        values = [_fresh(v) if isinstance(v, str) else v for v in values]
    if dtype == "arrow":
        series = pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    else:
        series = pd.Series(values, dtype=dtype)
    _assert_same(series)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_OBJECTS, min_size=5, max_size=40), fresh_nan=st.booleans())
def test_mixed_objects_encode_as_one_factorize(values, fresh_nan, small_slices) -> None:
    # several NaN objects are one missing class; 1, 1.0 and True are what pandas makes them
    if fresh_nan:
        values = [float("nan") if v is np.nan else v for v in values]
    _assert_same(pd.Series(values, dtype=object))


def test_arrow_text_in_several_chunks(small_slices) -> None:
    parts = [pd.Series(["b", None, "a"], dtype="str"), pd.Series(["c", "b", "a", "d", None, "e"])]
    series = pd.concat([parts[0], parts[1].astype("str")], ignore_index=True)
    assert pa.array(series.array).num_chunks == 2  # the case under test
    enc = _assert_same(series)
    assert enc.labels == ("a", "b", "c", "d", "e", _stats.MISSING_LABEL)


def test_strided_object_column(small_slices) -> None:
    base = np.array(["x", "y", "z", None, "y", "x"] * 3, dtype=object)
    series = pd.Series(base[::2], copy=False)
    _assert_same(series)


def test_identity_slices_with_many_objects_fall_back(monkeypatch) -> None:
    # every row a distinct object with a distinct value: too many per slice, so the whole
    # column is factorized at once, with the same result
    monkeypatch.setattr(_stats, "_FACTORIZE_SLICE", 8)
    monkeypatch.setattr(_stats, "_SLICE_FROM", 8)
    monkeypatch.setattr(_stats, "_SLICE_UNIQUES", 4)
    for dtype in ("object", "string[python]", "str"):
        series = pd.Series([f"v{i % 11}" for i in range(30)], dtype=dtype)
        enc = _assert_same(series)
        assert enc.labels == tuple(sorted({f"v{i}" for i in range(11)}))


def test_unhashable_cells_are_a_clear_error_naming_the_row(small_slices) -> None:
    df = pd.DataFrame(
        {"g": pd.Series(["a", "b", ["x"], "a", "b", "a"], dtype=object), "p": [0, 1] * 3}
    )
    policy = {"vl-policy": 1, "controls": [
        {"id": "dp", "metric": "demographic_parity_diff", "operator": "lt", "threshold": 0.5,
         "inputs": {"prediction": "p", "dimension": "g"}}]}  # fmt: skip
    import vl_jupyter as vl

    report = vl.enforce(df, policy, evidence=False, ci=False)
    assert report["dp"].status == "error"
    assert report["dp"].reason.startswith(
        "column 'g' holds list values (first at row 2: ['x']), which cannot be labels"
    )


def test_missing_count_of_objects_comes_from_the_encoding(small_slices) -> None:
    series = pd.Series(["a", None, "b", np.nan, "a", pd.NA, "c"], dtype=object)
    asked = []

    def encoded():
        asked.append(1)
        return _stats.encode(series)

    assert _stats.missing_count(series, encoded) == 3 == int(series.isna().sum())
    assert asked == [1]
    # unhashable cells: the encoding fails, and each cell is tested instead
    lists = pd.Series([["a"], None, "b"], dtype=object)
    assert _stats.missing_count(lists, lambda: _stats.encode(lists)) == 1
    # arrow strings count their validity bitmap; the encoding is not asked for
    arrow = pd.Series(["a", None, "b"], dtype="str")
    assert _stats.missing_count(arrow, lambda: pytest.fail("encoded")) == 1


def test_statistics_counts_missing_text_once(small_slices) -> None:
    df = pd.DataFrame({"g": pd.Series(["a", None, "b", "a", None], dtype=object)})
    stats = Statistics(df)
    assert stats.missing("g") == 2
    assert ("encode", "g") in stats._cache  # the shared encoding counted them


@pytest.mark.parametrize("dtype", ["object", "str", "string[python]"])
def test_fingerprint_is_unchanged_by_slicing(dtype: str, monkeypatch) -> None:
    df = pd.DataFrame(
        {"g": pd.Series(["b", "a", None, "b", "c", "a", "a"] * 3, dtype=dtype), "x": range(21)}
    )
    monkeypatch.setattr(_stats, "_SLICE_FROM", 1 << 30)  # one pd.factorize
    whole = fingerprint(df)["content_hash"]
    monkeypatch.setattr(_stats, "_FACTORIZE_SLICE", 3)
    monkeypatch.setattr(_stats, "_SLICE_FROM", 3)
    assert fingerprint(df)["content_hash"] == whole


def test_labels_of_text_target_with_missing_is_an_error(small_slices) -> None:
    df = pd.DataFrame({"y": pd.Series(["yes", None, "no", "yes", "no"], dtype="str")})
    with pytest.raises(MetricError, match="target column 'y' has 1 missing values"):
        Statistics(df).labels_of("y", "target")


def test_rows_of_their_own_string_objects_hash_the_strings(small_slices) -> None:
    # one object per row (as astype("string[python]") makes): the identity slices would
    # hash every address and then every string, so the probe sends them to slices
    # factorized by value
    values = np.asarray([_fresh(["xx", "yy", "zz"][i % 3]) for i in range(300)], dtype=object)
    assert len({id(v) for v in values}) == 300
    assert not _stats._shares_objects(values, _stats._addresses(values))
    shared = np.asarray(["xx", "yy", "zz"] * 100, dtype=object)
    assert _stats._shares_objects(shared, _stats._addresses(shared))
    for array in (values, shared):
        enc = _assert_same(pd.Series(array, dtype=object))
        assert enc.labels == ("xx", "yy", "zz")
