"""Metrics read straight off the frame: data quality, privacy, dataset heuristics, ROC AUC.

Data-quality and privacy figures describe this exact data set (how many cells are missing,
how small the rarest quasi-identifier combination is), not an estimate of a population
quantity, so they carry no confidence interval. ROC AUC is rank-based and has no count
table to resample; it is reported without one (``ci_method: none``).

Each function takes the metric being measured (its spec, params, bound ``columns`` and the
frame's ``Statistics``) and returns a ``Measurement``; the catalogue names the function of
each key.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricError
from ._measurement import Measurement

if TYPE_CHECKING:
    from ._evaluate import _CountMetric


def _chosen(m: _CountMetric) -> list[str]:
    return list(m.columns.get("columns") or m.stats.frame.columns)


def _missing(m: _CountMetric) -> tuple[list[str], dict[str, dict[str, int]]]:
    """Missing values per chosen column, counted column by column by dtype
    (``Statistics.missing``): no frame-sized boolean mask, and on engine data a null count
    in the engine."""
    chosen = _chosen(m)
    n = m.stats.n_rows
    return chosen, {str(c): {"n": n, "missing": m.stats.missing(c)} for c in chosen}


def completeness(m: _CountMetric) -> Measurement:
    chosen, per_column = _missing(m)
    n = m.stats.n_rows
    value = 1.0 - float(sum(c["missing"] for c in per_column.values())) / (n * len(chosen))
    return Measurement(value=value, n=n, groups=per_column, details={"columns": chosen})


def missing_rate_max(m: _CountMetric) -> Measurement:
    chosen, per_column = _missing(m)
    n = m.stats.n_rows
    value = float(max(c["missing"] for c in per_column.values())) / n
    return Measurement(value=value, n=n, groups=per_column, details={"columns": chosen})


def duplicate_rate(m: _CountMetric) -> Measurement:
    view = m.stats.frame[_chosen(m)]
    duplicated = int(view.duplicated().sum())
    return Measurement(
        value=duplicated / len(view), n=len(view), details={"duplicated_rows": duplicated}
    )


def _quasi(m: _CountMetric) -> list[str]:
    quasi = list(m.columns.get("quasi_identifiers") or ())
    if not quasi:
        raise MetricError(
            f"{m.spec.key} needs the quasi_identifiers parameter",
            hint="add params: {quasi_identifiers: 'age,zip'}",
        )
    return quasi


def _sensitive(m: _CountMetric) -> str:
    """The sensitive column: the ``sensitive`` role, or the SDK's ``sensitive_attribute``."""
    for name in ("sensitive", "sensitive_attribute"):
        if m.columns.get(name):
            return m.columns[name][0]
    if "sensitive" in m.stats.frame.columns:  # a role binds a column of its own name
        return "sensitive"
    raise MetricError(
        f"{m.spec.key} needs the sensitive column",
        hint="bind it with inputs: {sensitive: diagnosis}, enforce(..., sensitive='<column>') "
        "or the parameter sensitive_attribute",
    )


def k_anonymity(m: _CountMetric) -> Measurement:
    quasi = _quasi(m)
    sizes = m.stats.frame.groupby(quasi, dropna=False, observed=True, sort=False).size()
    return Measurement(
        value=float(sizes.min()),
        n=m.stats.n_rows,
        details={
            "quasi_identifiers": quasi,
            "equivalence_classes": len(sizes),
            "smallest_class": _key(sizes.idxmin()),
        },
    )


def l_diversity(m: _CountMetric) -> Measurement:
    quasi, sensitive = _quasi(m), _sensitive(m)
    grouped = m.stats.frame.groupby(quasi, dropna=False, observed=True, sort=False)
    distinct = grouped[sensitive].nunique(dropna=False)
    return Measurement(
        value=float(distinct.min()),
        n=m.stats.n_rows,
        details={
            "quasi_identifiers": quasi,
            "sensitive": sensitive,
            "equivalence_classes": len(distinct),
            "least_diverse_class": _key(distinct.idxmin()),
        },
    )


def t_closeness(m: _CountMetric) -> Measurement:
    """Largest total-variation distance between a class's sensitive-value distribution and
    the whole frame's (half the L1 distance, as the SDK computes it)."""
    import pandas as pd

    quasi, sensitive = _quasi(m), _sensitive(m)
    frame = m.stats.frame
    classes = frame.groupby(quasi, dropna=False, observed=True, sort=False).ngroup().to_numpy()
    values, _ = pd.factorize(frame[sensitive], use_na_sentinel=False)
    n_classes, n_values = int(classes.max()) + 1, int(values.max()) + 1
    counts = np.bincount(classes * n_values + values, minlength=n_classes * n_values)
    counts = counts.reshape(n_classes, n_values).astype(float)
    overall = counts.sum(axis=0) / counts.sum()
    per_class = counts / counts.sum(axis=1, keepdims=True)
    distance = 0.5 * np.abs(per_class - overall).sum(axis=1)
    worst = int(np.argmax(distance))
    keys = frame.groupby(quasi, dropna=False, observed=True, sort=False).size().index
    return Measurement(
        value=float(distance[worst]),
        n=len(frame),
        details={
            "quasi_identifiers": quasi,
            "sensitive": sensitive,
            "equivalence_classes": n_classes,
            "farthest_class": _key(keys[worst]),
            "distance": "total variation (half the L1 distance)",
        },
    )


# Words that mark a column as personal data when the policy names none (the SDK's list).
_SENSITIVE_WORDS = (
    "age", "gender", "race", "ethnicity", "health", "medical", "income", "salary", "phone",
    "email", "ssn", "id",
)  # fmt: skip


def _words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}


def data_minimization(m: _CountMetric) -> Measurement:
    """1 - sensitive columns / all columns. Without ``sensitive_columns`` the sensitive
    columns are guessed from whole words of their names (the SDK matches substrings, so
    ``residence_since`` counted as an identifier), and the guess is named in a warning."""
    columns = [str(c) for c in m.stats.frame.columns]
    given = m.columns.get("sensitive_columns")
    if given:
        sensitive = list(dict.fromkeys(given))
    else:
        sensitive = [c for c in columns if _words(c) & set(_SENSITIVE_WORDS)]
        m.warnings.append(
            "no sensitive_columns given: guessed from column names "
            f"({', '.join(sensitive) if sensitive else 'none found'}); name them to be exact"
        )
    return Measurement(
        value=1.0 - len(sensitive) / len(columns),
        n=len(columns),
        warnings=m.warnings,
        details={"sensitive_columns": sensitive, "guessed": not given, "columns": len(columns)},
    )


def sample_adequacy_ratio(m: _CountMetric) -> Measurement:
    required = m.params.get("required_rows")
    if required is None:
        raise MetricError(
            "sample_adequacy_ratio needs the required_rows parameter: how many rows are "
            "adequate is a judgement the policy must state",
            hint="add a prop {name: required_rows, value: '500'} (n/500 in the Venturalítica demos)",
        )
    n = m.stats.n_rows
    return Measurement(value=n / required, n=n, details={"rows": n, "required_rows": required})


_PROVENANCE_FIELDS = ("page_number", "chunk_number")


def provenance_completeness(m: _CountMetric) -> Measurement:
    frame = m.stats.frame
    fields = list(m.columns.get("fields") or _PROVENANCE_FIELDS)
    absent = [f for f in fields if f not in frame.columns]
    if absent:  # the SDK returns 0.0 here; a missing column is not a measured 0
        raise MetricError(
            f"provenance_completeness reads the fields {', '.join(map(repr, fields))}, and "
            f"{', '.join(map(repr, absent))} is not a column",
            hint="name the provenance columns with the parameter fields: 'page,chunk'",
        )
    complete = int(frame[fields].notna().all(axis=1).sum())
    return Measurement(
        value=complete / len(frame),
        n=len(frame),
        details={"fields": fields, "complete_rows": complete},
    )


def report_coverage(m: _CountMetric) -> Measurement:
    column = m.columns["target"][0]
    distinct = int(m.stats.frame[column].nunique(dropna=True))
    return Measurement(
        value=distinct / m.stats.n_rows,
        n=m.stats.n_rows,
        details={"target": column, "distinct": distinct},
    )


def chunk_diversity(m: _CountMetric) -> Measurement:
    """Mean over the target's values (reports) of the distinct dimension values (chunks)."""
    target, dimension = m.columns["target"][0], m.columns["dimension"][0]
    per_report = m.stats.frame.groupby(target, dropna=True, observed=True)[dimension].nunique()
    if per_report.empty:
        raise MetricError(f"target column '{target}' has no values")
    groups = {str(k): {"n": int(v), "value": float(v)} for k, v in per_report.items()}
    return Measurement(value=float(per_report.mean()), n=m.stats.n_rows, groups=groups)


def roc_auc(m: _CountMetric) -> Measurement:
    """Exact AUC without ranking every row (``Statistics.roc_auc``; on engine data, one
    GROUP BY score in the engine)."""
    value, n, positives = m.stats.roc_auc(
        m.columns["target"][0], m.columns["score"][0], m.params.get("pos_label", 1)
    )
    if np.isnan(value):
        raise MetricError("roc_auc is undefined: the target has only one class")
    return Measurement(value=value, n=n, details={"positives": positives})


def _key(value: Any) -> Any:
    if isinstance(value, tuple):
        return [str(v) for v in value]
    return str(value)
