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


def label_index(labels: tuple, wanted: object) -> int | None:
    """Position of ``wanted`` among ``labels``; 1 and "1" are different labels."""
    for i, label in enumerate(labels):
        if label == wanted and isinstance(label, str) == isinstance(wanted, str):
            return i
    return None


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

    A target with a single class is maximally imbalanced (0.0, as the Venturalítica SDK
    reports it), not "perfectly balanced" (1.0, which min/max of one count would give).
    """
    counts = table.sum(axis=-2)
    ratio = _div(counts.min(axis=-1), counts.max(axis=-1))
    return (ratio if counts.shape[-1] >= 2 else np.zeros_like(ratio)), counts


def group_size_min(table: Array) -> tuple[Array, Array]:
    sizes = table.reshape(table.shape[0], table.shape[1], -1).sum(axis=-1).astype(float)
    return sizes.min(axis=-1), sizes


def group_share_min(table: Array) -> tuple[Array, Array]:
    sizes = table.reshape(table.shape[0], table.shape[1], -1).sum(axis=-1).astype(float)
    shares = _div(sizes, sizes.sum(axis=-1, keepdims=True))
    return shares.min(axis=-1), shares


def _over_classes(gaps: Array, used: Array, how: str, weights: Array | None = None) -> Array:
    """Combine per-class gaps (R, K) over the classes in use: max, mean or weighted sum.

    A class not in use (no row of it where the rate's denominator counts) takes no part;
    a class in use whose gap is undefined (some group has 0/0) makes the result undefined.
    """
    undefined = (np.isnan(gaps) & used).any(axis=-1)
    safe = np.where(used, np.nan_to_num(gaps, nan=0.0), 0.0)
    if how == "max":
        out = np.where(used, safe, -np.inf).max(axis=-1)
        out = np.where(np.isfinite(out), out, np.nan)
    elif how == "mean":
        out = _div(safe.sum(axis=-1), used.sum(axis=-1))
    elif how == "weighted":
        out = (safe * weights).sum(axis=-1)
    else:
        raise KeyError(how)
    return np.where(undefined, np.nan, out)


def multiclass_parity(how: str = "max") -> Callable[[Array], tuple[Array, Array]]:
    """table (R, G, K) of outcome classes; the gap in the rate of each class between groups,
    combined over classes by ``how``: max, mean (the SDK's macro) or weighted (each class's
    gap times its overall rate, the SDK's ``weighted`` strategy)."""

    def compute(table: Array) -> tuple[Array, Array]:
        rates = _div(table, table.sum(axis=-1, keepdims=True))
        gaps = aggregate("diff", np.moveaxis(rates, -1, -2))  # (R, K)
        totals = table.sum(axis=-2)  # (R, K)
        share = _div(totals, totals.sum(axis=-1, keepdims=True))
        return _over_classes(gaps, totals > 0, how, share), rates

    return compute


def multiclass_opportunity(table: Array) -> tuple[Array, Array]:
    """table (R, G, K, K)[true, pred]; worst class gap in one-vs-rest recall (over the
    classes the target has; a class only ever predicted has no recall)."""
    diagonal = np.diagonal(table, axis1=-2, axis2=-1)  # (R, G, K)
    actual = table.sum(axis=-1)  # (R, G, K)
    recall = _div(diagonal, actual)
    gaps = aggregate("diff", np.moveaxis(recall, -1, -2))
    return _over_classes(gaps, actual.sum(axis=-2) > 0, "max"), recall


def multiclass_predictive_parity(how: str = "max") -> Callable[[Array], tuple[Array, Array]]:
    """table (R, G, K, K)[true, pred]; the gap in one-vs-rest precision of each predicted
    class between groups; max over classes, or weighted by each class's prediction rate."""

    def compute(table: Array) -> tuple[Array, Array]:
        diagonal = np.diagonal(table, axis1=-2, axis2=-1)  # (R, G, K)
        predicted = table.sum(axis=-2)  # (R, G, K)
        precision = _div(diagonal, predicted)
        gaps = aggregate("diff", np.moveaxis(precision, -1, -2))
        totals = predicted.sum(axis=-2)
        share = _div(totals, totals.sum(axis=-1, keepdims=True))
        return _over_classes(gaps, totals > 0, how, share), precision

    return compute


def multiclass_accuracy_gap_twice(table: Array) -> tuple[Array, Array]:
    """table (R, G, K, K); (max - min accuracy) + (max - min error rate) = 2 x accuracy gap
    (the SDK's ``micro_equalized_odds_multiclass``, as coded)."""
    diagonal = np.diagonal(table, axis1=-2, axis2=-1).sum(axis=-1)
    accuracy = _div(diagonal, table.sum(axis=(-1, -2)))
    return 2.0 * aggregate("diff", accuracy), accuracy


def equalized_odds_gap_sum(table: Array) -> tuple[Array, Array]:
    """(max - min TPR) + (max - min FPR): the Venturalítica SDK's ``equalized_odds_ratio``."""
    tpr, fpr = rate("tpr", table), rate("fpr", table)
    return aggregate("diff", tpr) + aggregate("diff", fpr), np.stack([tpr, fpr], axis=-1)


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
