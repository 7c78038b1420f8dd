"""Aggregates of a per-case score column: mean, worst group, gaps and equity-scaled scores.

A per-case score (a Dice or IoU value per scan, a rating per answer) is summarised by the
per-group counts, sums and sums of squares of that column, so every metric here is a
function of the group means. That is the Venturalítica SDK's segmentation family
(``assurance/segmentation``), computed from sufficient statistics: one pass over the rows,
and an interval from the normal approximation of each group mean pushed through the very
formula of the point estimate (``normal_approximation``, as the regression metrics do).

Formulas take ``means`` (R, G) and the group sizes ``n`` (G,) and return one value per
replicate plus the per-group values; undefined quantities are NaN, which the runner turns
into an ``error`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MetricError
from ._bootstrap import contrast_by, summarise
from ._formulas import _div, aggregate
from ._groups import exclude_small_groups
from ._measurement import Measurement
from ._stats import GroupTable

if TYPE_CHECKING:
    from ._evaluate import _CountMetric

Array = np.ndarray
ScoreFormula = Callable[[Array, Array], tuple[Array, Array]]


def _overall(means: Array, n: Array) -> Array:
    """Row-weighted mean over groups: the mean of every case."""
    return (means * n).sum(axis=-1) / n.sum()


def _std(means: Array) -> Array:
    return means.std(axis=-1)  # population std of the group means (ddof=0), as the SDK


def _skew(means: Array) -> Array:
    """Fisher-Pearson skewness of the group means; 0 when they are all equal (no disparity
    to be skewed) or fewer than three (two values are always symmetric), as the SDK."""
    centred = means - means.mean(axis=-1, keepdims=True)
    std = means.std(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(
            std > 0, ((centred / np.where(std > 0, std, 1)) ** 3).mean(axis=-1, keepdims=True), 0.0
        )
    return np.where(means.shape[-1] < 3, 0.0, skew[..., 0])


#: The disparity measures of ``subgroup_disparity`` (and the keys named after them).
DISPARITIES: dict[str, Callable[[Array], Array]] = {
    "gap": lambda m: aggregate("diff", m),
    "ratio": lambda m: aggregate("ratio", m),
    "std": _std,
    "cv": lambda m: _div(_std(m), m.mean(axis=-1)),
    "worst_group": lambda m: aggregate("min", m),
    "skew": _skew,
}


def overall_mean(means: Array, n: Array) -> tuple[Array, Array]:
    return _overall(means, n), means


def disparity(measure: str) -> ScoreFormula:
    def compute(means: Array, n: Array) -> tuple[Array, Array]:
        return DISPARITIES[measure](means), means

    # min/max statistics over groups take the extreme-group contrast for their interval
    compute.extreme = _EXTREME.get(measure)  # type: ignore[attr-defined]
    return compute


_EXTREME = {"gap": "diff", "ratio": "ratio", "worst_group": "min"}


def essp(spread: str) -> ScoreFormula:
    """Equity-scaled score (FairSeg): I / (1 + sum_g |I - I_g|), or I / (1 + std_g I_g)."""

    def compute(means: Array, n: Array) -> tuple[Array, Array]:
        overall = _overall(means, n)
        if spread == "abs":
            penalty = np.abs(overall[..., None] - means).sum(axis=-1)
        else:
            penalty = _std(means)
        return overall / (1.0 + penalty), means

    return compute


def run(
    metric: _CountMetric, formula: ScoreFormula, *, role: str = "score", cells: bool = False
) -> Measurement:
    """Measure ``formula`` over the per-group means of the ``role`` column.

    Groups are the bound dimension, the ``dimensions`` cells (``cells=True``: the
    intersection of several columns), or the whole frame when neither is given.
    """
    s, cols = metric.stats, metric.columns
    column = cols[role][0]
    values = s.numeric(column, role)
    if cells:
        if not cols.get("dimensions"):
            raise MetricError(
                f"{metric.spec.key} needs the dimensions parameter (the columns whose "
                "combinations form the cells)",
                hint="add params: {dimensions: 'scanner,age_band'}",
            )
        group, warnings = s.groups(tuple(cols["dimensions"]), metric.params.get("bins"))
        metric.warnings.extend(warnings)
    else:
        group = metric.group()
    n_groups = len(group.labels)

    def build() -> tuple[Array, Array, Array]:
        return (
            np.bincount(group.codes, minlength=n_groups),
            np.bincount(group.codes, weights=values, minlength=n_groups),
            np.bincount(group.codes, weights=values * values, minlength=n_groups),
        )

    # every score metric over the same column and groups shares one pass over the rows
    grouping = tuple(cols["dimensions"]) if cells else tuple(cols.get("dimension", ()))
    n, sums, squares = s.cached(("score_sums", column, grouping, metric.params.get("bins")), build)
    occupied = n > 0
    labels = tuple(str(g) for g, k in zip(group.labels, occupied, strict=True) if k)
    n, sums, squares = n[occupied], sums[occupied], squares[occupied]
    keep, excluded = exclude_small_groups(metric, GroupTable(labels, n))
    n, sums, squares = n[keep], sums[keep], squares[keep]
    kept = [g for g, k in zip(labels, keep, strict=True) if k]
    means = sums / n
    value, per_group = formula(means[None], n)
    point = float(value[0])
    if np.isnan(point):
        raise MetricError(
            f"{metric.spec.key} is undefined on this data (every group mean of '{column}' is 0, "
            "or their mean is: a division by zero)"
        )
    result = Measurement(
        value=point,
        n=int(n.sum()),
        groups={
            g: {"n": int(c), "value": float(v)}
            for g, c, v in zip(kept, n, per_group[0], strict=True)
        },
        excluded_groups=excluded,
        warnings=metric.warnings,
        details={role: column, **({"cells": list(cols["dimensions"])} if cells else {})},
    )
    if metric.ci.enabled and metric.ci.n_boot > 0:
        variance = np.clip(squares / n - means**2, 0, None)
        rng = np.random.default_rng(metric.ci.seed)
        draws = rng.normal(means, np.sqrt(variance / n), size=(metric.ci.n_boot, len(n)))
        replicates, rep_groups = formula(draws, n)
        replicates, method = contrast_by(
            getattr(formula, "extreme", None), per_group[0], rep_groups, replicates,
            "normal_approximation",
        )  # fmt: skip
        summarise(result, replicates, metric.ci, method)
    return result


def extreme(metric: _CountMetric, how: str) -> Measurement:
    """The largest (or smallest) single case: describes this sample, so no interval."""
    column = metric.columns["score"][0]
    values = metric.stats.numeric(column, "score")
    index = int(np.argmax(values) if how == "max" else np.argmin(values))
    return Measurement(
        value=float(values[index]),
        n=len(values),
        details={"score": column, "row": int(index)},
    )
