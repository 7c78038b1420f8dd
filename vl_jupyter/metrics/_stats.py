"""Per-group sufficient statistics, computed once per column combination.

Every count-based metric is a function of a small table of counts: per group, how many
rows fall in each (target, prediction) cell. This module builds those tables with one
vectorised ``np.bincount`` pass per (dimension, target, prediction) combination and caches
them, so twelve controls over ten million rows read the columns a handful of times, not
twelve. Confidence intervals resample these tables, never the rows (see ``_bootstrap``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
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
    dtype = series.dtype
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        # pandas' own codes (int8 for up to 127 categories), used without a copy: the
        # Categorical's read-only view (``.cat.codes`` builds a Series around a copy in
        # pandas 3, 10 MB per column on ten million rows)
        raw = series.array.codes
        labels: tuple[Any, ...] = tuple(dtype.categories)
        numeric = pd.api.types.is_numeric_dtype(dtype.categories.dtype)
        return _only_present(_with_missing(raw, labels, numeric))
    if pd.api.types.is_bool_dtype(dtype) and not series.hasnans:
        values = series.to_numpy()
        if values.dtype == np.bool_:
            enc = Encoded(None, (False, True), 0, numeric, compact=values.view(np.uint8))
        else:
            enc = Encoded(values.astype(np.intp), (False, True), 0, numeric)
        return _only_present(enc)
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, np.dtype) and len(series):
        values = series.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < _DIRECT_RANGE:
            labels = tuple(range(low, high + 1))
            compact = _offset(values, low, len(labels))
            enc = Encoded(None, labels, 0, numeric, compact=compact)
            # the smallest and largest value occur: with nothing between them (a 0/1
            # column), every label does, and no bincount over the rows is needed
            return enc if high - low <= 1 else _only_present(enc)
        codes, uniques = pd.factorize(values, sort=True)
        return Encoded(np.asarray(codes, dtype=np.intp), tuple(uniques.tolist()), 0, numeric)
    # Below, every label comes from a value some row holds: no absent labels to drop.
    if not numeric and len(series) > _SLICE_FROM:
        sliced = _factorize_by_slices(series)
        if sliced is not None:
            return sliced
    text_codes, text_uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    labels = tuple(text_uniques.tolist() if hasattr(text_uniques, "tolist") else list(text_uniques))
    return _with_missing(text_codes, labels, numeric)


def indicator_codes(enc: Encoded, index: int) -> np.ndarray:
    """0/1 as ``uint8``, 1 where a row's code is ``index``. When the column has exactly
    two labels and ``index`` is the second, its compact codes already are that (a 0/1
    ``int8`` or bool column, or a two-category one): they are returned as they are, read
    only, instead of a comparison's copy (10 MB per column on ten million rows)."""
    compact = enc.compact
    if len(enc.labels) == 2 and index == 1 and compact.dtype == np.uint8:
        return compact
    return (compact == index).view(np.uint8)


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


# Long text columns are encoded a slice at a time: pandas' codes are int64 (80 MB per
# column on ten million rows); a slice's codes are narrowed to uint16 at once, so a column
# costs 2 bytes a row while it is encoded and 1 (up to 255 values) once it is.
_FACTORIZE_SLICE = 1 << 20
# Below this many rows one pd.factorize is as quick (the slicers' fixed costs dominate).
_SLICE_FROM = 1 << 12
_SLICE_UNIQUES = (1 << 16) - 1  # uint16 holds a slice's codes plus the null marker
_NULL = (1 << 16) - 1  # a slice code for a row that is null (Arrow's validity bitmap)


def _factorize_by_slices(series: pd.Series) -> Encoded | None:
    """``pd.factorize(series, sort=True)`` as ``Encoded``, with the same labels and codes,
    built a slice at a time; None when this column's storage has no fast slicer or a
    slice has too many distinct values (the caller then factorizes the column at once).

    Each slice yields codes into its own distinct values, in order of first appearance;
    the distinct values of all slices, concatenated in row order, are then factorized
    once with ``sort=True`` -- by pandas' own rules, on a few hundred values instead of
    every row -- which decides the labels, what counts as missing, and which of several
    equal values (``1`` and ``1.0``) names the class, exactly as one factorize of the
    whole column would.
    """
    slicer = _text_slicer(series)
    if slicer is None:
        return None
    slices: list[np.ndarray] = []
    uniques: list[np.ndarray] = []
    nulls = 0
    for piece in slicer:
        if piece is None:  # too many distinct values in a slice
            return None
        codes, found, n_null = piece
        slices.append(codes)
        uniques.append(found)
        nulls += n_null
    offsets = np.cumsum([0] + [len(u) for u in uniques])
    to_global, distinct = pd.factorize(np.concatenate(uniques), sort=True, use_na_sentinel=True)
    labels = list(distinct.tolist() if hasattr(distinct, "tolist") else distinct)
    na_values = bool(np.any(to_global < 0))  # None, NaN, pd.NA among the values
    n_labels = len(labels) + (1 if nulls or na_values else 0)
    missing_code = n_labels - 1
    out = np.empty(len(series), dtype=code_dtype(n_labels))
    lo = 0
    for i, codes in enumerate(slices):
        lookup = np.full(1 << 16, missing_code, dtype=out.dtype)  # _NULL: missing
        found = to_global[offsets[i] : offsets[i + 1]]
        lookup[: len(found)] = np.where(found < 0, missing_code, found)
        out[lo : lo + len(codes)] = lookup[codes]
        lo += len(codes)
    n_missing = nulls
    if na_values:  # rows holding a missing value: counted on the narrow codes
        n_missing = sum(
            int(np.count_nonzero(out[start : start + _CHUNK] == missing_code))
            for start in range(0, len(out), _CHUNK)
        )
    if n_missing:
        labels.append(MISSING_LABEL)
    return Encoded(None, tuple(labels), n_missing, False, compact=out)


def _text_slicer(series: pd.Series) -> Iterator[tuple[np.ndarray, np.ndarray, int] | None] | None:
    """Per slice of ``series``: (uint16 codes into that slice's distinct values, those
    values as an object array, rows that are null in Arrow's validity bitmap), or None
    once a slice has too many distinct values; by the cheapest exact route the column's
    storage allows. None for storage without one (numeric, datetime, extension arrays)."""
    dtype = series.dtype
    if _arrow_text(dtype):
        return _arrow_slices(series.array)
    if not _object_backed(dtype):
        return None
    values = np.asarray(series.array)  # the column's own object array, no copy
    if values.dtype != object or values.ndim != 1:
        return None
    return _object_slices(values)


def _arrow_text(dtype: Any) -> bool:
    """Whether a column's values are an Arrow string array (``str``, ``string[pyarrow]``,
    ``pd.ArrowDtype(pa.string())``)."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        kind = dtype.pyarrow_dtype
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)
    return False


def _arrow_slices(array: Any) -> Iterator[tuple[np.ndarray, np.ndarray, int] | None]:
    """Arrow's own dictionary encoding of each slice: C++, one hash per value, with the
    GIL released (the fingerprint thread and the metrics encode two columns at once).
    Its dictionary is in order of first appearance, as pandas' uniques are, and holds no
    null (nulls stay null in the indices: they become the ``_NULL`` code)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = pa.array(array)  # the column's own chunks, no copy
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    for chunk in chunks:
        for lo in range(0, len(chunk), _FACTORIZE_SLICE):
            encoded = pc.dictionary_encode(chunk.slice(lo, _FACTORIZE_SLICE))
            if len(encoded.dictionary) > _SLICE_UNIQUES - 1:
                yield None
                return
            indices = encoded.indices
            n_null = indices.null_count
            if n_null:
                indices = pc.fill_null(indices, _NULL)
            codes = pc.cast(indices, pa.uint16()).to_numpy(zero_copy_only=False)
            yield codes, encoded.dictionary.to_numpy(zero_copy_only=False), n_null


def _object_slices(values: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, int] | None]:
    """Each slice of an object array factorized by object identity: the array's own
    pointers, read as integers, are hashed as integers -- several times faster than
    hashing the strings they point to. Rows that hold the same object hold equal values,
    so each distinct object's first row gives its code's value; distinct objects with
    equal values (strings built one per row) are merged by the one sorted factorize of
    all slices' values that follows. Where rows do not share objects, the slices are
    factorized by value instead (:func:`_hashed_slices`)."""
    values = np.ascontiguousarray(values)  # no copy unless strided; kept alive below
    addresses = _addresses(values)
    if not _shares_objects(values, addresses):
        yield from _hashed_slices(values)
        return
    for lo in range(0, len(values), _FACTORIZE_SLICE):
        codes, found = pd.factorize(addresses[lo : lo + _FACTORIZE_SLICE])
        if len(found) > _SLICE_UNIQUES - 1:
            yield None
            return
        # codes are numbered in order of first appearance: a code's first row is where
        # the running maximum first reaches it
        firsts = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1))
        yield codes.astype(np.uint16), values[lo + firsts], 0


def _hashed_slices(values: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, int] | None]:
    """Each slice of an object array factorized by value, unsorted: for rows that each hold
    their own string (``astype("string[python]")``, per-row string operations), where
    identity says nothing. One sorted factorize of the whole column sorts and renumbers
    every code in ``int64``; here only the slices' few distinct values are sorted (by the
    caller) and a slice's codes are narrowed to ``uint16`` at once (missing rows:
    ``_NULL``). Measured on 1e7 rows of 50 values: ``string[python]`` 0.39-0.46 s against
    0.74-1.08 s for ``pd.factorize(series, sort=True)`` (StringArray's own factorize is
    the slow part); ``object`` the same time as before, 88 MiB at peak against 201 MiB."""
    for lo in range(0, len(values), _FACTORIZE_SLICE):
        try:
            codes, found = pd.factorize(values[lo : lo + _FACTORIZE_SLICE])
        except TypeError:  # unhashable values: the whole-column factorize reports them
            yield None
            return
        if len(found) > _SLICE_UNIQUES - 1:
            yield None
            return
        n_null = int(np.count_nonzero(codes < 0))
        # -1 (missing) wraps to 65535, the _NULL code
        yield codes.astype(np.uint16), np.asarray(found, dtype=object), n_null


# Rows probed for whether equal values are shared objects.
_PROBE = 1 << 12


def _shares_objects(values: np.ndarray, addresses: np.ndarray) -> bool:
    """Whether rows with equal values mostly hold the same object, judged on the first
    rows: true where values come from a few objects (``astype(object)`` of a category,
    ``read_csv``), false where every row got its own string (``astype("string[python]")``
    or per-row string operations), for which hashing the strings themselves is quicker
    than hashing a million addresses and then the strings anyway."""
    head = addresses[:_PROBE]
    codes, found = pd.factorize(head)
    if len(found) <= 64:
        return True
    firsts = np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1))
    try:
        distinct = len(pd.unique(values[firsts]))
    except TypeError:  # unhashable values: the whole-column factorize reports them
        return False
    return len(found) <= 4 * distinct


def _addresses(values: np.ndarray) -> np.ndarray:
    """The pointers a contiguous object array holds, as a read-only ``uintp`` array over
    the same memory (numpy refuses ``view`` on arrays of references). Valid while
    ``values`` lives, which also keeps every object it points to alive."""
    import ctypes

    if not len(values):
        return np.empty(0, dtype=np.uintp)
    buffer = (ctypes.c_size_t * len(values)).from_address(values.ctypes.data)
    pointers = np.frombuffer(memoryview(buffer), dtype=np.uintp)
    pointers.flags.writeable = False
    return pointers


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


def missing_count(series: pd.Series, encoded: Callable[[], Encoded] | None = None) -> int:
    """Missing values in a column, by its dtype: none in a numpy integer or bool column,
    ``isnan`` for floats, code -1 for categories, the encoding's count for Python objects
    (when ``encoded`` gives it), ``isna`` otherwise.

    Factorizing a float column to find its missing values (what ``encode`` would do) costs
    seven seconds on ten million distinct scores; ``isnan`` costs ten milliseconds. For a
    column of Python objects it is the other way round: ``isna`` tests every object (0.35 s
    on ten million), while the encoding -- built anyway for its groups and the data
    fingerprint -- counts the missing values from a few distinct ones.
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
    if encoded is not None and _object_backed(dtype):
        try:
            return encoded().n_missing
        except (TypeError, ValueError):  # unhashable or unorderable values: test each
            pass
    return int(series.isna().sum())


def _object_backed(dtype: Any) -> bool:
    """Whether a column's values are Python objects (``object``, ``string[python]``)."""
    if isinstance(dtype, np.dtype):
        return dtype.kind == "O"
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "python"


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
