"""Measure one control: bound columns -> sufficient statistic -> value, groups and CI.

``Statistics`` caches column encodings and count tables for one frame, so every control
that needs the same (dimension, target, prediction) combination shares one pass over the
rows. ``measure`` returns a ``Measurement``; it raises ``MetricError`` with a reason a
user can act on when the metric cannot be evaluated (the control's status is then
``error``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MetricError, MetricNotComputed
from ._bootstrap import bootstrap_interval
from ._catalogue import MetricSpec
from ._groups import describe_groups, exclude_small_groups, explain_undefined
from ._measurement import CISettings, Measurement
from ._stats import (
    MANY_VALUES,
    Encoded,
    GroupTable,
    bin_numeric,
    code_dtype,
    combine,
    count_cells,
    encode,
    indicator_codes,
    missing_count,
    rank_auc,
)
from ._validate import check_dimension_present, validate_inputs, with_declared_bands


class Statistics:
    """Encodings and count tables of one frame, computed on first use and shared.

    Thread-safe: the data fingerprint runs in a thread alongside the metrics and asks for
    the same text-column encodings (``encoded``), so each is built once, by whichever
    thread asks first, while the other waits for it.
    """

    #: the frame is in this process (its fingerprint can hash the values)
    in_memory = True
    #: rows stand for this many rows each (pushed-down count tables); None: one each
    weights: np.ndarray | None = None

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.n_rows = len(frame)
        self._cache: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    @property
    def columns(self) -> list[Any]:
        return list(self.frame.columns)

    def view_for(self, spec: MetricSpec, columns: Mapping[str, tuple[str, ...]]) -> Statistics:
        """The Statistics a control is measured on: for a pandas frame, this one (engine
        data gives each control a view the engine computed; see ``_engines``)."""
        return self

    def rows_checked(self, columns: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
        """The bound columns whose rows this Statistics holds, for the input checks (engine
        views that count a column in the engine check it there)."""
        return columns

    def all_rows(self) -> Encoded:
        """Every row as one group, for overall (non-grouped) metrics: a zero-strided view
        of a single 0 (no memory per row; count tables of one group never read it)."""

        def build() -> Encoded:
            zeros = np.broadcast_to(np.uint8(0), (len(self.frame),))
            return Encoded(None, ("all",), 0, False, compact=zeros, weights=self.weights)

        return self.cached(("all_rows",), build)

    def cached(self, key: tuple, build: Callable[[], Any]) -> Any:
        entry = self._cache.get(key)
        if entry is None:
            with self._lock:
                entry = self._cache.get(key)
                if entry is None:
                    entry = self._cache[key] = _Once()
        return entry.get(build)

    def encoded(self, column: str) -> Encoded:
        return self.cached(("encode", column), lambda: encode(self.frame[column]))

    def groups(self, columns: tuple[str, ...], bins: Any) -> tuple[Encoded, list[str]]:
        """Group codes of a (possibly intersectional, possibly binned) dimension."""
        warnings: list[str] = []
        parts = []
        for column in columns:
            series = self.frame[column]
            if isinstance(bins, int) and self.weights is not None:
                raise MetricError(
                    f"equal-frequency bins of '{column}' need the rows, and this data is "
                    "counted by its engine",
                    hint='give cut points instead (e.g. bins: "25,60")',
                )
            if bins is not None and pd.api.types.is_numeric_dtype(series.dtype):
                part = self.cached(("bins", column, bins), partial(bin_numeric, series, bins))
            else:
                part = self.encoded(column)
                distinct = len(part.labels) - (1 if part.n_missing else 0)
                if part.numeric and distinct > MANY_VALUES:
                    warnings.append(
                        f"dimension column '{column}' has {distinct} distinct numeric values, "
                        "each treated as a group; bin it with the 'bins' parameter "
                        '(e.g. bins: "25,60")'
                    )
            if part.n_missing:
                warnings.append(
                    f"dimension column '{column}' has {part.n_missing} missing values, "
                    "reported as the group '(missing)'"
                )
            parts.append(part)
        key = ("groups", columns, bins)
        return self.cached(key, lambda: self._weighted(combine(parts))), warnings

    def _weighted(self, enc: Encoded) -> Encoded:
        if self.weights is not None:
            enc.weights = self.weights
        return enc

    def labels_of(self, column: str, role: str) -> Encoded:
        """A target/prediction/score column; missing values make it unusable."""
        enc = self.encoded(column)
        if enc.n_missing:
            raise MetricError(
                f"{role} column '{column}' has {enc.n_missing} missing values, so the metric "
                "is undefined for those rows",
                hint="drop or impute them before enforcing",
            )
        return enc

    def indicator(self, column: str, role: str, pos_label: Any) -> np.ndarray:
        """1 where the column equals the favourable label, else 0."""

        def build() -> np.ndarray:
            enc = self.labels_of(column, role)
            if role == "prediction":
                self._reject_scores(column)
            index = _label_index(enc.labels, pos_label)
            if index is None and self._declares(column, pos_label):
                # a declared category no row takes: a model that never predicts it
                return np.zeros(len(self.frame), dtype=np.uint8)
            if index is None:
                shown = ", ".join(repr(v) for v in enc.labels[:10])
                raise MetricError(
                    f"pos_label {pos_label!r} does not occur in {role} column '{column}' "
                    f"(values: {shown})",
                    hint="set pos_label in enforce() or in the control's params",
                )
            # 0/1 as uint8 (the codes themselves where they are 0/1); count tables widen it
            return indicator_codes(enc, index)

        key = ("indicator", column, role, type(pos_label).__name__, pos_label)
        return self.cached(key, build)

    def _declares(self, column: str, label: Any) -> bool:
        """Whether a categorical column lists ``label`` among its categories."""
        dtype = self.frame[column].dtype
        if not isinstance(dtype, pd.CategoricalDtype):
            return False
        return _label_index(tuple(dtype.categories), label) is not None

    def _reject_scores(self, column: str) -> None:
        def build() -> bool:
            values = self.frame[column]
            if not pd.api.types.is_float_dtype(values.dtype):
                return False
            array = values.to_numpy()
            return bool(np.any(array != np.round(array)))

        if self.cached(("holds_scores", column), build):
            raise MetricError(
                f"prediction column '{column}' holds scores, not labels",
                hint="bind scores with score=..., or threshold them into labels",
            )

    def classes(self, columns: tuple[str, ...]) -> tuple[list[np.ndarray], tuple[Any, ...]]:
        """Codes of several label columns over their shared class set (sorted)."""

        def build() -> tuple[list[np.ndarray], tuple[Any, ...]]:
            encs = [self.labels_of(c, "label") for c in columns]
            union = sorted(set().union(*(e.labels for e in encs)), key=_sort_key)
            position = {label: i for i, label in enumerate(union)}
            codes = []
            for e in encs:
                lookup = [position[x] for x in e.labels]
                if lookup == list(range(len(lookup))):  # already the shared codes
                    codes.append(e.compact)
                else:
                    codes.append(np.asarray(lookup, code_dtype(len(union)))[e.compact])
            return codes, tuple(union)

        return self.cached(("classes", columns), build)

    def numeric(self, column: str, role: str) -> np.ndarray:
        series = self.frame[column]
        if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
            series.dtype
        ):
            raise MetricError(f"{role} column '{column}' is not numeric ({series.dtype})")
        values = self.cached(
            ("numeric", column), lambda: series.to_numpy(dtype=float, na_value=np.nan)
        )
        # counted by dtype (isnan for floats): encoding a float column to find its missing
        # values sorts every distinct value (7 s on ten million scores)
        n_missing = self.missing(column)
        if n_missing:
            raise MetricError(
                f"{role} column '{column}' has {n_missing} missing values, so the metric "
                "is undefined for those rows",
                hint="drop or impute them before enforcing",
            )
        return values

    def missing(self, column: str) -> int:
        """Missing values in ``column``, counted by its dtype (``isnan`` for floats)."""
        return self.cached(
            ("missing", column),
            lambda: missing_count(self.frame[column], lambda: self.encoded(column)),
        )

    def roc_auc(self, target: str, score: str, pos_label: Any) -> tuple[float, int, int]:
        """(AUC, rows, positives) of ``score`` against ``target == pos_label``."""

        def build() -> tuple[float, int, int]:
            positive = self.indicator(target, "target", pos_label)
            values = self.numeric(score, "score")
            return rank_auc(positive, values), len(values), int(np.count_nonzero(positive))

        return self.cached(("roc_auc", target, score, type(pos_label).__name__, pos_label), build)


class WeightedStatistics(Statistics):
    """Statistics of a small frame whose rows stand for ``weights`` rows each: one row per
    distinct combination of a control's columns, as an engine's GROUP BY returned it.

    Every count table built from it equals the table of the rows it stands for, so count
    metrics, their groups and their CIs are computed by the same code as for pandas.
    """

    weights: np.ndarray  # always set here (None only on the unweighted base class)

    def __init__(self, frame: pd.DataFrame, weights: np.ndarray, source: Any) -> None:
        super().__init__(frame)
        self.weights = np.asarray(weights, dtype=np.int64)
        self.n_rows = int(self.weights.sum())
        self.source = source

    def rows_checked(self, columns: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
        # a score is not grouped by (one group a row): the engine checks it (roc_auc_counts)
        return {r: c for r, c in columns.items() if all(x in self.frame.columns for x in c)}

    def encoded(self, column: str) -> Encoded:
        def build() -> Encoded:
            enc = encode(self.frame[column])
            if enc.n_missing:  # rows, not distinct combinations, are missing
                missing = enc.compact == len(enc.labels) - 1
                enc.n_missing = int(self.weights[missing].sum())
            enc.weights = self.weights
            return enc

        return self.cached(("encode", column), build)

    def missing(self, column: str) -> int:
        mask = self.frame[column].isna().to_numpy()
        return int(self.weights[mask].sum())

    def numeric(self, column: str, role: str) -> np.ndarray:
        raise RuntimeError("a weighted view has no row values; measure it on a rows view")

    def roc_auc(self, target: str, score: str, pos_label: Any) -> tuple[float, int, int]:
        def build() -> tuple[float, int, int]:
            enc = self.labels_of(target, "target")
            index = _label_index(enc.labels, pos_label)
            if index is None:
                self.indicator(target, "target", pos_label)  # the same error as for pandas
                return float("nan"), self.n_rows, 0
            label = enc.labels[index]
            label = label.item() if isinstance(label, np.generic) else label
            twice_u, n_pos, n_neg = self.source.roc_auc_counts(target, score, label)
            if n_pos == 0 or n_neg == 0:
                return float("nan"), self.n_rows, n_pos
            return twice_u / (2 * n_pos * n_neg), n_pos + n_neg, n_pos

        return self.cached(("roc_auc", target, score, type(pos_label).__name__, pos_label), build)


class SchemaStatistics(Statistics):
    """Engine data seen through its column names, row count and per-column null counts
    (counted in the engine on first use); no rows. For completeness, missing rates and the
    metrics that read only names and rows."""

    def __init__(
        self, columns: list[str], n_rows: int, null_counts: Callable[[], dict[str, int]]
    ) -> None:
        super().__init__(pd.DataFrame(columns=columns))
        self.n_rows = n_rows
        self._null_counts = null_counts

    def missing(self, column: str) -> int:
        return self.cached(("null counts",), self._null_counts)[str(column)]


def statistics_for(data: Any) -> Any:
    """The Statistics of ``data``: the numpy path for a pandas DataFrame (or a mapping of
    columns), else an engine's (``_engines.SourceStatistics``)."""
    if isinstance(data, Mapping):
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        return Statistics(data)
    from ._engines import SourceStatistics, open_source

    source = open_source(data)
    assert source is not None  # None only for a pandas DataFrame, handled above
    return SourceStatistics(source)


class _Once:
    """A value computed once; callers arriving while it is being built wait for it."""

    __slots__ = ("_done", "_error", "_owner", "_value")

    def __init__(self) -> None:
        self._done = threading.Event()
        self._owner: int | None = None
        self._value: Any = None
        self._error: BaseException | None = None

    def get(self, build: Callable[[], Any]) -> Any:
        if not self._done.is_set():
            me = threading.get_ident()
            with _CLAIM:
                claim = self._owner is None
                if claim:
                    self._owner = me
            if claim:
                try:
                    self._value = build()
                except BaseException as exc:  # every waiter gets the same error
                    self._error = exc
                finally:
                    self._done.set()
            elif self._owner == me:  # a build that needs its own result: a bug, not a hang
                raise RuntimeError("Statistics.cached: recursive build of the same key")
            else:
                self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value


_CLAIM = threading.Lock()


def _sort_key(value: Any) -> tuple[str, str]:
    return (
        (type(value).__name__, str(value))
        if not isinstance(value, (int, float))
        else ("", f"{value:020.6f}")
    )


def _label_index(labels: tuple[Any, ...], wanted: Any) -> int | None:
    for i, label in enumerate(labels):
        if label == wanted and isinstance(label, str) == isinstance(wanted, str):
            return i
    return None


def measure(
    spec: MetricSpec,
    params: Mapping[str, Any],
    columns: Mapping[str, tuple[str, ...]],
    stats: Statistics,
    ci: CISettings,
    baseline: Mapping[str, Any] | None = None,
) -> Measurement:
    """Compute ``spec`` on the bound ``columns`` (role -> column names). ``baseline`` is the
    same control's table in the baseline run, for the drift metrics.

    The catalogue entry decides what runs: a formula of a count table (``kind == "count"``,
    with a multinomial-bootstrap interval from the same formula), a function of the frame
    or of per-group sums (``"measure"``), or, for keys other tools define that cannot be
    computed honestly, an error saying why (``"unsupported"``).
    """
    if spec.kind == "unsupported":
        raise MetricNotComputed(
            spec.unsupported, hint="docs/metrics.md lists the metrics computed here"
        )
    if stats.n_rows == 0:
        raise MetricError("the data has no rows")
    # engine data: the view the engine computed for this control (pandas: stats itself)
    stats = stats.view_for(spec, columns)
    validate_inputs(spec, params, stats.rows_checked(columns), stats)
    metric = _CountMetric(spec, params, columns, stats, ci)
    metric.baseline = baseline
    if spec.kind == "count":
        return metric.run()
    assert spec.compute is not None  # the catalogue checks every entry has one
    return spec.compute(metric)


class _CountMetric:
    """One metric being measured: its spec, params, bound columns and the frame's
    statistics (every computation reads these), plus the count-table path with its
    bootstrap interval."""

    def __init__(self, spec, params, columns, stats: Statistics, ci: CISettings) -> None:
        if spec.prepare is not None:
            params = spec.prepare(dict(params))
        self.spec, self.params, self.columns, self.stats, self.ci = spec, params, columns, stats, ci
        self.pos_label = params.get("pos_label", 1)
        self.warnings: list[str] = []
        self.details: dict[str, Any] = {}
        #: the baseline run's table of this control (drift metrics), set by ``measure``
        self.baseline: Mapping[str, Any] | None = None

    # -- building the table -------------------------------------------------------------
    def group(self) -> Encoded:
        if "dimension" not in self.columns:
            return self.stats.all_rows()
        group, warnings = self.stats.groups(self.columns["dimension"], self.params.get("bins"))
        self.warnings.extend(warnings)
        return group

    def _outcome_column(self) -> str:
        role = "prediction" if "prediction" in self.columns else "target"
        self.details["outcome"] = {"role": role, "column": self.columns[role][0]}
        return self.columns[role][0]

    def table(self) -> GroupTable:
        s, stat, cols = self.stats, self.spec.statistic, self.columns
        group = self.group()
        dim = cols.get("dimension", ())
        pos = self.pos_label
        key: tuple[Any, ...]
        if stat == "outcome":
            column = self._outcome_column()
            role = self.details["outcome"]["role"]
            key = ("outcome", dim, self.params.get("bins"), column, pos)
            return s.cached(key, lambda: count_cells(group, (s.indicator(column, role, pos), 2)))
        if stat == "confusion":
            t, p = cols["target"][0], cols["prediction"][0]
            key = ("confusion", dim, self.params.get("bins"), t, p, pos)
            return s.cached(
                key,
                lambda: count_cells(
                    group,
                    (s.indicator(t, "target", pos), 2),
                    (s.indicator(p, "prediction", pos), 2),
                ),
            )
        if stat in ("confusion_overall", "multiclass_confusion"):
            t, p = cols["target"][0], cols["prediction"][0]
            s._reject_scores(p)
            (tc, pc), labels = s.classes((t, p))
            k = len(labels)
            key = (stat, dim, self.params.get("bins"), t, p)
            table = s.cached(key, lambda: count_cells(group, (tc, k), (pc, k)))
            return GroupTable(table.labels, table.counts, labels)
        if stat in ("classes", "multiclass_outcome"):
            column = cols["target"][0] if stat == "classes" else self._outcome_column()
            (codes,), labels = s.classes((column,))
            key = (stat, dim, self.params.get("bins"), column)
            table = s.cached(key, lambda: count_cells(group, (codes, len(labels))))
            return GroupTable(table.labels, table.counts, labels)
        if stat == "group_sizes":
            return s.cached(("sizes", dim, self.params.get("bins")), lambda: count_cells(group))
        raise KeyError(stat)

    # -- computing -----------------------------------------------------------------------
    def run(self) -> Measurement:
        table = self.table()
        if "dimension" in self.columns:
            dimension = self.columns["dimension"]
            bins = self.params.get("bins")
            table = self.stats.cached(  # cached: the draws are keyed by the table's counts
                ("declared bands", id(table.counts), bins),
                partial(with_declared_bands, dimension, bins, table),
            )
            check_dimension_present(dimension, table)
        keep, excluded = exclude_small_groups(self, table)
        assert self.spec.compute is not None
        formula = self.spec.compute(self, table)
        counts = table.counts[keep][None]
        value, per_group = formula(counts)
        point = float(value[0])
        labels = [label for label, k in zip(table.labels, keep, strict=True) if k]
        if np.isnan(point):
            raise MetricError(explain_undefined(self, labels, counts[0], per_group[0]))
        for name, other in self.spec.companions:  # other readings of the same table
            companion = float(other(counts)[0][0])
            self.details[name] = None if np.isnan(companion) else companion
        result = Measurement(
            value=point,
            n=int(table.counts.sum()),
            groups=describe_groups(self, labels, counts[0], per_group[0], table),
            excluded_groups=excluded,
            warnings=self.warnings,
            details=self.details,
        )
        if self.ci.enabled and self.ci.n_boot > 0 and self.spec.ci:
            # controls reading the same cached table share one set of draws
            bootstrap_interval(
                result,
                self.spec.key,
                formula,
                table.counts,
                keep,
                per_group[0],
                self.stats.cached,
                self.ci,
            )
        return result
