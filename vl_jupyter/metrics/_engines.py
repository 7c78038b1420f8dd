"""The engine seam: count tables for data that is not a pandas DataFrame.

Every count metric is a function of per-group count tables, so for a polars frame, a
DuckDB relation or SQL text, a Parquet/CSV path, a PyArrow table or a PySpark DataFrame
the engine computes the small tables where the data lives and the metrics room does the
rest (formulas, CIs by resampling the tables, group bookkeeping) with the very code that
serves pandas. Concretely, each control gets a *view* of the data (``view_for``):

- count metrics: a ``GROUP BY`` over the control's (dimension, target, prediction)
  columns with the row count of each combination, handed to the ordinary ``Statistics``
  as a small frame whose rows carry those counts as weights; the count tables, and
  therefore values, groups and CIs, equal the ones built from the rows. ``plan`` fetches
  the tables of all controls first, as one table over the union of their columns when
  that stays small, and each control's table is summed out of it;
- ROC AUC: (2U, positives, negatives) counted in the engine: one ``GROUP BY score`` and
  a running sum over the sorted scores, or an engine's own counter
  (``register_auc_counter``; DuckDB sorts once, ``_engine_native``);
- completeness, missing rates and the score checks: null (and NaN, and infinity) counts
  per column, in one query;
- metrics that are not functions of count tables (regression errors, calibration,
  duplicates, k-anonymity, l-diversity): only the columns they read are fetched (into
  pandas), in one query, so their rows stay aligned.

One code path through narwhals (``group_by().agg(len())`` is pushed down to each engine);
SQL text and file paths are opened with DuckDB, so files are never loaded into pandas.
Opening a source is by registration (``register_opener``): the first opener that
recognises the object wins.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataSourceError, MetricError

if TYPE_CHECKING:
    from ._catalogue import MetricSpec

# Statistics whose figures are functions of count tables over the bound columns.
COUNT_STATISTICS = frozenset(
    {"outcome", "confusion", "confusion_overall", "classes", "multiclass_outcome",
     "multiclass_confusion", "group_sizes"}
)  # fmt: skip
# Frame metrics answered by per-column null counts in the engine, and ones that read only
# the column names and the row count.
NULL_COUNT_METRICS = frozenset({"data_completeness", "missing_rate_max"})
SCHEMA_ONLY_METRICS = frozenset({"sample_adequacy_ratio", "data_minimization"})
# Frame metrics known to read only the columns bound to them (roles and column params);
# any other frame metric is given every column, as pandas would have it.
BOUND_COLUMN_METRICS = frozenset(
    {"k_anonymity", "l_diversity", "t_closeness", "report_coverage", "chunk_diversity"}
)
WEIGHT = "__vl_rows"
_SQL_START = re.compile(r"^\s*(\(|select\b|with\b|from\b|values\b|pivot\b|table\b)", re.I)
_FILE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv"}


@dataclass
class Source:
    """A data set held by an engine: a narwhals LazyFrame and where it came from."""

    frame: Any  # narwhals LazyFrame
    engine: str
    engine_version: str
    origin: dict[str, Any] = field(default_factory=dict)
    native: Any = None

    @property
    def columns(self) -> list[str]:
        return list(self.frame.collect_schema().names())

    def schema(self) -> list[dict[str, str]]:
        return [{"name": n, "dtype": str(t)} for n, t in self.frame.collect_schema().items()]


Opener = Callable[[Any], "Source | None"]
_OPENERS: list[Opener] = []


def register_opener(opener: Opener, *, first: bool = False) -> Opener:
    """Add a way to open data as a ``Source`` (return None for objects it does not know)."""
    if first:
        _OPENERS.insert(0, opener)
    else:
        _OPENERS.append(opener)
    return opener


# Engine-specific shortcuts, by engine name (``Source.engine``), each optional: the
# generic narwhals queries answer for any engine without one.
#: (stats, target, score, pos_label) -> (2U, positives, negatives), or None to let the
#: generic ``GROUP BY score`` answer; called on scores already checked (``check_scores``)
AucCounter = Callable[["SourceStatistics", str, str, Any], "tuple[int, int, int] | None"]
_AUC_COUNTERS: dict[str, AucCounter] = {}
#: (source, columns) -> an estimate of each column's distinct values (nulls not counted),
#: cheap enough to run before the count tables (HyperLogLog in DuckDB, polars, Spark)
DistinctEstimator = Callable[[Source, tuple[str, ...]], "dict[str, int]"]
_DISTINCT_ESTIMATORS: dict[str, DistinctEstimator] = {}
#: the most cells (product of the columns' distinct values) of one shared count table
#: fetched for several controls; above it each control's columns are counted apart
SHARED_TABLE_MAX_CELLS = 100_000


def register_auc_counter(engine: str, counter: AucCounter) -> AucCounter:
    """Count ROC AUC's (2U, positives, negatives) natively for ``engine``."""
    _AUC_COUNTERS[engine] = counter
    return counter


def register_distinct_estimator(engine: str, estimator: DistinctEstimator) -> DistinctEstimator:
    """Estimate distinct values per column natively for ``engine`` (plans shared tables)."""
    _DISTINCT_ESTIMATORS[engine] = estimator
    return estimator


def check_scores(score: str, non_finite: int, missing: int) -> None:
    """Raise for a score column with missing (null or NaN) or infinite values: ``non_finite``
    counts NaN and infinities, ``missing`` nulls and NaN (the pandas path's checks)."""
    if non_finite > missing:  # NaN is not finite either; it is counted as missing
        raise MetricError(
            f"score column '{score}' holds {non_finite - missing} non-finite value(s), so "
            "the metric is undefined",
            hint="drop or replace those rows before enforcing",
        )
    if missing:
        raise MetricError(
            f"score column '{score}' has {missing} missing values, so the metric is "
            "undefined for those rows",
            hint="drop or impute them before enforcing",
        )


def open_source(data: Any) -> Source | None:
    """The data as an engine ``Source``; None for a pandas DataFrame (the numpy path)."""
    if isinstance(data, pd.DataFrame):
        return None
    for opener in _OPENERS:
        source = opener(data)
        if source is not None:
            return source
    raise TypeError(
        "enforce() needs a pandas DataFrame or a frame an engine holds (a polars "
        "DataFrame/LazyFrame, a PyArrow table, a DuckDB relation, a PySpark DataFrame), SQL "
        f"text or a .parquet/.csv path; got {type(data).__module__}.{type(data).__name__}"
    )


def is_data(data: Any) -> bool:
    """Whether ``enforce`` can read ``data`` (without running a query or opening a file)."""
    if isinstance(data, (pd.DataFrame, Mapping)):
        return True
    if isinstance(data, str) and _SQL_START.match(data):
        return True
    if isinstance(data, (str, os.PathLike)):
        lowered = os.fspath(data).lower()
        return lowered.endswith((*_FILE_SUFFIXES, ".csv.gz"))
    try:
        import narwhals as nw

        return not isinstance(nw.from_native(data), nw.Series)
    except (ImportError, TypeError):
        return False


def _version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "unknown"


def _duckdb():
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading SQL or files needs DuckDB: pip install 'vl-jupyter[duckdb]'"
        ) from exc
    return duckdb


def _connection(duckdb: Any) -> Any:
    """A connection of our own to the default database (a cursor of the default
    connection): a result the user left unfinished on the default connection
    (``duckdb.execute(...).fetchone()``) makes every later query there fail with
    "connection has an unfinished result", and must not break an audit."""
    return duckdb.default_connection().cursor()


def _from_relation(relation: Any, origin: dict[str, Any]) -> Source:
    import narwhals as nw

    return Source(nw.from_native(relation), "duckdb", _version("duckdb"), origin, relation)


@register_opener
def _open_sql(data: Any) -> Source | None:
    if not isinstance(data, str) or not _SQL_START.match(data):
        return None
    duckdb = _duckdb()
    try:
        relation = _connection(duckdb).sql(data)
    except duckdb.CatalogException:
        # a view registered on the default connection (duckdb.register) is visible there only
        try:
            relation = duckdb.sql(data)
        except duckdb.Error as exc:
            raise DataSourceError(f"the SQL query failed in DuckDB: {exc}") from exc
    except duckdb.Error as exc:
        raise DataSourceError(f"the SQL query failed in DuckDB: {exc}") from exc
    if relation is None:
        raise DataSourceError("the SQL text is a statement, not a query that returns rows")
    return _from_relation(relation, {"kind": "sql", "sql": data})


@register_opener
def _open_path(data: Any) -> Source | None:
    if not isinstance(data, (str, os.PathLike)):
        return None
    text = os.fspath(data)
    lowered = text.lower()
    kind = next((k for suffix, k in _FILE_SUFFIXES.items() if lowered.endswith(suffix)), None)
    if kind is None and lowered.endswith(".csv.gz"):
        kind = "csv"
    if kind is None:
        return None
    paths = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
    if not paths or not all(Path(p).is_file() for p in paths):
        missing = text if not paths else next(p for p in paths if not Path(p).is_file())
        raise DataSourceError(f"data file '{missing}' does not exist")
    duckdb = _duckdb()
    con = _connection(duckdb)
    reader = con.read_parquet if kind == "parquet" else con.read_csv
    try:
        relation = reader(paths if len(paths) > 1 else paths[0])
    except duckdb.Error as exc:
        raise DataSourceError(f"DuckDB cannot read '{text}' as {kind}: {exc}") from exc
    files = []
    for p in paths:
        stat = Path(p).stat()
        entry: dict[str, Any] = {"path": str(Path(p).resolve()), "bytes": stat.st_size,
                                 "mtime_ns": stat.st_mtime_ns}  # fmt: skip
        if kind == "parquet":
            entry["footer_sha256"] = _parquet_footer_hash(p)
        files.append(entry)
    return _from_relation(relation, {"kind": kind, "pattern": text, "files": files})


def _parquet_footer_hash(path: str) -> str:
    """SHA-256 of a Parquet file's footer (schema, row groups, sizes, column statistics),
    read in one small seek instead of the whole file. It identifies the file's layout, not
    every value (an edit that keeps sizes and min/max leaves it unchanged): the count-table
    hash next to it is what changes with any value a count metric reads."""
    import hashlib

    with open(path, "rb") as handle:
        handle.seek(-8, os.SEEK_END)
        tail = handle.read(8)
        if tail[4:] != b"PAR1":
            raise DataSourceError(f"'{path}' is not a Parquet file (no PAR1 footer)")
        length = int.from_bytes(tail[:4], "little")
        handle.seek(-(8 + length), os.SEEK_END)
        return hashlib.sha256(handle.read(length) + tail).hexdigest()


@register_opener
def _open_narwhals(data: Any) -> Source | None:
    """polars, PyArrow, DuckDB relations, PySpark, Ibis ... anything narwhals knows."""
    import narwhals as nw

    try:
        frame = nw.from_native(data)
    except TypeError:
        return None
    if isinstance(frame, nw.Series):
        return None
    implementation = nw.get_native_namespace(frame).__name__.split(".")[0]
    if implementation == "pandas":  # e.g. a subclass narwhals recognised: the numpy path
        return None
    lazy = frame.lazy() if isinstance(frame, nw.DataFrame) else frame
    engine = {"pyspark": "pyspark", "sqlframe": "sqlframe"}.get(implementation, implementation)
    return Source(lazy, engine, _version(engine), {"kind": "frame", "type": _type_name(data)},
                  data)  # fmt: skip


def _type_name(data: Any) -> str:
    return f"{type(data).__module__.split('.')[0]}.{type(data).__name__}"


def _collect(frame: Any) -> pd.DataFrame:
    """Collect a (small) narwhals result as pandas. A ``Categorical`` column (no declared
    order) gets its categories sorted, as the pandas path sorts text; an ``Enum`` keeps
    its declared order, as a pandas category does."""
    import narwhals as nw

    schema = frame.collect_schema()
    out = frame.collect(backend="pandas").to_native()
    for name, dtype in schema.items():
        if dtype == nw.Categorical and isinstance(out[name].dtype, pd.CategoricalDtype):
            cats = out[name].cat.categories
            out[name] = out[name].cat.reorder_categories(sorted(cats))
    return out


class SourceStatistics:
    """``Statistics`` for engine data: one view per column set, each computed by the engine.

    Keeps every count table its views built, so the evidence can fingerprint them.
    """

    in_memory = False

    def __init__(self, source: Source) -> None:
        import narwhals as nw

        self.source = source
        self.columns = source.columns
        self.n_rows = int(_collect(source.frame.select(nw.len().alias("n")))["n"].iloc[0])
        self._views: dict[tuple, Any] = {}
        self._codes: dict[tuple[int, str], tuple[np.ndarray, int]] = {}
        self._profiled: tuple[dict[str, int], dict[str, int]] | None = None

    def view_for(self, spec: MetricSpec, columns: Mapping[str, tuple[str, ...]]) -> Any:
        """The Statistics a control with ``spec`` on bound ``columns`` is measured on."""
        needed = _needed(columns)
        wanted = _count_columns(spec, columns)
        if wanted is not None:
            return self._view(("counts", wanted), lambda: self._counts(wanted))
        if spec.key in NULL_COUNT_METRICS or spec.key in SCHEMA_ONLY_METRICS:
            return self._view(("nulls",), self._schema)
        chosen = needed
        if spec.statistic == "frame" and spec.key not in BOUND_COLUMN_METRICS:
            chosen = tuple(dict.fromkeys((*needed, *self.columns)))  # every column, as pandas
        elif "sensitive" in self.columns and "sensitive" not in chosen:
            chosen = (*chosen, "sensitive")  # bound by its name when no role binds it
        chosen = chosen or tuple(self.columns)
        return self._view(("rows", chosen), lambda: self._rows(chosen))

    def plan(self, requests: Iterable[tuple[MetricSpec, Mapping[str, tuple[str, ...]]]]) -> None:
        """Fetch, before any control runs, the count tables the controls will read, in as
        few queries as is safe: one table over the union of their columns when the
        engine estimates it small (at most ``SHARED_TABLE_MAX_CELLS`` combinations), else
        one per column set that no other contains. Each control's table is then
        re-aggregated from one of these (``_finer_counts``) with no query of its own.
        Only a plan: a column set it cannot fetch is left to the control, which reports
        the error itself."""
        sets: list[tuple[str, ...]] = []
        for spec, columns in requests:
            wanted = _count_columns(spec, columns)
            if wanted is not None and wanted not in sets and set(wanted) <= set(self.columns):
                sets.append(wanted)
        if len(sets) < 2:
            return  # nothing shared: the control's own query is the plan
        union = tuple(dict.fromkeys(c for columns in sets for c in columns))
        if self._small(union):
            try:
                # capped: an estimate from the first rows can be low (a file sorted by a
                # column shows few of its values there); past the cap, the sets apart
                shared = self._counts(union, limit=SHARED_TABLE_MAX_CELLS)
            except Exception:  # the controls query again and report it themselves
                return
            if shared is not None:
                self._views[("counts", union)] = shared
                return
        for wanted in sets:
            if any(set(wanted) < set(other) for other in sets):
                continue
            try:
                self._view(("counts", wanted), partial(self._counts, wanted))
            except Exception:  # the controls query again and report it themselves
                return

    def _small(self, columns: tuple[str, ...]) -> bool:
        """Whether the engine estimates at most ``SHARED_TABLE_MAX_CELLS`` combinations of
        ``columns`` (False for an engine without an estimator, or one that fails)."""
        estimator = _DISTINCT_ESTIMATORS.get(self.source.engine)
        if estimator is None:
            return False
        try:
            estimate = estimator(self.source, columns)
        except Exception:  # a column it cannot estimate: no shared table
            return False
        cells = 1
        for column in columns:  # +1: a null is a group of its own
            cells *= estimate[column] + 1
        return cells <= SHARED_TABLE_MAX_CELLS

    def _view(self, key: tuple, build: Callable[[], Any]) -> Any:
        if key not in self._views:
            self._views[key] = build()
        return self._views[key]

    def _counts(self, columns: tuple[str, ...], limit: int | None = None) -> Any:
        """The count view over ``columns``: summed out of a finer table already fetched,
        else one ``GROUP BY`` in the engine. With ``limit``, None when the table has more
        combinations than that (at most ``limit + 1`` rows come back)."""
        import narwhals as nw

        from ._evaluate import WeightedStatistics

        self._check(columns)
        finer = self._finer_counts(columns)
        if finer is not None:  # re-aggregate a table already fetched: no query
            table, weights = self._regroup(finer, columns)
        else:
            grouped = self.source.frame.group_by(list(columns), drop_null_keys=False).agg(
                nw.len().alias(WEIGHT)
            )
            if limit is not None:
                grouped = grouped.head(limit + 1)
            table = _collect(grouped)
            if limit is not None and len(table) > limit:
                return None
            weights = table.pop(WEIGHT).to_numpy(dtype=np.int64)
        return WeightedStatistics(table, weights, self)

    def _regroup(self, finer: Any, columns: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray]:
        """``finer``'s rows summed over ``columns``: one row per combination that occurs
        (missing values a group of their own, groups in order of first appearance, the
        column dtypes kept), as ``groupby(dropna=False, observed=True, sort=False)``
        gives, by one mixed-radix code and ``bincount`` instead (a pandas groupby cost
        5-13 ms per table of 2,000 rows; each column is coded once per fetched table)."""
        frame = finer.frame
        code = np.zeros(len(frame), dtype=np.int64)
        for column in columns:
            key = (id(finer), column)
            if key not in self._codes:
                values = frame[column]
                if isinstance(values.dtype, pd.CategoricalDtype):  # -1 (missing) -> 0
                    codes = values.array.codes.astype(np.int64) + 1
                    size = len(values.cat.categories) + 1
                else:
                    codes, uniques = pd.factorize(values, use_na_sentinel=False)
                    codes, size = codes.astype(np.int64), len(uniques)
                self._codes[key] = (codes, max(size, 1))
            codes, size = self._codes[key]
            code = code * size + codes  # tables are small: no overflow before 2**63 cells
        unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")
        # float sums of integer counts are exact below 2**53 rows
        sums = np.bincount(inverse.reshape(-1), weights=finer.weights, minlength=len(unique))
        table = frame[list(columns)].iloc[first[order]].reset_index(drop=True)
        return table, sums[order].astype(np.int64)

    def _finer_counts(self, columns: tuple[str, ...]) -> Any:
        """The smallest count view already fetched over a superset of ``columns``."""
        wanted = set(columns)
        finer = [
            view
            for key, view in self._views.items()
            if key[0] == "counts" and wanted <= set(key[1])
        ]
        return min(finer, key=lambda view: len(view.frame), default=None)

    def _rows(self, columns: tuple[str, ...]) -> Any:
        from ._evaluate import Statistics

        self._check(columns)
        return Statistics(_collect(self.source.frame.select(list(columns))))

    def _check(self, columns: tuple[str, ...]) -> None:
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise MetricError(f"column '{unknown[0]}' is not in the data")

    def null_counts(self) -> dict[str, int]:
        """Missing values per column (nulls, plus NaN in float columns)."""
        return dict(self._profile()[0])

    def non_finite(self, column: str) -> int:
        """NaN and infinite values in ``column`` (0 for a column that is not float)."""
        return self._profile()[1].get(column, 0)

    def _profile(self) -> tuple[dict[str, int], dict[str, int]]:
        """Null (plus NaN) counts of every column and non-finite counts of the float
        ones, in one query on first use: completeness and ROC AUC's score checks read the
        same scan instead of one each."""
        if self._profiled is None:
            import narwhals as nw

            exprs = []
            floats = []
            for name, dtype in self.source.frame.collect_schema().items():
                # booleans cast before summing: Spark does not sum them
                missing = nw.col(name).is_null().cast(nw.Int64).sum()
                if dtype.is_float():
                    nan = nw.col(name).is_nan().fill_null(False).cast(nw.Int64).sum()
                    missing = missing + nan
                    finite = nw.col(name).is_finite().fill_null(True)
                    exprs.append((~finite).cast(nw.Int64).sum().cast(nw.Int64).alias(f"f{name}"))
                    floats.append(name)
                exprs.append(missing.cast(nw.Int64).alias(f"n{name}"))
            row = _collect(self.source.frame.select(exprs)).iloc[0]
            self._profiled = (
                {name: int(row[f"n{name}"]) for name in self.columns},
                {name: int(row[f"f{name}"]) for name in floats},
            )
        return self._profiled

    def roc_auc_counts(self, target: str, score: str, pos_label: Any) -> tuple[int, int, int]:
        """(2U, positives, negatives) of ``score`` against ``target == pos_label``, counted in
        the engine: U counts each (positive, negative) pair with the positive scored higher
        once, a tie half (2U keeps it an integer). An engine with a counter of its own
        (``register_auc_counter``) answers first; the rest group by the score."""
        import narwhals as nw

        self._check((target, score))
        dtype = self.source.frame.collect_schema()[score]
        if not dtype.is_numeric() or dtype == nw.Boolean:
            raise MetricError(f"score column '{score}' is not numeric ({dtype})")
        check_scores(score, self.non_finite(score), self._nulls_of(score))
        counter = _AUC_COUNTERS.get(self.source.engine)
        if counter is not None:
            counted = counter(self, target, score, pos_label)
            if counted is not None:
                return counted
        return self.grouped_auc_counts(target, score, pos_label)

    def grouped_auc_counts(self, target: str, score: str, pos_label: Any) -> tuple[int, int, int]:
        """(2U, positives, negatives) from one ``GROUP BY score`` (positives and rows per
        distinct score) and a running sum of the negatives over the sorted scores: the
        cheapest exact form when the scores repeat; on scores that are checked finite."""
        import narwhals as nw

        positive = (nw.col(target) == nw.lit(pos_label)).cast(nw.Int64)
        per_score = (
            self.source.frame.select(nw.col(score).alias("s"), positive.alias("p"))
            .group_by("s")
            .agg(nw.col("p").sum().alias("pos"), nw.len().alias("n"))
            .with_columns(nw.col("pos").cast(nw.Int64), nw.col("n").cast(nw.Int64))
            .with_columns((nw.col("n") - nw.col("pos")).alias("neg"))
            .with_columns(nw.col("neg").cum_sum().over(order_by="s").alias("cum_neg"))
        )
        below = (nw.col("pos") * (nw.col("cum_neg") - nw.col("neg"))).sum().cast(nw.Int64)
        ties = (nw.col("pos") * nw.col("neg")).sum().cast(nw.Int64)
        row = _collect(
            per_score.select(
                below.alias("below"),
                ties.alias("ties"),
                nw.col("pos").sum().cast(nw.Int64).alias("n_pos"),
                nw.col("neg").sum().cast(nw.Int64).alias("n_neg"),
            )
        ).iloc[0]
        return 2 * int(row["below"]) + int(row["ties"]), int(row["n_pos"]), int(row["n_neg"])

    def _nulls_of(self, column: str) -> int:
        return self._view(("nulls",), self._schema).missing(column)

    def _schema(self) -> Any:
        from ._evaluate import SchemaStatistics

        return SchemaStatistics(self.columns, self.n_rows, self.null_counts)

    def count_tables(self) -> list[tuple[tuple[str, ...], int]]:
        """(columns, distinct combinations) of every GROUP BY the views ran."""
        return [
            (key[1], len(view.frame)) for key, view in self._views.items() if key[0] == "counts"
        ]

    def views(self) -> dict[tuple, Any]:
        return dict(self._views)


def _count_columns(
    spec: MetricSpec, columns: Mapping[str, tuple[str, ...]]
) -> tuple[str, ...] | None:
    """The columns of the count table a control reads (None: it reads no count table).
    ROC AUC reads the target's labels from one; its score is counted by the engine."""
    if spec.statistic in COUNT_STATISTICS:
        return _needed(columns)
    if spec.key == "roc_auc":
        return (columns["target"][0],)
    return None


def _needed(columns: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Every column a control reads, in a stable order without repeats."""
    out: list[str] = []
    for role in sorted(columns):
        for column in columns[role]:
            if column not in out:
                out.append(column)
    return tuple(out)


# the engines' native shortcuts register themselves (they import this module)
from . import _engine_native  # noqa: E402, F401
