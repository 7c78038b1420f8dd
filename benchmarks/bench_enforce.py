"""Benchmark ``enforce()``: a 12-control model policy over 1M and 10M rows.

The policy has 7 fairness controls (over a binary ``sex`` and a 10-group ``region``), 3
performance controls and 2 data-quality controls. Measured in the same run:

- ours: ``vl.enforce`` end to end (evidence written to a temp dir), and also with
  ``evidence=False``, the confidence-interval cost (``ci=True`` minus ``ci=False``, 1000
  multinomial replicates per control) and the fingerprint cost (``fingerprint(df)``);
- floor: a bare numpy pass, one ``np.bincount(g*4 + y*2 + p)`` per (dimension, target,
  prediction) combination the policy needs, on integer arrays encoded beforehand (not
  timed), plus the missing-value pass for completeness -- no pandas, no policy, no report;
- fairlearn: ``MetricFrame`` computing the group metrics behind the fairness controls
  (selection rate, TPR, FPR, precision per group; one MetricFrame per sensitive feature)
  and their ``difference()``/``ratio()``, at 1M rows only.

Group columns are pandas ``category`` (the first row of each size); the ``object`` row has
the same data with ``sex``/``region`` as plain Python strings, as users often have them.

Usage: ``.venv/bin/python benchmarks/bench_enforce.py [--quick]`` (``--quick``: 100k rows,
one repeat, a smoke test). The benchmark reports targets as PASS/MISS; it never fails.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

import vl_jupyter as vl
from vl_jupyter.enforcement._fingerprint import fingerprint

N_BOOT = 1000
# fairlearn runs slower than this are measured once (the whole run must stay short)
FAIRLEARN_ONCE_S = 10.0
# the CI cost is the median of this many (ci=False, ci=True) pairs, at least
CI_PAIRS = 5
REGIONS = [f"region_{i:02d}" for i in range(10)]

POLICY = {
    "vl-policy": 1,
    "title": "Benchmark model policy (12 controls)",
    "defaults": {"params": {"pos_label": 1}},
    "controls": [
        # fairness on the model (prediction bound)
        {"id": "di-sex", "metric": "disparate_impact", "operator": "gt", "threshold": 0.8,
         "inputs": {"prediction": "prediction", "dimension": "sex"}},
        {"id": "dp-region", "metric": "demographic_parity_diff", "operator": "lt",
         "threshold": 0.1, "inputs": {"prediction": "prediction", "dimension": "region"}},
        {"id": "eop-sex", "metric": "equal_opportunity_diff", "operator": "lt", "threshold": 0.1,
         "inputs": {"target": "target", "prediction": "prediction", "dimension": "sex"}},
        {"id": "eod-region", "metric": "equalized_odds_diff", "operator": "lt", "threshold": 0.2,
         "inputs": {"target": "target", "prediction": "prediction", "dimension": "region"}},
        {"id": "eor-sex", "metric": "equalized_odds_ratio", "operator": "gt", "threshold": 0.8,
         "inputs": {"target": "target", "prediction": "prediction", "dimension": "sex"}},
        {"id": "pp-region", "metric": "predictive_parity_diff", "operator": "lt",
         "threshold": 0.1,
         "inputs": {"target": "target", "prediction": "prediction", "dimension": "region"}},
        {"id": "fpr-sex", "metric": "false_positive_rate_diff", "operator": "lt",
         "threshold": 0.1,
         "inputs": {"target": "target", "prediction": "prediction", "dimension": "sex"}},
        # performance
        {"id": "accuracy", "metric": "accuracy_score", "operator": "gt", "threshold": 0.7,
         "inputs": {"target": "target", "prediction": "prediction"}},
        {"id": "f1", "metric": "f1_score", "operator": "gt", "threshold": 0.7,
         "inputs": {"target": "target", "prediction": "prediction"}},
        {"id": "precision", "metric": "precision_score", "operator": "gt", "threshold": 0.7,
         "inputs": {"target": "target", "prediction": "prediction"}},
        # data quality
        {"id": "completeness", "metric": "data_completeness", "operator": "ge",
         "threshold": 0.95},
        {"id": "region-size", "metric": "group_size_min", "operator": "ge", "threshold": 30,
         "inputs": {"dimension": "region"}},
    ],
}  # fmt: skip
BINDINGS = {"target": "target", "prediction": "prediction", "sex": "sex", "region": "region"}


# --- data -------------------------------------------------------------------------------------
def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    """Fixed-seed synthetic model output; ``sex``/``region`` as pandas categories."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n, dtype=np.int8)
    region = rng.choice(10, size=n, p=np.linspace(1, 3, 10) / np.linspace(1, 3, 10).sum())
    region = region.astype(np.int8)
    income = rng.normal(50.0, 15.0, n)
    tenure = rng.exponential(5.0, n)
    base = 0.35 + 0.02 * region + 0.05 * sex
    target = (rng.random(n) < base).astype(np.int8)
    # the model agrees with the target 85% of the time, and favours sex=1 and high regions
    flip = rng.random(n) < 0.15
    prediction = np.where(flip, 1 - target, target)
    bias = rng.random(n) < (0.03 * sex + 0.005 * region)
    prediction = np.where(bias, 1, prediction).astype(np.int8)
    score = np.clip(0.5 * prediction + 0.3 * target + 0.2 * rng.random(n), 0.0, 1.0)
    income[rng.random(n) < 0.02] = np.nan  # a few missing values for the quality controls
    return pd.DataFrame(
        {
            "target": target,
            "prediction": prediction,
            "score": score,
            "sex": pd.Categorical.from_codes(sex, ["female", "male"]),
            "region": pd.Categorical.from_codes(region, REGIONS),
            "income": income,
            "tenure": tenure,
        }
    )


def as_strings(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in ("sex", "region"):
        out[column] = df[column].astype(object)
    return out


# --- timing -----------------------------------------------------------------------------------
def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls after one warm-up call; and the last result."""
    result = fn()  # warm-up
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ci_pairs(df: pd.DataFrame, pairs: int) -> tuple[float, float, float]:
    """Median times with and without CIs (evidence off), and the median of the paired
    differences: runs alternate, so load on the machine cancels out of the CI cost."""
    run_ours(df, ci=True, evidence=False, evidence_dir=None)  # warm-up
    on, off = [], []
    for _ in range(pairs):
        for ci, times in ((False, off), (True, on)):
            gc.collect()
            start = time.perf_counter()
            run_ours(df, ci=ci, evidence=False, evidence_dir=None)
            times.append(time.perf_counter() - start)
    cost = statistics.median(a - b for a, b in zip(on, off, strict=True))
    return statistics.median(on), statistics.median(off), cost


def run_ours(df: pd.DataFrame, *, ci: bool, evidence: bool, evidence_dir: str | None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vl.enforce(
            df,
            POLICY,
            ci=ci,
            n_boot=N_BOOT,
            seed=0,
            evidence=evidence,
            evidence_dir=evidence_dir,
            **BINDINGS,
        )


# --- floor: bare numpy ------------------------------------------------------------------------
def encode_for_floor(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Integer arrays for the floor (not timed): what a hand-written pass would start from."""
    return {
        "y": df["target"].to_numpy().astype(np.intp),
        "p": df["prediction"].to_numpy().astype(np.intp),
        "sex": pd.Categorical(df["sex"]).codes.astype(np.intp),
        "region": pd.Categorical(df["region"]).codes.astype(np.intp),
        "float_columns": [df[c].to_numpy() for c in ("score", "income", "tenure")],
    }


def floor_pass(a: dict[str, np.ndarray]) -> list[np.ndarray]:
    """One bincount per combination the policy needs, and the missing-value pass."""
    y, p, sex, region = a["y"], a["p"], a["sex"], a["region"]
    out = [
        np.bincount(sex * 2 + p, minlength=4),  # selection rate by sex
        np.bincount(region * 2 + p, minlength=20),  # selection rate by region
        np.bincount(sex * 4 + y * 2 + p, minlength=8),  # confusion by sex
        np.bincount(region * 4 + y * 2 + p, minlength=40),  # confusion by region
        np.bincount(y * 2 + p, minlength=4),  # overall confusion (performance)
        np.bincount(region, minlength=10),  # group sizes
    ]
    out.append(np.array([int(np.isnan(c).sum()) for c in a["float_columns"]]))
    return out


# --- peer: fairlearn --------------------------------------------------------------------------
def fairlearn_pass(df: pd.DataFrame) -> dict[str, float]:
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import precision_score

    y, p = df["target"], df["prediction"]
    by_sex = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y,
        y_pred=p,
        sensitive_features=df["sex"],
    )
    by_region = MetricFrame(
        metrics={
            "sr": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "ppv": precision_score,
        },
        y_true=y,
        y_pred=p,
        sensitive_features=df["region"],
    )
    ds, rs = by_sex.difference(), by_sex.ratio()
    dr = by_region.difference()
    return {
        "di-sex": float(rs["sr"]),
        "dp-region": float(dr["sr"]),
        "eop-sex": float(ds["tpr"]),
        "eod-region": float(max(dr["tpr"], dr["fpr"])),
        "eor-sex": float(min(rs["tpr"], rs["fpr"])),
        "pp-region": float(dr["ppv"]),
        "fpr-sex": float(ds["fpr"]),
    }


# --- report -----------------------------------------------------------------------------------
def fmt(x: float | None, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def bench_size(n: int, repeat: int, with_fairlearn: bool, rows: list, checks: dict) -> None:
    t0 = time.perf_counter()
    cat = make_data(n)
    print(f"\n== {n:,} rows (data built in {time.perf_counter() - t0:.1f} s; "
          f"{cat.memory_usage(deep=False).sum() / 2**20:.0f} MiB as category) ==", flush=True)  # fmt: skip
    floor_arrays = encode_for_floor(cat)
    t_floor, floor_out = timed(lambda: floor_pass(floor_arrays), repeat)

    fair = None
    if with_fairlearn:
        import fairlearn.metrics  # noqa: F401 - imports are not part of the timing
        import sklearn.metrics  # noqa: F401

        start = time.perf_counter()
        fair_values = fairlearn_pass(cat)
        fair = time.perf_counter() - start
        if fair < FAIRLEARN_ONCE_S:  # fast enough to take the median of several runs
            fair, fair_values = timed(lambda: fairlearn_pass(cat), repeat)
        else:
            print(f"  fairlearn took {fair:.1f} s: measured once (no warm-up, imports excluded)")

    for variant, df in (("category", cat), ("object str", None)):
        if df is None:  # the string frame is built only when it is measured
            df = as_strings(cat)
        with tempfile.TemporaryDirectory() as tmp:
            t_total, report = timed(
                lambda df=df, tmp=tmp: run_ours(df, ci=True, evidence=True, evidence_dir=tmp),
                repeat,
            )
        t_noev, t_noci, ci_cost = ci_pairs(df, max(repeat, CI_PAIRS))
        t_fp, _ = timed(lambda df=df: fingerprint(df), repeat)
        statuses = {r.control_id: r.status for r in report}
        errors = [c for c, s in statuses.items() if s == "error"]
        if errors:
            print(f"  !! controls in error: {errors}")
        if variant == "category":
            _check_floor(report, floor_out)
            if with_fairlearn:
                _check_fairlearn(report, fair_values)
        rows.append(
            {
                "rows": n,
                "variant": variant,
                "ours": t_total,
                "no_evidence": t_noev,
                "no_ci": t_noci,
                "ci": ci_cost,
                "fingerprint": t_fp,
                "floor": t_floor,
                "fairlearn": fair if variant == "category" else None,
            }
        )
        print(
            f"  {variant:<10} enforce {t_total:.3f} s | evidence=False {t_noev:.3f} s | "
            f"ci=False {t_noci:.3f} s | CI cost {ci_cost * 1000:.0f} ms | "
            f"fingerprint {t_fp * 1000:.0f} ms | floor {t_floor:.3f} s"
            + (f" | fairlearn {fair:.3f} s" if fair is not None and variant == "category" else ""),
            flush=True,
        )
        del df


def _check_floor(report, floor_out) -> None:
    """Our per-group counts equal the floor's (a sanity check that both count the same)."""
    eop = report["eop-sex"].metadata["groups"]
    by_sex = floor_out[2].reshape(2, 2, 2)
    ours = [(g["tp"], g["fn"]) for g in eop.values()]
    floor = [(int(c[1, 1]), int(c[1, 0])) for c in by_sex]
    if ours != floor:
        print(f"  !! counts differ from the floor: {ours} vs {floor}")


def _check_fairlearn(report, fair: dict[str, float]) -> None:
    worst = max(abs(report[k].actual_value - v) for k, v in fair.items())
    print(f"  values agree with fairlearn to {worst:.1e} (7 fairness controls)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, one repeat")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"enforce() benchmark: {len(POLICY['controls'])} controls, n_boot={N_BOOT}, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"pandas {pd.__version__}")  # fmt: skip
    print("group columns: pandas 'category' dtype ('category' rows) and plain Python "
          "strings ('object str' rows); times are medians after one warm-up")  # fmt: skip
    rows: list[dict] = []
    checks: dict = {}
    if args.quick:
        bench_size(100_000, 1, True, rows, checks)
    else:
        bench_size(1_000_000, 3, True, rows, checks)
        bench_size(10_000_000, 2, False, rows, checks)
    print_table(rows, quick=args.quick)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory {peak:.1f} GiB; whole run {time.perf_counter() - started:.0f} s")


def print_table(rows: list[dict], quick: bool) -> None:
    header = (f"{'rows':>11} {'variant':<10} {'ours (s)':>9} {'floor (s)':>9} "
              f"{'ours/floor':>10} {'fairlearn (s)':>13} {'fairlearn/ours':>14} "
              f"{'no evid. (s)':>12} {'CI (ms)':>8} {'fingerpr. (ms)':>14}")  # fmt: skip
    print("\n" + header)
    print("-" * len(header))
    for r in rows:
        fair = r["fairlearn"]
        print(
            f"{r['rows']:>11,} {r['variant']:<10} {r['ours']:>9.3f} {r['floor']:>9.3f} "
            f"{r['ours'] / r['floor']:>10.1f} {fmt(fair):>13} "
            f"{fmt(fair / r['ours'] if fair else None, '.0f'):>14} "
            f"{r['no_evidence']:>12.3f} {r['ci'] * 1000:>8.0f} {r['fingerprint'] * 1000:>14.0f}"
        )
    print("\nTargets (category group columns; object-string figures in brackets):")
    if quick:
        print("  (--quick is a smoke test: the targets are set for 1M and 10M rows, where the")
        print("   fixed cost of writing evidence no longer dominates)")
    small = 100_000 if quick else 1_000_000
    large = None if quick else 10_000_000

    def get(n, variant):
        return next((r for r in rows if r["rows"] == n and r["variant"] == variant), None)

    def line(name: str, ok: bool, text: str) -> None:
        print(f"  [{'PASS' if ok else 'MISS'}] {name}: {text}")

    c, s = get(small, "category"), get(small, "object str")
    if c["fairlearn"]:
        speedup = c["fairlearn"] / c["ours"]
        line(f">= 100x faster than fairlearn at {small:,} rows", speedup >= 100,
             f"{speedup:.0f}x ({c['fairlearn']:.3f} s vs {c['ours']:.3f} s)"
             f" [{c['fairlearn'] / s['ours']:.0f}x]")  # fmt: skip
    for n in (small, large):
        if n is None:
            continue
        c, s = get(n, "category"), get(n, "object str")
        line(f"within 3x of the numpy floor at {n:,} rows", c["ours"] / c["floor"] <= 3,
             f"{c['ours'] / c['floor']:.1f}x [{s['ours'] / s['floor']:.1f}x]")  # fmt: skip
    if large is not None:
        c, s = get(large, "category"), get(large, "object str")
        line(
            f"under 3 s at {large:,} rows", c["ours"] < 3, f"{c['ours']:.2f} s [{s['ours']:.2f} s]"
        )
    for n in (small, large):
        if n is None:
            continue
        c, s = get(n, "category"), get(n, "object str")
        line(
            f"CIs add under 50 ms at {n:,} rows",
            c["ci"] < 0.05,
            f"{c['ci'] * 1000:.0f} ms [{s['ci'] * 1000:.0f} ms]",
        )


if __name__ == "__main__":
    main()
