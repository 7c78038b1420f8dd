"""Metrics read straight off the frame: data quality, privacy, and ROC AUC.

Data-quality and privacy figures describe this exact data set (how many cells are missing,
how small the rarest quasi-identifier combination is), not an estimate of a population
quantity, so they carry no confidence interval. ROC AUC is rank-based and has no count
table to resample; it is reported without one (``ci_method: none``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricError
from ._measurement import Measurement

if TYPE_CHECKING:
    from ._catalogue import MetricSpec
    from ._evaluate import Statistics


def measure(
    spec: MetricSpec,
    params: Mapping[str, Any],
    columns: Mapping[str, tuple[str, ...]],
    stats: Statistics,
) -> Measurement:
    frame = stats.frame
    key = spec.key
    if key in ("data_completeness", "missing_rate_max", "duplicate_rate"):
        chosen = list(columns.get("columns") or frame.columns)
        n_rows = stats.n_rows
        if key == "duplicate_rate":
            duplicated = int(frame[chosen].duplicated().sum())
            return Measurement(
                value=duplicated / n_rows, n=n_rows, details={"duplicated_rows": duplicated}
            )
        # column by column, by dtype: no frame-sized boolean mask (frame.isna() would be one)
        missing = {str(c): stats.missing(c) for c in chosen}
        per_column = {c: {"n": n_rows, "missing": m} for c, m in missing.items()}
        if key == "data_completeness":
            value = 1.0 - float(sum(missing.values())) / (n_rows * len(chosen))
        else:
            value = float(max(missing.values())) / n_rows
        return Measurement(value=value, n=n_rows, groups=per_column, details={"columns": chosen})
    if key in ("k_anonymity", "l_diversity"):
        quasi = list(columns.get("quasi_identifiers") or ())
        if not quasi:
            raise MetricError(
                f"{key} needs the quasi_identifiers parameter",
                hint="add params: {quasi_identifiers: 'age,zip'}",
            )
        grouped = frame.groupby(quasi, dropna=False, observed=True, sort=False)
        if key == "k_anonymity":
            sizes = grouped.size()
            smallest = sizes.idxmin()
            return Measurement(
                value=float(sizes.min()),
                n=len(frame),
                details={
                    "quasi_identifiers": quasi,
                    "equivalence_classes": len(sizes),
                    "smallest_class": _key(smallest),
                },
            )
        sensitive = columns["sensitive"][0]
        distinct = grouped[sensitive].nunique(dropna=False)
        return Measurement(
            value=float(distinct.min()),
            n=len(frame),
            details={
                "quasi_identifiers": quasi,
                "sensitive": sensitive,
                "equivalence_classes": len(distinct),
                "least_diverse_class": _key(distinct.idxmin()),
            },
        )
    if key == "roc_auc":
        value, n, positives = stats.roc_auc(
            columns["target"][0], columns["score"][0], params.get("pos_label", 1)
        )
        if np.isnan(value):
            raise MetricError("roc_auc is undefined: the target has only one class")
        return Measurement(value=value, n=n, details={"positives": positives})
    raise KeyError(key)


def _key(value: Any) -> Any:
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return str(value)
