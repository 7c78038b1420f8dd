"""Benchmark ``enforce()`` on data an engine holds: the 16-control loan policy over a
Parquet file, counted by DuckDB (the file path, as ``vl-jupyter enforce --data`` does)
and by polars (``pl.scan_parquet``), each against that engine's own hand-written GROUP BY
queries for the same 16 figures on the same file, measured in the same run.

The file is generated in a temporary directory in chunks (it is never whole in memory)
and deleted afterwards. For each engine the peak resident memory (``VmHWM``) of a fresh
process that only imports vl_jupyter and runs the policy on the file is printed (this
process holds what generating the data left behind): the target is 1e8 rows through
DuckDB under 1 GB. DuckDB
runs with ``memory_limit`` (default 600MB, ``--duckdb-memory``) so that its sorts and
hash tables spill to disk instead of growing: a float score has about one value per row,
which ours sorts once (the midrank rank sum) and the peer groups by (one group per row)
before sorting the groups.

``--engines spark`` runs the policy on ``spark.read.parquet(file)`` in a ``local[2]``
session against Spark's own hand-written ``groupBy`` queries (DataFrame API) for the same
16 figures on the same DataFrame and session. Spark's work happens in its JVM, so no
peak RSS is printed for it (``VmHWM`` of this process would not see it).

Usage::

    python benchmarks/bench_engines.py --rows 1e6,1e7,1e8 [--repeat 2] [--engines duckdb,polars]
    python benchmarks/bench_engines.py --rows 1e6,1e7 --engines spark [--spark-memory 3g]
    python benchmarks/bench_engines.py --rows 2e5 --repeat 1     # smoke test

The benchmark reports targets as PASS/MISS; it never fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import DIMS, agree, figures, peak_extra_bytes, run_ours, timed
from loan import POLICY, make_loan

CHUNK_ROWS = 5_000_000


def write_parquet(n: int, path: Path) -> int:
    """The loan data (text group columns) written in chunks; returns the file's bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, n, CHUNK_ROWS):
        part = make_loan(min(CHUNK_ROWS, n - start), seed=start // CHUNK_ROWS, text="str")
        table = pa.Table.from_pandas(part, preserve_index=False)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        del part, table
    writer.close()
    return path.stat().st_size


def peak_rss_bytes(path: str, engine: str, memory: str) -> tuple[int | None, int | None]:
    """(peak resident memory of a fresh process that only imports vl_jupyter and runs the
    policy on the file, that peak minus its resident size before the run). A fresh process,
    because this one holds what generating the data left behind."""
    import json
    import subprocess

    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_engines as b; "
        "print(json.dumps(b.child_rss(sys.argv[2], sys.argv[3], sys.argv[4])))"
    )
    here = str(Path(__file__).resolve().parent)
    done = subprocess.run(
        [sys.executable, "-c", code, here, path, engine, memory],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        print(f"  !! memory run failed: {done.stderr.strip().splitlines()[-1:]}")
        return None, None
    peak, extra = json.loads(done.stdout.strip().splitlines()[-1])
    return peak, extra


def child_rss(path: str, engine: str, memory: str) -> tuple[int | None, int | None]:
    import duckdb

    duckdb.execute(f"SET memory_limit = '{memory}'")
    if engine == "polars":
        import polars as pl

        data = pl.scan_parquet(path)
    else:
        data = path
    with tempfile.TemporaryDirectory() as tmp:
        extra = peak_extra_bytes(lambda: run_ours(data, evidence_dir=tmp))
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024, extra
    return None, extra


# --- peers: each engine's own GROUP BY on the file --------------------------------------------
def duckdb_peer(path: str, cells: int) -> dict[str, float]:
    import duckdb

    con = duckdb.default_connection()
    source = f"read_parquet('{path}')"
    tables = {}
    for d in DIMS:
        keys = ", ".join(d) if isinstance(d, tuple) else d
        rows = con.execute(
            f"SELECT {keys}, target, prediction, count(*) AS n FROM {source} "
            f"GROUP BY ALL ORDER BY {keys}, target, prediction"
        ).fetchnumpy()
        tables[d] = rows["n"].reshape(-1, 2, 2)
    auc = con.execute(
        "SELECT (2 * sum(pos * (cum_neg - neg)) + sum(pos * neg)) / (2 * sum(pos) * sum(neg)) "
        "FROM (SELECT pos, neg, sum(neg) OVER (ORDER BY score) AS cum_neg FROM ("
        f" SELECT score, sum(target) AS pos, count(*) - sum(target) AS neg FROM {source}"
        " GROUP BY score))"
    ).fetchone()[0]
    names = [c[0] for c in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    missing = con.execute(
        "SELECT " + " + ".join(f'count(*) - count("{c}")' for c in names) + f" FROM {source}"
    ).fetchone()[0]
    return figures(tables, float(auc), int(missing), cells)


def polars_peer(path: str, cells: int) -> dict[str, float]:
    import polars as pl

    frame = pl.scan_parquet(path)
    tables = {}
    for d in DIMS:
        keys = [*(d if isinstance(d, tuple) else (d,)), "target", "prediction"]
        counts = frame.group_by(keys).len().sort(keys).collect()
        tables[d] = counts["len"].to_numpy().reshape(-1, 2, 2)
    per_score = (
        frame.group_by("score")
        .agg(pos=pl.col("target").cast(pl.Int64).sum(), n=pl.len().cast(pl.Int64))
        .with_columns(neg=pl.col("n") - pl.col("pos"))
        .sort("score")
        .with_columns(cum_neg=pl.col("neg").cum_sum())
        .select(
            below=(pl.col("pos") * (pl.col("cum_neg") - pl.col("neg"))).sum(),
            ties=(pl.col("pos") * pl.col("neg")).sum(),
            n_pos=pl.col("pos").sum(),
            n_neg=pl.col("neg").sum(),
        )
        .collect()
        .row(0, named=True)
    )
    auc = (2 * per_score["below"] + per_score["ties"]) / (
        2 * per_score["n_pos"] * per_score["n_neg"]
    )
    missing = int(frame.null_count().collect().sum_horizontal().item())
    return figures(tables, auc, missing, cells)


def spark_session(cores: int, memory: str, partitions: int):
    """One local Spark session for ours and the peer, bound to loopback, without its UI."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # never another interface
    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("vl-jupyter-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def spark_peer(frame, cells: int) -> dict[str, float]:
    """The 16 figures from Spark's own groupBy on ``frame``: one count table per dimension,
    the AUC as the Mann-Whitney U from a groupBy of the score and a running sum of the
    negatives over the sorted scores, and null (plus NaN) counts per column."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    tables = {}
    for d in DIMS:
        keys = [*(d if isinstance(d, tuple) else (d,)), "target", "prediction"]
        rows = frame.groupBy(*keys).count().orderBy(*keys).select("count").collect()
        tables[d] = np.array([r[0] for r in rows], dtype=np.int64).reshape(-1, 2, 2)
    per_score = frame.groupBy("score").agg(
        F.sum(F.col("target").cast("long")).alias("pos"), F.count(F.lit(1)).alias("n")
    )
    per_score = per_score.withColumn("neg", F.col("n") - F.col("pos"))
    running = Window.orderBy("score").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    u = (
        per_score.withColumn("cum_neg", F.sum("neg").over(running))
        .agg(
            F.sum(F.col("pos") * (F.col("cum_neg") - F.col("neg"))).alias("below"),
            F.sum(F.col("pos") * F.col("neg")).alias("ties"),
            F.sum("pos").alias("n_pos"),
            F.sum("neg").alias("n_neg"),
        )
        .first()
    )
    auc = (2 * u["below"] + u["ties"]) / (2 * u["n_pos"] * u["n_neg"])
    floats = {name for name, kind in frame.dtypes if kind in ("double", "float")}
    nulls = [
        F.sum((F.col(c).isNull() | F.isnan(c) if c in floats else F.col(c).isNull()).cast("long"))
        for c in frame.columns
    ]
    missing = sum(frame.agg(*nulls).first())
    return figures(tables, float(auc), int(missing), cells)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e6,1e7,1e8", help="comma-separated sizes")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per figure")
    parser.add_argument("--engines", default="duckdb,polars")
    parser.add_argument("--polars-max-rows", type=float, default=1e7)
    parser.add_argument("--duckdb-memory", default="600MB", help="DuckDB memory_limit")
    parser.add_argument("--spark-cores", type=int, default=2, help="Spark local[N]")
    parser.add_argument("--spark-memory", default="3g", help="Spark driver memory")
    parser.add_argument("--spark-partitions", type=int, default=8,
                        help="spark.sql.shuffle.partitions")  # fmt: skip
    args = parser.parse_args(argv)
    import duckdb

    duckdb.execute(f"SET memory_limit = '{args.duckdb_memory}'")
    engines = args.engines.split(",")
    spark = None
    if "spark" in engines:
        start = time.perf_counter()
        spark = spark_session(args.spark_cores, args.spark_memory, args.spark_partitions)
        print(f"Spark {spark.version} local[{args.spark_cores}] started in "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    print(f"bench_engines: {len(POLICY['controls'])} controls, {os.cpu_count()} CPUs, duckdb "
          f"{duckdb.__version__} (memory_limit {args.duckdb_memory}); medians of "
          f"{args.repeat} after a warm-up")  # fmt: skip
    rows = []
    for n in (int(float(x)) for x in args.rows.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "loan.parquet"
            start = time.perf_counter()
            size = write_parquet(n, path)
            print(f"\n== {n:,} rows: {size / 2**20:.0f} MiB Parquet, written in "
                  f"{time.perf_counter() - start:.0f} s ==", flush=True)  # fmt: skip
            cells = n * 9
            for engine in engines:
                if engine == "polars" and n > args.polars_max_rows:
                    continue
                if engine == "duckdb":
                    data, peer, handle = str(path), duckdb_peer, str(path)
                elif engine == "spark":
                    # both read the same DataFrame (the file, scanned again by each query)
                    data = handle = spark.read.parquet(str(path))
                    peer = spark_peer
                else:
                    import polars as pl

                    data, peer, handle = pl.scan_parquet(path), polars_peer, str(path)
                repeat = 1 if n >= 50_000_000 else args.repeat
                t_ours, report = timed(lambda data=data: run_ours(data, evidence_dir=tmp), repeat)
                rss = extra = None
                if engine != "spark":  # Spark's memory is its JVM's, not this process's
                    rss, extra = peak_rss_bytes(str(path), engine, args.duckdb_memory)
                t_peer, values = timed(lambda p=peer, h=handle, c=cells: p(h, c), repeat)
                ours = {r.control_id: r.actual_value for r in report}
                errors = [r.control_id for r in report if r.status == "error"]
                if errors:
                    print(f"  !! controls in error: {errors}: {report[errors[0]].reason}")
                agree(f"{engine} GROUP BY", ours, values)
                rows.append({"rows": n, "engine": engine, "ours": t_ours, "peer": t_peer,
                             "rss": rss, "extra": extra})  # fmt: skip
                print(f"  {engine:<7} ours {t_ours:.3f} s | own GROUP BY {t_peer:.3f} s | "
                      f"ratio {t_ours / t_peer:.2f} | peak RSS {_mib(rss)} MiB "
                      f"(+{_mib(extra)} MiB)", flush=True)  # fmt: skip
    print(f"\n{'rows':>12} {'engine':<7} {'ours (s)':>9} {'GROUP BY (s)':>12} {'ratio':>6} "
          f"{'peak RSS MiB':>12}")  # fmt: skip
    for r in rows:
        print(f"{r['rows']:>12,} {r['engine']:<7} {r['ours']:>9.3f} {r['peer']:>12.3f} "
              f"{r['ours'] / r['peer']:>6.2f} {_mib(r['rss']):>12}")  # fmt: skip
    if spark is not None:
        spark.stop()
    print("\nTargets:")
    for r in rows:
        ok = r["ours"] / r["peer"] <= 1.5
        print(f"  [{'PASS' if ok else 'MISS'}] {r['rows']:,} {r['engine']} within 1.5x of its "
              f"own GROUP BY: {r['ours'] / r['peer']:.2f}x")  # fmt: skip
        if r["engine"] == "duckdb" and r["rows"] >= 100_000_000 and r["rss"] is not None:
            print(f"  [{'PASS' if r['rss'] < 2**30 else 'MISS'}] 1e8 rows through DuckDB "
                  f"under 1 GB peak RSS: {_mib(r['rss'])} MiB")  # fmt: skip


def _mib(x: int | None) -> str:
    return "-" if x is None else f"{x / 2**20:.0f}"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
