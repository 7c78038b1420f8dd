"""PySpark (local mode, one shared session): a policy with one control per kind of
statistic gives exactly the pandas path's statuses, values, groups, CIs and reasons.

Spark's first start costs ~17-35 s here, so this module holds the only Spark session of
the suite and as few queries as cover every view the engine seam builds (count tables,
the AUC pass, null counts, fetched rows)."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:  # make test installs it (.ci/ensure-java)
    pytest.skip("PySpark needs a Java runtime", allow_module_level=True)

from test_engines import POLICY, outcome

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[1]")
        .appName("vl-jupyter-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# one control for each view the engine seam builds: count tables over one column, over an
# intersection and overall, the AUC pass, null counts, and fetched rows (regression,
# calibration, k-anonymity)
SPARK_CONTROLS = (
    "demographic_parity_diff", "equalized_odds_diff@gh", "f1_score", "class_imbalance",
    "roc_auc", "data_completeness", "mae_group_diff", "calibration_diff", "k_anonymity",
)  # fmt: skip


def _policy() -> dict:
    by_id = {c["id"]: c for c in POLICY["controls"]}
    return {**POLICY, "controls": [by_id[i] for i in SPARK_CONTROLS]}


def test_spark_equals_the_pandas_path(spark) -> None:
    import warnings

    import vl_jupyter as vl

    rng = np.random.default_rng(5)
    n = 300
    y = rng.integers(0, 2, n)
    df = pd.DataFrame(
        {
            "y": y, "p": np.where(rng.random(n) < 0.8, y, 1 - y), "s": rng.random(n).round(2),
            "g": rng.choice(["a", "b", "c", None], n), "h": rng.choice(["x", "y"], n),
            "z": rng.choice(["u", "v", "w"], n), "y_num": rng.normal(size=n),
            "p_num": rng.normal(size=n), "income": np.where(rng.random(n) < 0.1, np.nan, 1.0),
        }
    )  # fmt: skip
    policy = _policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PySpark on pandas 3
        frame = spark.createDataFrame(df)
        expected = outcome(vl.enforce(df, policy, n_boot=40, seed=7, evidence=False))
        report = vl.enforce(frame, policy, n_boot=40, seed=7, evidence=False)
    assert outcome(report) == expected
    assert report.data["source"]["engine"] == "pyspark"
    assert [r.control_id for r in report if r.status == "error"] == []
    # Spark's distinct estimate planned one shared count table, in the controls' order
    assert ["g", "p", "h", "y"] in [t["columns"] for t in report.data["count_tables"]]
