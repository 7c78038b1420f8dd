"""Per-group sufficient statistics, computed once per column combination.

Every count-based metric is a function of a small table of counts: per group, how many
rows fall in each (target, prediction) cell. This module builds those tables with one
vectorised ``np.bincount`` pass per (dimension, target, prediction) combination and caches
them, so twelve controls over ten million rows read the columns a handful of times, not
twelve. Confidence intervals resample these tables, never the rows (see ``_bootstrap``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MetricError

MISSING_LABEL = "(missing)"
# Integer columns whose value range is at most this wide are encoded by offset, which is
# several times faster than hashing (pd.factorize) on ten million rows.
_DIRECT_RANGE = 1 << 16
# A numeric dimension with more distinct values than this probably wants binning.
MANY_VALUES = 20


class Encoded:
    """A column as integer codes ``0..len(labels)-1`` (missing values have their own code).

    ``codes`` are ``np.intp``; ``compact`` holds the same codes in the smallest unsigned
    dtype that fits them, which is what the count tables are built from (a tenth of the
    memory traffic of ``intp`` on ten million rows). Either is derived from the other on
    first use, so a categorical column's own ``int8`` codes are used without a copy.
    """

    __slots__ = ("_codes", "_compact", "labels", "n_missing", "numeric")

    def __init__(
        self,
        codes: np.ndarray | None,
        labels: tuple[Any, ...],
        n_missing: int,
        numeric: bool,
        *,
        compact: np.ndarray | None = None,
    ) -> None:
        if codes is None and compact is None:
            raise ValueError("Encoded needs codes or compact codes")
        self._codes = codes
        self._compact = compact
        self.labels = labels
        self.n_missing = n_missing
        self.numeric = numeric

    @property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            assert self._compact is not None  # __init__ refuses neither
            self._codes = self._compact.astype(np.intp)
        return self._codes

    @property
    def compact(self) -> np.ndarray:
        if self._compact is None:
            assert self._codes is not None  # __init__ refuses neither
            self._compact = _narrow(self._codes, len(self.labels))
        return self._compact

    def __repr__(self) -> str:
        return (
            f"Encoded(labels={self.labels!r}, n_missing={self.n_missing}, "
            f"numeric={self.numeric}, rows={len(self.compact)})"
        )


def code_dtype(n_codes: int) -> np.dtype:
    """The smallest unsigned dtype that holds ``0..n_codes-1``."""
    if n_codes <= 1 << 8:
        return np.dtype(np.uint8)
    if n_codes <= 1 << 16:
        return np.dtype(np.uint16)
    if n_codes <= 1 << 32:
        return np.dtype(np.uint32)
    return np.dtype(np.uint64)


def _narrow(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Non-negative ``codes`` below ``n_codes`` in the smallest unsigned dtype (no copy if
    they already have it, or a signed one of the same width)."""
    dtype = code_dtype(n_codes)
    if codes.dtype.kind in "iu" and codes.dtype.itemsize == dtype.itemsize:
        return codes.view(dtype)
    return codes.astype(dtype)


@dataclass(frozen=True)
class GroupTable:
    """Counts per group: ``counts[g, ...]``; ``labels[g]`` names group ``g``."""

    labels: tuple[str, ...]
    counts: np.ndarray
    class_labels: tuple[Any, ...] = ()

    @property
    def sizes(self) -> np.ndarray:
        return self.counts.reshape(len(self.labels), -1).sum(axis=1)


def encode(series: pd.Series) -> Encoded:
    """Integer-code a column; missing values (NaN, None, NaT) become the last code.

    Labels are exactly the values that occur: an unused category, or an integer inside
    the range of a column that never takes it, is not a class (it would make a missing
    ``pos_label`` look present, and count as an empty class in averages).
    """
    return _only_present(_encode(series))


def _only_present(enc: Encoded) -> Encoded:
    """Drop labels no row has, renumbering the codes (one bincount when none is absent)."""
    n_labels = len(enc.labels)
    if n_labels == 0:
        return enc
    present = np.bincount(enc.compact, minlength=n_labels)[:n_labels] > 0
    if present.all():
        return enc
    remap = (np.cumsum(present) - 1).astype(code_dtype(int(present.sum())))
    labels = tuple(label for label, keep in zip(enc.labels, present, strict=True) if keep)
    return Encoded(None, labels, enc.n_missing, enc.numeric, compact=remap[enc.compact])


def _encode(series: pd.Series) -> Encoded:
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        # pandas' own codes (int8 for up to 127 categories), used without a copy
        raw = series.cat.codes.to_numpy()
        labels: tuple[Any, ...] = tuple(dtype.categories)
        numeric = pd.api.types.is_numeric_dtype(dtype.categories.dtype)
        return _with_missing(raw, labels, numeric)
    if pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
        values = series.to_numpy()
        if values.dtype == np.bool_:
            return Encoded(None, (False, True), 0, numeric, compact=values.view(np.uint8))
        return Encoded(values.astype(np.intp), (False, True), 0, numeric)
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and len(series):
        values = series.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < _DIRECT_RANGE:
            labels = tuple(range(low, high + 1))
            return Encoded(None, labels, 0, numeric, compact=_offset(values, low, len(labels)))
        int_codes, int_uniques = pd.factorize(values, sort=True)
        return Encoded(
            np.asarray(int_codes, dtype=np.intp), tuple(int_uniques.tolist()), 0, numeric
        )
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = tuple(uniques.tolist() if hasattr(uniques, "tolist") else list(uniques))
    return _with_missing(codes, labels, numeric)


def _with_missing(codes: np.ndarray, labels: tuple[Any, ...], numeric: bool) -> Encoded:
    """Codes where -1 marks a missing value: that becomes the extra label '(missing)'."""
    n_missing = int(np.count_nonzero(codes < 0)) if len(codes) and codes.min() < 0 else 0
    if n_missing:
        labels = (*labels, MISSING_LABEL)
        codes = np.where(codes < 0, len(labels) - 1, codes)
    if codes.dtype == np.intp:
        return Encoded(codes, labels, n_missing, numeric)
    return Encoded(None, labels, n_missing, numeric, compact=_narrow(codes, len(labels)))


def _offset(values: np.ndarray, low: int, n_codes: int) -> np.ndarray:
    """``values - low`` (all in ``0..n_codes-1``) in the smallest unsigned dtype."""
    if low == 0:
        return _narrow(values, n_codes)
    if values.dtype.kind == "u":
        shifted = values - values.dtype.type(low)
    else:  # in int64, so that e.g. int8 values from -100 to 100 do not wrap around
        shifted = np.subtract(values, low, dtype=np.int64)
    return _narrow(shifted, n_codes)


def bin_numeric(series: pd.Series, bins: int | tuple[float, ...]) -> Encoded:
    """Cut a numeric column into bins: a count of equal-frequency bins or cut points.

    Labels read as intervals (``<25``, ``[25, 60)``, ``>=60``) so evidence stays readable.
    """
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise MetricError(
            f"column '{series.name}' is not numeric ({series.dtype}), so it cannot be binned",
            hint="remove 'bins' or bind a numeric column",
        )
    values = series.to_numpy(dtype=float, na_value=np.nan)
    present = ~np.isnan(values)
    if isinstance(bins, int):
        quantiles = np.nanquantile(values, np.linspace(0, 1, bins + 1)[1:-1])
        edges = tuple(float(q) for q in np.unique(quantiles))
    else:
        edges = tuple(bins)
    codes = np.searchsorted(np.asarray(edges), values, side="right").astype(np.intp)
    labels: list[Any] = [f"<{_num(edges[0])}"]
    labels += [f"[{_num(a)}, {_num(b)})" for a, b in itertools.pairwise(edges)]
    labels.append(f">={_num(edges[-1])}")
    n_missing = int((~present).sum())
    if n_missing:
        codes = np.where(present, codes, len(labels))
        labels.append(MISSING_LABEL)
    return Encoded(codes, tuple(labels), n_missing, False)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def combine(parts: list[Encoded]) -> Encoded:
    """Intersectional groups: one code per combination that occurs, labels joined by ' & '."""
    if len(parts) == 1:
        return parts[0]
    codes = np.zeros(len(parts[0].codes), dtype=np.intp)
    for part in parts:
        codes = codes * len(part.labels) + part.codes
    present, compact = np.unique(codes, return_inverse=True)
    labels = []
    for code in present.tolist():
        names = []
        for part in reversed(parts):
            code, index = divmod(code, len(part.labels))
            names.append(str(part.labels[index]))
        labels.append(" & ".join(reversed(names)))
    n_missing = sum(p.n_missing for p in parts)
    return Encoded(compact.astype(np.intp), tuple(labels), n_missing, False)


# Rows per np.bincount call when the index is a small unsigned dtype: bincount converts its
# input to intp, and a chunk of this size is converted in cache instead of in memory.
_CHUNK = 1 << 18


def count_cells(group: Encoded, *cells: tuple[np.ndarray, int]) -> GroupTable:
    """Count rows per (group, cell...) in one ``np.bincount`` pass; drop empty groups.

    ``cells`` are (codes, size) pairs, e.g. (target indicator, 2), (prediction indicator, 2).
    The flat index ``(group * size + cell) * size + cell ...`` is built in the smallest
    unsigned dtype that holds it.
    """
    shape = [len(group.labels)] + [size for _, size in cells]
    n_cells = int(np.prod(shape))
    dtype = code_dtype(n_cells)
    if dtype.itemsize >= np.dtype(np.intp).itemsize:
        dtype = np.dtype(np.intp)
    index = None
    if shape[0] > 1 or not cells:  # a single group adds nothing to the index
        index = group.compact if dtype != np.intp else group.codes
    for codes, size in cells:
        codes = codes.astype(dtype, copy=False)
        index = codes if index is None else np.multiply(index, size, dtype=dtype) + codes
    assert index is not None  # no cells means the group codes were taken above
    n_rows = len(index)
    if dtype == np.intp or n_rows <= _CHUNK:
        counts = np.bincount(index, minlength=n_cells)
    else:
        counts = np.zeros(n_cells, dtype=np.intp)
        for start in range(0, n_rows, _CHUNK):
            counts += np.bincount(index[start : start + _CHUNK], minlength=n_cells)
    counts = counts.reshape(shape)
    occupied = counts.reshape(shape[0], -1).sum(axis=1) > 0
    labels = tuple(str(label) for label, keep in zip(group.labels, occupied, strict=True) if keep)
    return GroupTable(labels, counts[occupied])


def weighted_sums(group: Encoded, weights: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Row counts and per-group sums of each weight column: (counts[G], sums[G, W])."""
    n_groups = len(group.labels)
    counts = np.bincount(group.codes, minlength=n_groups)
    sums = np.stack(
        [np.bincount(group.codes, weights=w, minlength=n_groups) for w in weights], axis=1
    )
    return counts, sums


def single_group(n_rows: int) -> Encoded:
    """The whole frame as one group, for overall (non-grouped) metrics."""
    return Encoded(np.zeros(n_rows, dtype=np.intp), ("all",), 0, False)
