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


@dataclass(frozen=True)
class Encoded:
    """A column as integer codes ``0..len(labels)-1`` (missing values have their own code)."""

    codes: np.ndarray
    labels: tuple[Any, ...]
    n_missing: int
    numeric: bool


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
    """Integer-code a column; missing values (NaN, None, NaT) become the last code."""
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.intp, copy=False)
        labels: tuple[Any, ...] = tuple(dtype.categories)
        numeric = pd.api.types.is_numeric_dtype(dtype.categories.dtype)
    elif pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
        codes = series.to_numpy().astype(np.intp)
        labels = (False, True)
    elif pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and len(series):
        values = series.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < _DIRECT_RANGE:
            codes = (values - low).astype(np.intp, copy=False)
            labels = tuple(range(low, high + 1))
        else:
            codes, uniques = pd.factorize(values, sort=True)
            labels = tuple(uniques.tolist())
    else:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
        labels = tuple(uniques.tolist() if hasattr(uniques, "tolist") else list(uniques))
    missing = codes < 0
    n_missing = int(missing.sum())
    if n_missing:
        codes = np.where(missing, len(labels), codes)
        labels = (*labels, MISSING_LABEL)
    return Encoded(np.asarray(codes, dtype=np.intp), labels, n_missing, numeric)


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


def count_cells(group: Encoded, *cells: tuple[np.ndarray, int]) -> GroupTable:
    """Count rows per (group, cell...) in one ``np.bincount`` pass; drop empty groups.

    ``cells`` are (codes, size) pairs, e.g. (target indicator, 2), (prediction indicator, 2).
    """
    shape = [len(group.labels)] + [size for _, size in cells]
    index = group.codes
    for codes, size in cells:
        index = index * size + codes
    counts = np.bincount(index, minlength=int(np.prod(shape))).reshape(shape)
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
