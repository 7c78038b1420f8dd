"""Drift of what was audited, from count tables alone.

A drift metric compares this run's table with the same control's table in a baseline
run's evidence, so no raw baseline data is needed and every engine that builds count
tables can feed it. The tables are small: group counts of a dimension, positives per
group, or a 100-bin histogram of a score.

- ``group_share_psi``: population stability index of the dimension's group shares, with a
  chi-square test of homogeneity (baseline vs current counts).
- ``label_rate_shift``: the largest change of a group's positive rate (target, or
  prediction when bound), with per-group two-proportion z-tests, Bonferroni-combined.
- ``score_psi``: PSI of the score over the baseline's deciles, with a two-sample
  Kolmogorov-Smirnov test on the binned distributions (on 100 bins the binned D is a lower
  bound of the raw one, so the test is conservative).

PSI = sum_i (a_i - e_i) ln(a_i / e_i) over shares ``e`` (baseline) and ``a`` (current),
each share floored at ``1e-4`` so an empty bin does not make it infinite. The usual
reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 a significant shift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricError
from ._bootstrap import multinomial_replicates, summarise
from ._measurement import Measurement

if TYPE_CHECKING:
    from ._evaluate import _CountMetric

PSI_FLOOR = 1e-4
#: Fine histogram of a score, from which the baseline's deciles are taken.
SCORE_BINS = 100
DECILES = 10


def psi(expected: np.ndarray, actual: np.ndarray, floor: float = PSI_FLOOR) -> float:
    """Population stability index of two count (or share) vectors over the same bins.

    >>> round(psi(np.array([50, 50]), np.array([60, 40])), 4)
    0.0405
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("PSI needs counts on both sides")
    e = np.maximum(e / e.sum(), floor)
    a = np.maximum(a / a.sum(), floor)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_replicates(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """PSI of each row of ``actual`` (replicates x bins) against ``expected``."""
    e = np.asarray(expected, dtype=float)
    e = np.maximum(e / e.sum(), PSI_FLOOR)
    a = np.asarray(actual, dtype=float)
    totals = a.sum(axis=1, keepdims=True)
    a = np.maximum(np.divide(a, totals, out=np.zeros_like(a), where=totals > 0), PSI_FLOOR)
    return np.sum((a - e) * np.log(a / e), axis=1)


def chi2_homogeneity(baseline: np.ndarray, current: np.ndarray) -> tuple[float, int, float]:
    """Pearson's chi-square test that two count vectors share one distribution:
    ``(statistic, degrees of freedom, p-value)`` (bins empty on both sides dropped).

    Equals ``scipy.stats.chi2_contingency([baseline, current], correction=False)``.
    """
    from scipy.stats import chi2

    table = np.vstack([np.asarray(baseline, float), np.asarray(current, float)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 0, 1.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    return stat, dof, float(chi2.sf(stat, dof))


def two_proportion_p(x1: float, n1: float, x2: float, n2: float) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if x1 / n1 == x2 / n2 else 0.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def binned_ks(baseline: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov ``(D, p)`` of two histograms over the same bins,
    with the asymptotic distribution at ``n_eff = n1 n2 / (n1 + n2)``.

    Equals ``scipy.stats.ks_2samp(x, y, method="asymp")`` for samples that take one value
    per bin.
    """
    from scipy.stats import kstwo

    b = np.asarray(baseline, float)
    c = np.asarray(current, float)
    n1, n2 = b.sum(), c.sum()
    if n1 <= 0 or n2 <= 0:
        return 0.0, 1.0
    d = float(np.max(np.abs(np.cumsum(b) / n1 - np.cumsum(c) / n2)))
    n_eff = n1 * n2 / (n1 + n2)
    # scipy's asymptotic two-sample p uses kstwo at round(n_eff) (ks_2samp, method="asymp")
    return d, float(np.clip(kstwo.sf(d, round(float(n_eff))), 0.0, 1.0))


def score_edges(values: np.ndarray) -> np.ndarray:
    """The fine histogram's edges: [0, 1] for probabilities, else the observed range."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("the score has no finite values")
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif hi <= lo:
        hi = lo + 1.0
    return np.linspace(lo, hi, SCORE_BINS + 1)


def histogram(values: np.ndarray, edges: Sequence[float] | np.ndarray) -> np.ndarray:
    """Counts of ``values`` in the bins of ``edges``; values beyond the ends fall into the
    first or last bin (so a shifted score still counts), NaN is left out."""
    cuts = np.asarray(edges, float)
    finite = values[np.isfinite(values)]
    idx = np.clip(np.searchsorted(cuts, finite, side="right") - 1, 0, len(cuts) - 2)
    return np.bincount(idx, minlength=len(cuts) - 1)


def decile_groups(counts: np.ndarray, k: int = DECILES) -> np.ndarray:
    """Group index (0..k-1) of each fine bin so that each group holds about 1/k of the
    baseline's mass: the deciles PSI is computed over."""
    counts = np.asarray(counts, float)
    cdf = np.cumsum(counts) / counts.sum()
    # a bin belongs to the decile its cumulative mass *before* it falls in
    before = np.concatenate([[0.0], cdf[:-1]])
    return np.minimum((before * k + 1e-9).astype(int), k - 1)


def regroup(counts: np.ndarray, groups: np.ndarray, k: int = DECILES) -> np.ndarray:
    """Sum fine-bin ``counts`` (or replicates x bins) into ``k`` decile groups."""
    counts = np.asarray(counts, float)
    if counts.ndim == 1:
        return np.bincount(groups, weights=counts, minlength=k)
    out = np.zeros((counts.shape[0], k))
    for g in range(k):
        out[:, g] = counts[:, groups == g].sum(axis=1)
    return out


# --- the drift metrics: this run's table against the baseline's -------------------------


class NoBaseline(MetricError):
    """A drift metric without a baseline table: not measured. ``table`` is this run's
    table, recorded so that the run can serve as a baseline later."""

    def __init__(self, message: str, table: dict[str, Any]) -> None:
        super().__init__(message)
        self.table = table


def _labels_and_counts(metric: _CountMetric) -> tuple[list[str], np.ndarray, Any]:
    group = metric.group()
    counts = np.bincount(group.codes, minlength=len(group.labels))
    return [str(g) for g in group.labels], counts, group


def _baseline(metric: _CountMetric, kind: str, table: dict[str, Any]) -> Mapping[str, Any]:
    base = metric.baseline
    if base is None:
        raise NoBaseline(
            f"{metric.spec.key} compares with a baseline and none was given: not measured "
            "(this run's table is recorded, so later runs can use it as their baseline)",
            table,
        )
    if base.get("kind") != kind:
        raise MetricError(
            f"the baseline's table for this control is a {base.get('kind')!r} table, not "
            f"{kind!r}: the control changed its metric since the baseline"
        )
    return base


def _aligned(base: Mapping[str, Any], labels: list[str], counts: np.ndarray, key: str = "counts"):
    union = list(dict.fromkeys([*base["labels"], *labels]))
    before = dict(zip(base["labels"], base[key], strict=True))
    now = dict(zip(labels, counts.tolist(), strict=True))
    return (
        union,
        np.array([before.get(g, 0) for g in union], float),
        np.array([now.get(g, 0) for g in union], float),
    )


def group_share_psi(metric: _CountMetric) -> Measurement:
    """PSI of the dimension's group shares against the baseline's, chi-square p-value."""
    labels, counts, _ = _labels_and_counts(metric)
    table = {"kind": "group_shares", "labels": labels, "counts": counts.tolist()}
    base = _baseline(metric, "group_shares", table)
    union, before, now = _aligned(base, labels, counts)
    stat, dof, p = chi2_homogeneity(before, now)
    result = Measurement(
        value=psi(before, now),
        n=int(now.sum()),
        groups={
            g: {"n": int(c), "value": float(c / now.sum()), "baseline_share": float(b / before.sum())}
            for g, b, c in zip(union, before, now, strict=True)
        },
        warnings=metric.warnings,
        details={"drift_table": table, "test": "chi-square homogeneity", "chi2": stat,
                 "dof": dof, "p_value": p, "baseline_n": int(before.sum())},
    )  # fmt: skip
    if metric.ci.enabled and metric.ci.n_boot > 0:
        draws = multinomial_replicates(now.astype(np.int64), metric.ci)
        summarise(result, psi_replicates(before, draws), metric.ci, "multinomial_bootstrap")
    return result


def label_rate_shift(metric: _CountMetric) -> Measurement:
    """The largest change of a group's positive rate (prediction if bound, else target)."""
    role = "prediction" if "prediction" in metric.columns else "target"
    column = metric.columns[role][0]
    labels, counts, group = _labels_and_counts(metric)
    hits = np.bincount(
        group.codes,
        weights=metric.stats.indicator(column, role, metric.pos_label),
        minlength=len(labels),
    )
    table = {
        "kind": "label_rates", "labels": labels, "counts": counts.tolist(),
        "positives": hits.tolist(), "role": role, "pos_label": str(metric.pos_label),
    }  # fmt: skip
    base = _baseline(metric, "label_rates", table)
    union, n_before, n_now = _aligned(base, labels, counts)
    _, x_before, x_now = _aligned(base, labels, hits, key="positives")
    both = (n_before > 0) & (n_now > 0)
    if not both.any():
        raise MetricError("no group has rows in both this run and the baseline")
    r_before = np.divide(x_before, n_before, out=np.zeros_like(x_before), where=n_before > 0)
    r_now = np.divide(x_now, n_now, out=np.zeros_like(x_now), where=n_now > 0)
    shift = np.abs(r_now - r_before)
    p_values = [
        two_proportion_p(x_now[i], n_now[i], x_before[i], n_before[i]) for i in np.flatnonzero(both)
    ]
    p = min(1.0, min(p_values) * len(p_values))  # Bonferroni over the groups compared
    result = Measurement(
        value=float(shift[both].max()),
        n=int(n_now.sum()),
        groups={
            g: {"n": int(n_now[i]), "value": float(r_now[i] - r_before[i]),
                "rate": float(r_now[i]), "baseline_rate": float(r_before[i])}
            for i, g in enumerate(union) if both[i]
        },
        warnings=metric.warnings,
        details={"drift_table": table, "outcome": {"role": role, "column": column},
                 "test": "two-proportion z per group, Bonferroni", "p_value": p},
    )  # fmt: skip
    if metric.ci.enabled and metric.ci.n_boot > 0:
        rng = np.random.default_rng(metric.ci.seed)
        kept = np.flatnonzero(both)
        draws = rng.binomial(
            n_now[kept].astype(np.int64), r_now[kept], (metric.ci.n_boot, len(kept))
        )
        replicate_shift = np.abs(draws / n_now[kept] - r_before[kept]).max(axis=1)
        summarise(result, replicate_shift, metric.ci, "binomial_bootstrap")
    return result


def score_psi(metric: _CountMetric) -> Measurement:
    """PSI of the score over the baseline's deciles, binned two-sample KS p-value."""
    column = metric.columns["score"][0]
    values = metric.stats.numeric(column, "score")
    edges = score_edges(values)
    table = {
        "kind": "score_histogram",
        "edges": edges.tolist(),
        "counts": histogram(values, edges).tolist(),
    }
    base = _baseline(metric, "score_histogram", table)
    base_counts = np.asarray(base["counts"], float)
    fine_now = histogram(values, base["edges"]).astype(float)
    groups = decile_groups(base_counts)
    before, now = regroup(base_counts, groups), regroup(fine_now, groups)
    d, p = binned_ks(base_counts, fine_now)
    result = Measurement(
        value=psi(before, now),
        n=int(fine_now.sum()),
        warnings=metric.warnings,
        details={"drift_table": table, "test": "two-sample Kolmogorov-Smirnov (100 bins)",
                 "ks_d": d, "p_value": p, "score": column, "baseline_n": int(base_counts.sum()),
                 "decile_shares": (now / now.sum()).tolist()},
    )  # fmt: skip
    if metric.ci.enabled and metric.ci.n_boot > 0:
        draws = multinomial_replicates(fine_now.astype(np.int64), metric.ci)
        summarise(result, psi_replicates(before, regroup(draws, groups)), metric.ci,
                  "multinomial_bootstrap")  # fmt: skip
    return result
