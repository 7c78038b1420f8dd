"""The computation behind every catalogue key.

Count-based formulas take a count table with a leading *replicate* axis (length 1 for the
point estimate, ``n_boot`` for bootstrap replicates) and return one value per replicate
plus the per-group values, so the point estimate and its confidence interval come from
the very same code. Undefined quantities (0/0) are NaN; the caller turns a NaN point
estimate into an ``error`` status with the reason, never into a number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _div(num: Array, den: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


# --- per-group rates from outcome (R,G,2) and confusion (R,G,2,2)[target, prediction] ------
def _confusion(c: Array) -> tuple[Array, Array, Array, Array]:
    return c[..., 1, 1], c[..., 0, 1], c[..., 1, 0], c[..., 0, 0]  # TP, FP, FN, TN


def rate(name: str, table: Array) -> Array:
    """Per-group rate ``name`` over the last table axes: shape (R, G)."""
    if name == "selection_rate":
        return _div(table[..., 1], table.sum(axis=-1))
    tp, fp, fn, tn = _confusion(table)
    if name == "tpr":
        return _div(tp, tp + fn)
    if name == "fpr":
        return _div(fp, fp + tn)
    if name == "fnr":
        return _div(fn, tp + fn)
    if name == "ppv":
        return _div(tp, tp + fp)
    if name == "accuracy":
        return _div(tp + tn, tp + fp + fn + tn)
    raise KeyError(name)


def aggregate(how: str, per_group: Array) -> Array:
    """Across groups (last axis); any undefined group makes the aggregate undefined."""
    undefined = np.isnan(per_group).any(axis=-1)
    safe = np.where(np.isnan(per_group), 0.0, per_group)
    high, low = safe.max(axis=-1), safe.min(axis=-1)
    if how == "diff":
        out = high - low
    elif how == "ratio":
        out = _div(low, high)
    elif how == "min":
        out = low
    elif how == "max":
        out = high
    else:
        raise KeyError(how)
    return np.where(undefined, np.nan, out)


def family(rate_name: str, how: str) -> Callable[[Array], tuple[Array, Array]]:
    def compute(table: Array) -> tuple[Array, Array]:
        per_group = rate(rate_name, table)
        return aggregate(how, per_group), per_group

    return compute


def equalized_odds(how: str) -> Callable[[Array], tuple[Array, Array]]:
    """fairlearn's definition: worst of the TPR and FPR comparisons."""

    def compute(table: Array) -> tuple[Array, Array]:
        tpr, fpr = rate("tpr", table), rate("fpr", table)
        a, b = aggregate(how, tpr), aggregate(how, fpr)
        # either comparison undefined -> undefined (no nan-aware max: it warns on all-NaN)
        value = np.maximum(a, b) if how == "diff" else np.minimum(a, b)
        return value, np.stack([tpr, fpr], axis=-1)  # per group: (TPR, FPR)

    return compute


def selection_rate_overall(table: Array) -> tuple[Array, Array]:
    total = table.sum(axis=-2)  # over groups
    return _div(total[..., 1], total.sum(axis=-1)), rate("selection_rate", table)


# --- class tables ----------------------------------------------------------------------------
def class_imbalance(table: Array) -> tuple[Array, Array]:
    """table (R, 1, K) of target classes; least over most frequent class.

    One class present is 0, not 1 (as the SDK): the classes absent from the data are the
    least frequent ones, with count 0, and a target no row of which differs is not balanced.
    """
    counts = table.sum(axis=-2)
    if counts.shape[-1] < 2:
        return np.zeros(counts.shape[0]), counts
    return _div(counts.min(axis=-1), counts.max(axis=-1)), counts


def group_size_min(table: Array) -> tuple[Array, Array]:
    sizes = table.reshape(table.shape[0], table.shape[1], -1).sum(axis=-1).astype(float)
    return sizes.min(axis=-1), sizes


def group_share_min(table: Array) -> tuple[Array, Array]:
    sizes = table.reshape(table.shape[0], table.shape[1], -1).sum(axis=-1).astype(float)
    shares = _div(sizes, sizes.sum(axis=-1, keepdims=True))
    return shares.min(axis=-1), shares


def multiclass_parity(table: Array) -> tuple[Array, Array]:
    """table (R, G, K) of outcome classes; worst class gap in the rate of that class."""
    rates = _div(table, table.sum(axis=-1, keepdims=True))
    gaps = np.moveaxis(rates, -1, -2)  # (R, K, G)
    return aggregate("diff", gaps).max(axis=-1), rates


def multiclass_opportunity(table: Array) -> tuple[Array, Array]:
    """table (R, G, K, K)[true, pred]; worst class gap in one-vs-rest recall."""
    diagonal = np.diagonal(table, axis1=-2, axis2=-1)  # (R, G, K)
    recall = _div(diagonal, table.sum(axis=-1))
    gaps = np.moveaxis(recall, -1, -2)
    return aggregate("diff", gaps).max(axis=-1), recall


# --- overall performance from a (R, 1, K, K)[true, pred] confusion matrix -------------------
def performance(name: str, average: str, pos_index: int | None) -> Callable:
    def compute(table: Array) -> tuple[Array, Array]:
        m = table[:, 0]  # (R, K, K)
        n = m.sum(axis=(-1, -2))
        diag = np.diagonal(m, axis1=-2, axis2=-1)
        predicted, actual = m.sum(axis=-2), m.sum(axis=-1)
        if name == "accuracy_score":
            return _div(diag.sum(axis=-1), n), diag
        if name == "balanced_accuracy":
            recall = _div(diag, actual)
            present = actual > 0
            value = _div(np.where(present, recall, 0).sum(axis=-1), present.sum(axis=-1))
            return value, recall
        if average == "binary":
            tp, pp, ap = diag[:, pos_index], predicted[:, pos_index], actual[:, pos_index]
            precision, recall = _div(tp, pp), _div(tp, ap)
            if name == "precision_score":
                return precision, precision[:, None]
            if name == "recall_score":
                return recall, recall[:, None]
            f1 = _div(2 * tp, pp + ap)
            return f1, f1[:, None]
        if average == "micro":  # single-label: micro precision = recall = f1 = accuracy
            return _div(diag.sum(axis=-1), n), diag
        # macro / weighted, as scikit-learn with zero_division=0
        precision = np.nan_to_num(_div(diag, predicted))
        recall = np.nan_to_num(_div(diag, actual))
        f1 = np.nan_to_num(_div(2 * diag, predicted + actual))
        per_class = {"precision_score": precision, "recall_score": recall, "f1_score": f1}[name]
        if average == "macro":
            return per_class.mean(axis=-1), per_class
        return _div((per_class * actual).sum(axis=-1), actual.sum(axis=-1)), per_class

    return compute


# --- calibration: counts (R,G,B,2) and score sums (R,G,B,2) -------------------------------
def calibration_diff(counts: Array, score_sums: Array) -> tuple[Array, Array]:
    """ECE_g = sum_b |sum of scores in (g,b) - positives in (g,b)| / n_g; gap across groups."""
    positives = counts[..., 1]
    gap = np.abs(score_sums.sum(axis=-1) - positives).sum(axis=-1)
    ece = _div(gap, counts.sum(axis=(-1, -2)))
    return aggregate("diff", ece), ece


# --- regression: per-group means of a quantity, (R, G) ------------------------------------
def regression(name: str) -> Callable[[Array], tuple[Array, Array]]:
    """``means`` are per-group means of the metric's quantity (|e|, e² or ŷ)."""

    def compute(means: Array) -> tuple[Array, Array]:
        if name == "mae":
            return means[:, 0], means
        if name == "rmse":
            root = np.sqrt(np.clip(means, 0, None))
            return root[:, 0], root
        return aggregate("diff", means), means  # mae_group_diff, mean_prediction_diff

    return compute


#: The quantity whose per-group mean each regression metric reads.
REGRESSION_QUANTITY = {
    "mae": "abs_error",
    "rmse": "sq_error",
    "mae_group_diff": "abs_error",
    "mean_prediction_diff": "prediction",
}


def roc_auc(positive: Array, score: Array) -> float:
    """Mann-Whitney U over n_pos * n_neg with average ranks for ties (= sklearn's AUC)."""
    order = np.argsort(score, kind="mergesort")
    ranked = score[order]
    ranks = np.empty(len(score), dtype=float)
    # average rank within runs of tied scores
    boundaries = np.flatnonzero(np.diff(ranked)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(score)]])
    average = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(average, ends - starts)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    u = ranks[positive.astype(bool)].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
