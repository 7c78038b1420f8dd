"""Coverage of the bootstrap intervals by simulation: known truth, 1,000 trials.

Each trial draws two groups from known selection rates, measures the control through the
real ``measure`` path (frame -> count table -> multinomial replicates -> interval) and asks
whether the 95% interval holds the true value. With 1,000 trials the Monte-Carlo standard
error of a 95% coverage is 0.007; the tolerance below (0.925 to 0.975) is about 3.5 of them.
The same replicates, summarised the old way (percentile of the re-picked min/max statistic),
are checked to miss, so the test would catch a return to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vl_jupyter.metrics import CISettings, Statistics, get_spec, measure

TRIALS = 1000
LOW, HIGH = 0.925, 0.975


def _frame(rng: np.random.Generator, rates: tuple[float, ...], n: int) -> pd.DataFrame:
    groups = np.repeat(np.arange(len(rates)), n)
    y = (rng.random(len(groups)) < np.repeat(rates, n)).astype(np.int8)
    return pd.DataFrame({"g": groups.astype(str), "y": y})


def _simulate(key: str, rates: tuple[float, ...], n: int, truth: float) -> dict[str, float]:
    rng = np.random.default_rng(20261201)
    spec = get_spec(key)
    covered = point_inside = 0
    for trial in range(TRIALS):
        stats = Statistics(_frame(rng, rates, n))
        ci = CISettings(n_boot=400, seed=trial)
        m = measure(spec, {}, {"dimension": ("g",), "target": ("y",)}, stats, ci)
        assert m.ci is not None, m.ci_note
        low, high = m.ci
        covered += low <= truth <= high
        point_inside += low <= m.value <= high
    return {"coverage": covered / TRIALS, "point_inside": point_inside / TRIALS}


CASES = [
    # (metric, true rates per group, rows per group, true value)
    ("disparate_impact", (0.5, 0.4), 200, 0.8),
    ("demographic_parity_diff", (0.5, 0.4), 200, 0.1),
    ("disparate_impact", (0.3, 0.3), 200, 1.0),  # equal groups: where the old interval failed
    ("demographic_parity_diff", (0.3, 0.3), 200, 0.0),
]


@pytest.mark.slow
@pytest.mark.parametrize(("key", "rates", "n", "truth"), CASES)
def test_interval_covers_the_truth_at_nominal_rate(key, rates, n, truth) -> None:
    found = _simulate(key, rates, n, truth)
    assert LOW <= found["coverage"] <= HIGH, found
    assert found["point_inside"] == 1.0, found  # never excludes its own point estimate


@pytest.mark.slow
def test_the_percentile_of_the_repicked_extreme_misses_equal_groups(monkeypatch) -> None:
    """The method this replaced: every replicate re-picks its extreme groups, so a gap's
    replicates all lie above 0 and a ratio's below 1, and the truth is never inside."""
    from vl_jupyter.metrics import _bootstrap

    monkeypatch.setattr(_bootstrap, "_contrast_kind", lambda key: None)
    found = _simulate("disparate_impact", (0.3, 0.3), 200, 1.0)
    assert found["coverage"] < 0.05, found
