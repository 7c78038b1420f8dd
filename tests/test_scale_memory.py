"""The pandas path reads a frame's own buffers where it can: a category column's codes and
a 0/1 column are not copied (each copy is 10 MB per column on ten million rows, and
peak extra memory is a target of issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vl_jupyter.metrics._evaluate import Statistics
from vl_jupyter.metrics._stats import encode, indicator_codes


def test_a_category_columns_codes_are_its_own() -> None:
    series = pd.Series(pd.Categorical.from_codes(np.arange(1000) % 3, ["a", "b", "c"]))
    enc = encode(series)
    assert np.shares_memory(enc.compact, series.array.codes)
    assert enc.labels == ("a", "b", "c") and enc.compact[:4].tolist() == [0, 1, 2, 0]


def test_a_zero_one_column_is_its_own_indicator() -> None:
    frame = pd.DataFrame({"y": (np.arange(1000) % 2).astype(np.int8), "g": ["a", "b"] * 500})
    stats = Statistics(frame)
    positive = stats.indicator("y", "target", 1)
    assert np.shares_memory(positive, frame["y"].to_numpy())
    assert positive.dtype == np.uint8 and positive[:4].tolist() == [0, 1, 0, 1]
    # the other label is a comparison (a copy), with the same 0/1 meaning
    negative = stats.indicator("y", "target", 0)
    assert not np.shares_memory(negative, frame["y"].to_numpy())
    assert negative[:4].tolist() == [1, 0, 1, 0]


def test_indicator_codes_compare_when_the_codes_are_not_zero_one() -> None:
    three = encode(pd.Series(np.array([0, 1, 2, 1], dtype=np.int8)))
    assert indicator_codes(three, 1).tolist() == [0, 1, 0, 1]
    assert indicator_codes(three, 2).tolist() == [0, 0, 1, 0]
    # two labels with a gap between them: 0 and 5 are codes 0 and 5, and 1..4 are dropped
    gapped = encode(pd.Series(np.array([0, 5, 5, 0], dtype=np.int8)))
    assert gapped.labels == (0, 5)
    assert indicator_codes(gapped, 1).tolist() == [0, 1, 1, 0]
    missing = encode(pd.Series(["x", None, "y", "x"], dtype=object))
    assert len(missing.labels) == 3 and indicator_codes(missing, 1).tolist() == [0, 0, 1, 0]
