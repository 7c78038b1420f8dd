"""Confidence intervals by resampling sufficient statistics instead of rows.

For a metric that is a function of counts, drawing the counts of every (group, target,
prediction) cell from a multinomial with the observed cell frequencies *is* the row
bootstrap: each bootstrap sample of n rows lands in the cells with exactly that
distribution. Resampling a 40-cell table costs the same on a thousand rows or ten
million, where re-running a metric on resampled rows (the SDK's approach) costs minutes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._measurement import CISettings, Measurement

# Below this share of defined replicates an interval would describe a different data set
# (one where the undefined cases cannot happen), so none is reported.
_MIN_DEFINED_SHARE = 0.9


def multinomial_replicates(counts: np.ndarray, ci: CISettings) -> np.ndarray:
    """``n_boot`` resampled copies of a count table: shape (n_boot, *counts.shape)."""
    rng = np.random.default_rng(ci.seed)
    total = int(counts.sum())
    flat = counts.ravel().astype(float)
    draws = rng.multinomial(total, flat / total, size=ci.n_boot)
    return draws.reshape(ci.n_boot, *counts.shape)


def summarise(result: Measurement, replicates: np.ndarray, ci: CISettings, method: str) -> None:
    """Percentile interval of the replicates, stored on ``result``."""
    replicates = np.asarray(replicates, dtype=float).ravel()
    defined = replicates[~np.isnan(replicates)]
    result.undefined_replicates = int(len(replicates) - len(defined))
    result.ci_method = method
    if len(defined) < _MIN_DEFINED_SHARE * len(replicates):
        result.ci = None
        result.ci_note = (
            f"no interval: the metric was undefined in {result.undefined_replicates} of "
            f"{len(replicates)} replicates (a group too small to have the cells it needs)"
        )
        return
    tail = (1.0 - ci.level) / 2.0 * 100.0
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    result.ci = (float(low), float(high))
