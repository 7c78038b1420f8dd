"""Native shortcuts of particular engines, registered with the engine seam (``_engines``).

The generic narwhals queries answer for every engine; these answer the same figures
faster where an engine has a better tool:

- ROC AUC on DuckDB: when the scores are mostly distinct (a float score has about one
  value per row), grouping by the score builds a hash table of one entry per row and then
  sorts it. One sort of the rows with two window functions over the same order does it
  once: each row's smallest and largest rank among its ties (``rank()`` and the default
  RANGE frame's ``count(*)``, which includes the peers), so twice the Mann-Whitney U is
  ``sum over positives of (rank_min + rank_max) - n_pos * (n_pos + 1)``: the midrank
  rank sum, exact in integers, ties counted half. Mostly repeated scores keep the
  ``GROUP BY``, which is then small.
- distinct-value estimates (HyperLogLog: DuckDB's ``approx_count_distinct``, polars'
  ``approx_n_unique``, Spark's ``approx_count_distinct``) over the first
  ``ESTIMATE_ROWS`` rows, so that the count tables of several controls are fetched as
  one table when it stays small.
"""

from __future__ import annotations

from typing import Any

from ._engines import (
    Source,
    SourceStatistics,
    register_auc_counter,
    register_distinct_estimator,
)

#: the midrank sort replaces the GROUP BY when the estimated distinct scores exceed this
#: share of the rows (measured at 1e6 rows: the GROUP BY costs 0.20 s of CPU at 58%
#: distinct against 0.18 s for the sort, 0.08 s at 9% distinct against 0.16 s)
MIDRANK_MIN_DISTINCT_SHARE = 0.5
#: distinct values are estimated on the first rows only (a full HyperLogLog scan of five
#: text columns cost 0.24 s of CPU at 1e7 rows; on 200,000 rows it still cost 40 ms at
#: 1e6, more than the shared GROUP BY of all the rows): an estimate decides which query
#: runs, never a figure. A uniform column with enough values to pass the bound shows
#: enough in 50,000 rows too; a sorted one may not, and the shared query's own cap
#: (``SHARED_TABLE_MAX_CELLS``) catches that
ESTIMATE_ROWS = 50_000


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_auc_counts(
    stats: SourceStatistics, target: str, score: str, pos_label: Any, *, method: str = "auto"
) -> tuple[int, int, int]:
    """(2U, positives, negatives) in DuckDB, on scores already checked finite: the midrank
    sort, or the ``GROUP BY score`` when the first rows repeat their scores (``method``:
    ``"auto"``, or ``"midrank"`` / ``"group_by"`` to choose, for tests)."""
    import narwhals as nw

    # the comparison with the label in narwhals (its literal rules are the generic path's)
    positive = (nw.col(target) == nw.lit(pos_label)).fill_null(False)
    relation = stats.source.frame.select(nw.col(score).alias("s"), positive.alias("p"))
    relation = relation.to_native()
    # the distinct share of the first rows picks the faster query, never the figure
    if method == "auto":
        distinct, sampled = relation.query(
            "vl_scores",
            f"SELECT approx_count_distinct(s), count(*) FROM (SELECT s FROM vl_scores "
            f"LIMIT {ESTIMATE_ROWS})",
        ).fetchall()[0]
        method = "midrank" if distinct >= MIDRANK_MIN_DISTINCT_SHARE * sampled else "group_by"
    if method == "group_by":
        return stats.grouped_auc_counts(target, score, pos_label)
    twice_ranks, n_pos, n = relation.query(
        "vl_scores",
        "SELECT coalesce(sum(CASE WHEN p THEN r_min + r_max END), 0)::HUGEINT, "
        "count(*) FILTER (WHERE p), count(*) FROM (SELECT p, rank() OVER w AS r_min, "
        "count(*) OVER w AS r_max FROM vl_scores WINDOW w AS (ORDER BY s))",
    ).fetchall()[0]
    n_pos, n = int(n_pos), int(n)
    return int(twice_ranks) - n_pos * (n_pos + 1), n_pos, n - n_pos


def _duckdb_distinct(source: Source, columns: tuple[str, ...]) -> dict[str, int]:
    exprs = ", ".join(f"approx_count_distinct({_quote(c)})" for c in columns)
    first = ", ".join(_quote(c) for c in columns)
    row = (
        source.frame.to_native()
        .query(
            "vl_data", f"SELECT {exprs} FROM (SELECT {first} FROM vl_data LIMIT {ESTIMATE_ROWS})"
        )
        .fetchall()[0]
    )
    return {c: int(v) for c, v in zip(columns, row, strict=True)}


def _polars_distinct(source: Source, columns: tuple[str, ...]) -> dict[str, int]:
    import polars as pl

    frame = source.frame.to_native().head(ESTIMATE_ROWS)
    row = frame.select([pl.col(c).approx_n_unique() for c in columns]).collect().row(0)
    return {c: int(v) for c, v in zip(columns, row, strict=True)}


def _spark_distinct(source: Source, columns: tuple[str, ...]) -> dict[str, int]:
    from pyspark.sql import functions as F

    native = source.frame.to_native().limit(ESTIMATE_ROWS)
    # backticks: a name with a dot is a column, not a struct field
    exprs = (F.approx_count_distinct(F.col("`" + c.replace("`", "``") + "`")) for c in columns)
    row = native.agg(*exprs).first()
    return {c: int(v) for c, v in zip(columns, row, strict=True)}


register_auc_counter("duckdb", duckdb_auc_counts)
register_distinct_estimator("duckdb", _duckdb_distinct)
register_distinct_estimator("polars", _polars_distinct)
register_distinct_estimator("pyspark", _spark_distinct)
