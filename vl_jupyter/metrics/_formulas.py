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


# --- per-group rates; confusion tables are [target, prediction]: [1, 1] TP, [0, 1] FP,
# [1, 0] FN, [0, 0] TN ----------------------------------------------------------------------
#: Per-group rates: from outcome tables (R, G, 2) or confusion tables (R, G, 2, 2).
RATES: dict[str, Callable[[Array], Array]] = {
    "selection_rate": lambda t: _div(t[..., 1], t.sum(axis=-1)),
    "tpr": lambda t: _div(t[..., 1, 1], t[..., 1, 1] + t[..., 1, 0]),
    "fpr": lambda t: _div(t[..., 0, 1], t[..., 0, 1] + t[..., 0, 0]),
    "fnr": lambda t: _div(t[..., 1, 0], t[..., 1, 1] + t[..., 1, 0]),
    "ppv": lambda t: _div(t[..., 1, 1], t[..., 1, 1] + t[..., 0, 1]),
    "accuracy": lambda t: _div(t[..., 1, 1] + t[..., 0, 0], t.sum(axis=(-1, -2))),
}


def rate(name: str, table: Array) -> Array:
    """Per-group rate ``name`` over the last table axes: shape (R, G)."""
    return RATES[name](table)


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
def _matrix(table: Array) -> tuple[Array, Array, Array, Array]:
    m = table[:, 0]  # (R, K, K)
    diag = np.diagonal(m, axis1=-2, axis2=-1)
    return m.sum(axis=(-1, -2)), diag, m.sum(axis=-2), m.sum(axis=-1)  # n, diag, pred, actual


def accuracy(table: Array) -> tuple[Array, Array]:
    n, diag, _, _ = _matrix(table)
    return _div(diag.sum(axis=-1), n), diag


def balanced_accuracy(table: Array) -> tuple[Array, Array]:
    _, diag, _, actual = _matrix(table)
    recall = _div(diag, actual)
    present = actual > 0
    return _div(np.where(present, recall, 0).sum(axis=-1), present.sum(axis=-1)), recall


#: Per-class precision, recall and F1 from (diagonal, predicted, actual) counts.
PER_CLASS = {
    "precision": lambda diag, predicted, actual: _div(diag, predicted),
    "recall": lambda diag, predicted, actual: _div(diag, actual),
    "f1": lambda diag, predicted, actual: _div(2 * diag, predicted + actual),
}


def class_score(which: str, average: str, pos_index: int | None) -> Callable:
    """Precision, recall or F1: of the class ``pos_index`` (average ``binary``), or over
    the classes as scikit-learn averages them with ``zero_division=0``."""
    per_class = PER_CLASS[which]

    def compute(table: Array) -> tuple[Array, Array]:
        n, diag, predicted, actual = _matrix(table)
        if average == "binary":
            i = pos_index
            value = per_class(diag[:, i], predicted[:, i], actual[:, i])
            return value, value[:, None]
        if average == "micro":  # single-label: micro precision = recall = f1 = accuracy
            return _div(diag.sum(axis=-1), n), diag
        scores = np.nan_to_num(per_class(diag, predicted, actual))
        if average == "macro":
            return scores.mean(axis=-1), scores
        return _div((scores * actual).sum(axis=-1), actual.sum(axis=-1)), scores  # weighted

    return compute


# --- calibration: counts (R,G,B,2) and score sums (R,G,B,2) -------------------------------
def calibration_diff(counts: Array, score_sums: Array) -> tuple[Array, Array]:
    """ECE_g = sum_b |sum of scores in (g,b) - positives in (g,b)| / n_g; gap across groups."""
    positives = counts[..., 1]
    gap = np.abs(score_sums.sum(axis=-1) - positives).sum(axis=-1)
    ece = _div(gap, counts.sum(axis=(-1, -2)))
    return aggregate("diff", ece), ece


# --- regression: per-group means of a quantity, (R, G) ------------------------------------
def overall_of_one_group(means: Array) -> tuple[Array, Array]:
    """mae: the mean of |e| over the single group ``all``."""
    return means[:, 0], means


def root_of_one_group(means: Array) -> tuple[Array, Array]:
    """rmse: the root of the mean of e²."""
    root = np.sqrt(np.clip(means, 0, None))
    return root[:, 0], root


def gap_of_means(means: Array) -> tuple[Array, Array]:
    """mae_group_diff, mean_prediction_diff: the largest gap between group means."""
    return aggregate("diff", means), means


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
