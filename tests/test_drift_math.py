"""The drift statistics equal scipy's on the same tables (scipy as the oracle)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vl_jupyter.metrics import _drift as D

counts = st.lists(st.integers(0, 500), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(counts, st.data())
def test_chi2_equals_scipy(a, data):
    b = data.draw(st.lists(st.integers(0, 500), min_size=len(a), max_size=len(a)))
    table = np.array([a, b])
    keep = table.sum(axis=0) > 0
    if keep.sum() < 2 or (table.sum(axis=1) == 0).any():
        return
    stat, dof, p = D.chi2_homogeneity(np.array(a), np.array(b))
    want = stats.chi2_contingency(table[:, keep], correction=False)
    assert stat == pytest.approx(want.statistic, rel=1e-9, abs=1e-12)
    assert dof == want.dof
    assert p == pytest.approx(want.pvalue, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 9), min_size=5, max_size=300),
    st.lists(st.integers(0, 9), min_size=5, max_size=300),
)
def test_binned_ks_equals_scipy_on_discrete_samples(x, y):
    d, p = D.binned_ks(np.bincount(x, minlength=10), np.bincount(y, minlength=10))
    want = stats.ks_2samp(x, y, method="asymp")
    assert d == pytest.approx(want.statistic, abs=1e-12)
    assert p == pytest.approx(want.pvalue, rel=1e-6, abs=1e-9)


def test_psi_by_hand():
    e, a = np.array([0.5, 0.3, 0.2]), np.array([0.4, 0.4, 0.2])
    want = (0.4 - 0.5) * np.log(0.4 / 0.5) + (0.4 - 0.3) * np.log(0.4 / 0.3)
    assert D.psi(e * 100, a * 1000) == pytest.approx(want)
    assert D.psi(np.array([10, 0]), np.array([10, 0])) == 0.0
    assert D.psi(np.array([10, 0]), np.array([0, 10])) > 10, "an empty bin is floored, not inf"
    reps = D.psi_replicates(e, np.vstack([a, e]) * 50)
    assert reps == pytest.approx([want, 0.0])


def test_two_proportion_equals_the_z_test():
    p = D.two_proportion_p(30, 100, 45, 100)
    pooled = 75 / 200
    z = (0.30 - 0.45) / np.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert D.two_proportion_p(0, 0, 1, 2) == 1.0


def test_deciles_split_the_baseline_mass():
    rng = np.random.default_rng(0)
    values = rng.beta(2, 5, 10_000)
    edges = D.score_edges(values)
    assert edges[0] == 0.0 and edges[-1] == 1.0 and len(edges) == D.SCORE_BINS + 1
    fine = D.histogram(values, edges)
    assert fine.sum() == 10_000
    groups = D.decile_groups(fine)
    shares = D.regroup(fine, groups) / fine.sum()
    assert len(shares) == 10 and np.all(np.abs(shares - 0.1) < 0.03)
    assert D.histogram(np.array([-5.0, 7.0, np.nan]), edges).tolist() == [1] + [0] * 98 + [1]
