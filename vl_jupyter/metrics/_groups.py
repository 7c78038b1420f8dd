"""Group bookkeeping for count metrics: small-group exclusion, per-group detail, and the
sentence that explains an undefined value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricError

if TYPE_CHECKING:
    from ._evaluate import _CountMetric
    from ._stats import GroupTable

_RATE_NAMES = {
    "selection_rate": "selection rate",
    "tpr": "true positive rate",
    "fpr": "false positive rate",
    "fnr": "false negative rate",
    "ppv": "precision",
    "accuracy": "accuracy",
}
_WHY_UNDEFINED = {
    "tpr": "it has no rows whose target is the favourable label {pos!r}",
    "fnr": "it has no rows whose target is the favourable label {pos!r}",
    "fpr": "it has no rows whose target is other than the favourable label {pos!r}",
    "ppv": "the prediction is never the favourable label {pos!r} in it",
}


def exclude_small_groups(metric: _CountMetric, table: GroupTable) -> tuple[np.ndarray, dict]:
    """Mask of groups kept under ``min_group_size``; the excluded ones with their sizes."""
    sizes = table.sizes
    minimum = int(metric.params.get("min_group_size", 1))
    if metric.spec.param("min_group_size") is None:
        # size/share metrics describe every group, the empty declared bands included
        return np.ones(len(sizes), dtype=bool), {}
    keep = sizes >= minimum
    excluded = {
        label: int(n) for label, n, k in zip(table.labels, sizes, keep, strict=True) if not k
    }
    if metric.spec.grouped and metric.spec.compares_groups and keep.sum() < 2:
        dimension = ", ".join(metric.columns["dimension"])
        found = ", ".join(f"'{g}' ({n} rows)" for g, n in zip(table.labels, sizes, strict=True))
        raise MetricError(
            f"fewer than two groups of '{dimension}' have at least {minimum} rows, so there "
            f"is nothing to compare (groups: {found})",
            hint="lower min_group_size, bin the dimension, or bind another column",
        )
    return keep, excluded


def _number(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return [_number(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [_number(v) for v in x]
    value = float(x)
    return None if np.isnan(value) else value


def describe_groups(metric, labels, counts, per_group, table: GroupTable) -> dict[str, dict]:
    """Per-group counts and values for the evidence (JSON-ready)."""
    stat = metric.spec.statistic
    out: dict[str, dict] = {}
    if stat == "confusion_overall" or per_group.shape[0] != len(labels):
        # per-class values of an overall metric; n = rows whose true class it is
        actual = counts[0] if counts[0].ndim == 1 else counts[0].sum(axis=-1)
        return {
            str(cls): {"n": int(actual[i]), "value": _number(per_group[i])}
            for i, cls in enumerate(table.class_labels)
            if i < len(per_group)
        }
    for i, label in enumerate(labels):
        entry: dict[str, Any] = {"n": int(counts[i].sum()), "value": _number(per_group[i])}
        if stat == "outcome":
            entry["positives"] = int(counts[i][1])
        elif stat == "confusion":
            c = counts[i]
            entry.update(tp=int(c[1, 1]), fp=int(c[0, 1]), fn=int(c[1, 0]), tn=int(c[0, 0]))
        elif stat in ("multiclass_outcome", "classes"):
            entry["classes"] = {
                str(k): int(v) for k, v in zip(table.class_labels, counts[i], strict=True)
            }
        out[str(label)] = entry
    fields = metric.spec.per_group_fields  # a pair of rates per group, e.g. (tpr, fpr)
    if fields:
        for entry in out.values():
            entry.update(zip(fields, entry.pop("value"), strict=True))
    return out


def explain_undefined(metric, labels, counts, per_group) -> str:
    """One sentence saying why the point estimate is undefined."""
    key, pos = metric.spec.key, metric.pos_label
    rates = list(metric.spec.rates)
    pairs = bool(metric.spec.per_group_fields)  # several rates per group: one row each
    per_group = np.moveaxis(per_group, -1, 0) if pairs else per_group[None]
    for name, values in zip(rates, per_group, strict=False):
        bad = [str(g) for g, v in zip(labels, np.atleast_1d(values), strict=False) if np.isnan(v)]
        if bad:
            why = _WHY_UNDEFINED.get(name, "it has no rows").format(pos=pos)
            return (
                f"{_RATE_NAMES[name]} is undefined for group(s) {', '.join(repr(b) for b in bad)}: "
                f"{why}"
            )
        if np.nanmax(values) == 0:
            return f"every group's {_RATE_NAMES[name]} is 0, so the ratio is undefined"
    if metric.spec.undefined:  # the catalogue's sentence for this metric
        return metric.spec.undefined.format(pos=repr(pos))
    return f"{key} is undefined on this data (a division by zero)"
