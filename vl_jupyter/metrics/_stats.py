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

    __slots__ = ("_codes", "_compact", "labels", "n_missing", "numeric", "weights")

    def __init__(
        self,
        codes: np.ndarray | None,
        labels: tuple[Any, ...],
        n_missing: int,
        numeric: bool,
        *,
        compact: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> None:
        if codes is None and compact is None:
            raise ValueError("Encoded needs codes or compact codes")
        self._codes = codes
        self._compact = compact
        self.labels = labels
        self.n_missing = n_missing
        self.numeric = numeric
        # rows of a pushed-down count table stand for this many rows each (None: one)
        self.weights = weights

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
    present = _bincount(enc.compact, n_labels)[:n_labels] > 0
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
        codes, uniques = pd.factorize(values, sort=True)
        return Encoded(np.asarray(codes, dtype=np.intp), tuple(uniques.tolist()), 0, numeric)
    # object columns are factorized whole: their frame is Python strings (tens of bytes a
    # row), so int64 codes are a small share of it, and slicing costs them ~30% more time
    if (
        not numeric
        and not (isinstance(dtype, np.dtype) and dtype.kind == "O")
        and len(series) > _FACTORIZE_SLICE
    ):
        sliced = _factorize_by_slices(series.array)
        if sliced is not None:
            return sliced
    text_codes, text_uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = tuple(text_uniques.tolist() if hasattr(text_uniques, "tolist") else list(text_uniques))
    return _with_missing(text_codes, labels, numeric)


# Text columns are factorized a slice at a time: pandas' codes are int64 (80 MB per column
# on ten million rows); a slice's codes are narrowed to uint16 at once, so a column costs
# 2 bytes a row while it is encoded and 1 (up to 255 values) once it is.
_FACTORIZE_SLICE = 1 << 20
_SLICE_UNIQUES = (1 << 16) - 1  # uint16 holds a slice's codes plus the missing marker


def _factorize_by_slices(values: Any) -> Encoded | None:
    """``pd.factorize(values, sort=True)`` as ``Encoded``, slice by slice, with the same
    labels and codes; None when a slice has too many distinct values (the caller then
    factorizes the whole column at once)."""
    n = len(values)
    slices: list[np.ndarray] = []
    uniques: list[np.ndarray] = []
    n_missing = 0
    for lo in range(0, n, _FACTORIZE_SLICE):
        codes, found = pd.factorize(values[lo : lo + _FACTORIZE_SLICE], use_na_sentinel=True)
        if len(found) > _SLICE_UNIQUES - 1:
            return None
        missing = codes < 0
        n_missing += int(np.count_nonzero(missing))
        codes = codes.astype(np.uint16)  # -1 (missing) becomes 65535
        slices.append(codes)
        uniques.append(np.asarray(found, dtype=object))
    # one sort of the distinct values, by pandas' own rules (as factorize(sort=True))
    offsets = np.cumsum([0] + [len(u) for u in uniques])
    to_global, distinct = pd.factorize(np.concatenate(uniques), sort=True)
    labels = list(distinct.tolist() if hasattr(distinct, "tolist") else distinct)
    n_labels = len(labels) + (1 if n_missing else 0)
    out = np.empty(n, dtype=code_dtype(n_labels))
    for i, codes in enumerate(slices):
        lookup = np.full(1 << 16, n_labels - 1, dtype=out.dtype)
        lookup[: offsets[i + 1] - offsets[i]] = to_global[offsets[i] : offsets[i + 1]]
        lo = i * _FACTORIZE_SLICE
        out[lo : lo + len(codes)] = lookup[codes]
    if n_missing:
        labels.append(MISSING_LABEL)
    return Encoded(None, tuple(labels), n_missing, False, compact=out)


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


# Intersections whose full product of labels is at most this many codes are numbered
# densely (mixed radix) and compacted with one bincount; wider ones fall back to np.unique.
_DENSE_CODES = 1 << 24


def combine(parts: list[Encoded]) -> Encoded:
    """Intersectional groups: one code per combination that occurs, labels joined by ' & '.

    The combination code is mixed-radix (``(a * n_b + b) * n_c + c``), built in the
    smallest unsigned dtype that holds the product of the label counts; the combinations
    that occur are found by one ``bincount`` of it and renumbered through a lookup table.
    That is a linear pass, where ``np.unique`` sorts every row (0.05 s against 0.8 s on
    ten million rows).
    """
    if len(parts) == 1:
        return parts[0]
    n_codes = int(np.prod([len(p.labels) for p in parts], dtype=object))
    if n_codes > _DENSE_CODES:
        codes = np.zeros(len(parts[0].compact), dtype=np.intp)
        for part in parts:
            codes = codes * len(part.labels) + part.codes
        present, compact = np.unique(codes, return_inverse=True)
        present = present.tolist()
    else:
        dtype = code_dtype(n_codes)
        codes = parts[0].compact.astype(dtype)
        for part in parts[1:]:
            codes *= dtype.type(len(part.labels))
            codes += part.compact
        occupied = _bincount(codes, n_codes) > 0
        present = np.flatnonzero(occupied).tolist()
        remap = (np.cumsum(occupied) - 1).astype(code_dtype(len(present)))
        compact = remap[codes]
    labels = []
    for code in present:
        names = []
        for part in reversed(parts):
            code, index = divmod(code, len(part.labels))
            names.append(str(part.labels[index]))
        labels.append(" & ".join(reversed(names)))
    n_missing = sum(p.n_missing for p in parts)
    if compact.dtype == np.intp:
        return Encoded(compact, tuple(labels), n_missing, False)
    return Encoded(None, tuple(labels), n_missing, False, compact=compact)


# Rows per np.bincount call when the index is a small unsigned dtype: bincount converts its
# input to intp, and a chunk of this size is converted in cache instead of in memory.
_CHUNK = 1 << 18


def count_cells(
    group: Encoded, *cells: tuple[np.ndarray, int], weights: np.ndarray | None = None
) -> GroupTable:
    """Count rows per (group, cell...) in one ``np.bincount`` pass; drop empty groups.

    ``cells`` are (codes, size) pairs, e.g. (target indicator, 2), (prediction indicator, 2).
    The flat index ``(group * size + cell) * size + cell ...`` is built in the smallest
    unsigned dtype that holds it. ``weights`` (row multiplicities; by default the group's
    own) make each row count that many times: that is how a count table pushed down to an
    engine (one row per distinct combination, with its count) gives the same table as the
    rows themselves.
    """
    if weights is None:
        weights = group.weights
    shape = [len(group.labels)] + [size for _, size in cells]
    n_cells = int(np.prod(shape))
    dtype = code_dtype(n_cells)
    if dtype.itemsize >= np.dtype(np.intp).itemsize:
        dtype = np.dtype(np.intp)
    parts: list[tuple[np.ndarray, int]] = []
    if shape[0] > 1 or not cells:  # a single group adds nothing to the index
        parts.append((group.compact, shape[0]))
    parts.extend(cells)
    n_rows = len(parts[0][0])
    # The flat index is built and counted one cache-sized chunk at a time: no row-sized
    # temporaries (memory stays flat at any row count) and every pass reads from cache.
    counts = np.zeros(n_cells, dtype=np.intp)
    for lo in range(0, max(n_rows, 1), _CHUNK):
        hi = min(lo + _CHUNK, n_rows)
        index = parts[0][0][lo:hi].astype(dtype)
        for codes, size in parts[1:]:
            index *= dtype.type(size)
            index += codes[lo:hi]
        if weights is None:
            counts += np.bincount(index, minlength=n_cells)
        else:
            counts += _weighted_bincount(index, weights[lo:hi], n_cells)
    table = counts.reshape(shape)
    occupied = table.reshape(shape[0], -1).sum(axis=1) > 0
    labels = tuple(str(label) for label, keep in zip(group.labels, occupied, strict=True) if keep)
    return GroupTable(labels, table[occupied])


def _bincount(index: np.ndarray, n_cells: int) -> np.ndarray:
    """``np.bincount(index, minlength=n_cells)``, in cache-sized chunks for narrow dtypes."""
    n_rows = len(index)
    if index.dtype == np.intp or n_rows <= _CHUNK:
        return np.bincount(index, minlength=n_cells)
    counts = np.zeros(n_cells, dtype=np.intp)
    for start in range(0, n_rows, _CHUNK):
        counts += np.bincount(index[start : start + _CHUNK], minlength=n_cells)
    return counts


def _weighted_bincount(index: np.ndarray, weights: np.ndarray, n_cells: int) -> np.ndarray:
    """Integer counts of weighted rows (exact: float sums of integers below 2**53)."""
    sums = np.bincount(index, weights=weights, minlength=n_cells)
    return np.rint(sums).astype(np.intp)


def missing_count(series: pd.Series) -> int:
    """Missing values in a column, by its dtype: none in a numpy integer or bool column,
    ``isnan`` for floats, code -1 for categories, ``isna`` otherwise.

    Factorizing a float column to find its missing values (what ``encode`` would do) costs
    seven seconds on ten million distinct scores; ``isnan`` costs ten milliseconds.
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        if dtype.kind in "biu":
            return 0
        if dtype.kind in "fcmM":
            test = np.isnan if dtype.kind in "fc" else np.isnat
            values = series.to_numpy()
            # by chunks: no row-sized mask
            return sum(
                int(np.count_nonzero(test(values[lo : lo + _CHUNK])))
                for lo in range(0, len(values), _CHUNK)
            )
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.array.codes  # the frame's own codes, no Series built around them
        return sum(
            int(np.count_nonzero(codes[lo : lo + _CHUNK] < 0))
            for lo in range(0, len(codes), _CHUNK)
        )
    return int(series.isna().sum())


# Rows of the larger class ranked per step of the AUC pass (a sorted chunk keeps the
# binary searches into the smaller class's sorted scores cache-friendly, and bounds the
# memory each worker holds).
_AUC_CHUNK = 1 << 18


def rank_auc(positive: np.ndarray, score: np.ndarray, workers: int = 2) -> float:
    """ROC AUC as the Mann-Whitney U over ``n_pos * n_neg``, ties counted half (= sklearn).

    Exact, and without ranking every row: the scores of the smaller class are copied and
    sorted (two halves in parallel, then one merge pass); the larger class is read in
    chunks, each sorted and located in that array by binary search (how many of the other
    class score below, and how many tie). Extra memory is the smaller class's scores plus
    a chunk per worker, not a rank per row, and the work runs in ``workers`` threads
    (numpy releases the GIL while sorting and searching). ``positive`` is 0/1 (any
    integer or bool dtype); ``score`` must have no NaN.
    """
    pos = positive.view(np.bool_) if positive.dtype.itemsize == 1 else positive.astype(bool)
    n_pos = int(np.count_nonzero(pos))
    n_neg = len(pos) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    small_is_pos = n_pos <= n_neg
    small = score[pos] if small_is_pos else score[~pos]
    pool = None
    if workers > 1 and len(score) > 2 * _AUC_CHUNK:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(workers, thread_name_prefix="vl-auc")
    try:
        _parallel_sort(small, pool)
        # without repeated values in the smaller class, a tie is one comparison, not a
        # second binary search
        distinct = bool(np.all(small[1:] != small[:-1]))

        def part(bounds: tuple[int, int]) -> tuple[int, int]:
            below = ties = 0
            for lo in range(bounds[0], bounds[1], _AUC_CHUNK):
                hi = min(lo + _AUC_CHUNK, bounds[1])
                mask = pos[lo:hi]
                chunk = score[lo:hi][~mask if small_is_pos else mask]
                chunk.sort()
                left = np.searchsorted(small, chunk, "left")
                below += int(left.sum(dtype=np.int64))
                if distinct:
                    at = np.minimum(left, len(small) - 1)
                    ties += int(np.count_nonzero(small[at] == chunk))
                else:
                    right = np.searchsorted(small, chunk, "right")
                    ties += int((right - left).sum(dtype=np.int64))
            return below, ties

        n = len(score)
        step = -(-n // (workers if pool else 1))
        step = -(-step // _AUC_CHUNK) * _AUC_CHUNK
        bounds = [(lo, min(lo + step, n)) for lo in range(0, n, step)]
        parts = list(pool.map(part, bounds)) if pool else [part(b) for b in bounds]
    finally:
        if pool is not None:
            pool.shutdown()
    below = sum(b for b, _ in parts)
    ties = sum(t for _, t in parts)
    # small = positives: per negative, positives below and tied; U counts those above
    u = n_pos * n_neg - below - 0.5 * ties if small_is_pos else below + 0.5 * ties
    return float(u / (n_pos * n_neg))


def _parallel_sort(values: np.ndarray, pool) -> None:
    """Sort in place: both halves at once in ``pool``, then one merge (numpy's stable sort
    is a timsort, which merges two sorted runs in a single linear pass)."""
    if pool is None or len(values) < 2 * _AUC_CHUNK:
        values.sort()
        return
    half = len(values) // 2
    list(pool.map(np.ndarray.sort, (values[:half], values[half:])))
    values.sort(kind="stable")
