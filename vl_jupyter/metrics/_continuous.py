"""Metrics of continuous quantities: regression errors, mean predictions and calibration.

Their sufficient statistics are per-group sums rather than cell counts. Intervals come from
the normal approximation of each group mean (labelled ``normal_approximation``), drawn per
replicate and pushed through the same formula as the point estimate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MetricError
from . import _formulas as F
from ._bootstrap import extreme_contrast, multinomial_replicates, summarise
from ._groups import describe_groups, exclude_small_groups
from ._measurement import Measurement
from ._stats import GroupTable

if TYPE_CHECKING:
    from ._evaluate import _CountMetric


def r2(metric: _CountMetric) -> Measurement:
    s, cols = metric.stats, metric.columns
    y_hat = s.numeric(cols["prediction"][0], "prediction")
    y = s.numeric(cols["target"][0], "target")
    # ptp, not the sum of squares: the mean of equal floats can differ from them by an
    # ulp, leaving a tiny positive total and a meaningless huge negative R².
    if np.ptp(y) == 0:
        raise MetricError("r2_score is undefined: the target is constant")
    total = float(((y - y.mean()) ** 2).sum())
    value = 1.0 - float(((y - y_hat) ** 2).sum()) / total
    return Measurement(value=value, n=len(y), details={"ci": "not computed for r2_score"})


#: Per-row quantities whose per-group means the regression metrics read.
QUANTITIES = {
    "abs_error": lambda y, y_hat: np.abs(y - y_hat),
    "sq_error": lambda y, y_hat: (y - y_hat) ** 2,
    "prediction": lambda y, y_hat: y_hat,
}


def regression(quantity: str, formula: Callable[[np.ndarray], tuple]) -> Callable:
    """The measurement of ``formula`` over per-group means of ``quantity`` (a catalogue
    entry's computation: ``regression("abs_error", F.regression_mean)``)."""
    return lambda metric: _regression(metric, quantity, formula)


def _regression(metric: _CountMetric, quantity: str, formula: Callable) -> Measurement:
    s, cols = metric.stats, metric.columns
    y_hat = s.numeric(cols["prediction"][0], "prediction")
    group = metric.group()
    n_groups = len(group.labels)
    y = s.numeric(cols["target"][0], "target") if quantity != "prediction" else None
    q = QUANTITIES[quantity](y, y_hat)
    n = np.bincount(group.codes, minlength=n_groups)
    sums = np.bincount(group.codes, weights=q, minlength=n_groups)
    squares = np.bincount(group.codes, weights=q * q, minlength=n_groups)
    occupied = n > 0
    labels = tuple(str(g) for g, k in zip(group.labels, occupied, strict=True) if k)
    n, sums, squares = n[occupied], sums[occupied], squares[occupied]
    keep, excluded = exclude_small_groups(metric, GroupTable(labels, n))
    n, sums, squares = n[keep], sums[keep], squares[keep]
    means = sums / n
    value, per_group = formula(means[None])
    result = Measurement(
        value=float(value[0]),
        n=int(n.sum()),
        groups={
            g: {"n": int(c), "value": float(v)}
            for g, c, v in zip(
                [lab for lab, k in zip(labels, keep, strict=True) if k],
                n,
                per_group[0],
                strict=True,
            )
        },
        excluded_groups=excluded,
        warnings=metric.warnings,
        details={"quantity": quantity},
    )
    if metric.ci.enabled and metric.ci.n_boot > 0:
        variance = np.clip(squares / n - means**2, 0, None)
        rng = np.random.default_rng(metric.ci.seed)
        draws = rng.normal(means, np.sqrt(variance / n), size=(metric.ci.n_boot, len(n)))
        replicates, rep_groups = formula(draws)
        replicates, method = extreme_contrast(
            metric.spec.key, per_group[0], rep_groups, replicates, "normal_approximation"
        )
        summarise(result, replicates, metric.ci, method)
    return result


def calibration(metric: _CountMetric) -> Measurement:
    s, cols = metric.stats, metric.columns
    score = s.numeric(cols["score"][0], "score")
    if score.min() < 0 or score.max() > 1:
        raise MetricError(
            f"score column '{cols['score'][0]}' has values outside [0, 1] "
            f"({score.min():g} to {score.max():g}); calibration needs probabilities"
        )
    n_bins = int(metric.params.get("n_bins", 10))
    positive = s.indicator(cols["target"][0], "target", metric.pos_label)
    group = metric.group()
    bins = np.minimum((score * n_bins).astype(np.intp), n_bins - 1)
    index = (group.codes * n_bins + bins) * 2 + positive
    size = len(group.labels) * n_bins * 2
    counts = np.bincount(index, minlength=size).reshape(-1, n_bins, 2)
    score_sums = np.bincount(index, weights=score, minlength=size).reshape(-1, n_bins, 2)
    occupied = counts.sum(axis=(1, 2)) > 0
    labels = tuple(str(g) for g, k in zip(group.labels, occupied, strict=True) if k)
    counts, score_sums = counts[occupied], score_sums[occupied]
    table = GroupTable(labels, counts)
    keep, excluded = exclude_small_groups(metric, table)
    value, per_group = F.calibration_diff(counts[keep][None], score_sums[keep][None])
    kept = [g for g, k in zip(labels, keep, strict=True) if k]
    result = Measurement(
        value=float(value[0]),
        n=int(counts.sum()),
        groups=describe_groups(metric, kept, counts[keep], per_group[0], table),
        excluded_groups=excluded,
        warnings=metric.warnings,
        details={"n_bins": n_bins},
    )
    if metric.ci.enabled and metric.ci.n_boot > 0:
        draws = multinomial_replicates(counts, metric.ci)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean_score = np.where(counts > 0, score_sums / np.maximum(counts, 1), 0.0)
        replicates, rep_groups = F.calibration_diff(draws[:, keep], (draws * mean_score)[:, keep])
        replicates, method = extreme_contrast(metric.spec.key, per_group[0], rep_groups, replicates)
        summarise(result, replicates, metric.ci, method)
    return result
