"""Refuse input a metric cannot honestly measure, naming the column and what is wrong.

Every check here reads what every engine produces: the distinct values of a column (the
labels of its encoding) and the count tables, never pandas internals, so a control fed by
any engine fails the same way. Each one closes a way to a silent ``pass``: scikit-learn
refuses a label column that mixes ``1`` and ``"1"``, holds ``inf``, or holds probabilities;
so do we, with the column named, instead of returning a number computed on wrong classes.

* ``validate_inputs`` (called by ``measure``): label columns of classification metrics
  (mixed types, non-finite values, scores where labels are expected, more classes than the
  metric allows) and numeric columns of regression/score metrics (non-finite values).
* ``with_declared_bands``: a band declared by ``bins`` cut points that no row falls in is
  a group of size 0; it is kept in the table so size and share minimums see it.
* ``check_dimension_present``: a dimension whose every row is missing has no groups.
* ``check_frame_column``: a bound column name that occurs twice, or cells holding lists.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import BindingError, MetricError
from ._stats import MISSING_LABEL, GroupTable, bin_numeric

if TYPE_CHECKING:
    from ._catalogue import MetricSpec
    from ._evaluate import Statistics

#: A class table with more classes than this is an identifier or a measurement, not labels
#: (and a K x K confusion table per group would outgrow memory).
MAX_CLASSES = 1000

# Statistics whose target/prediction columns are class labels, by the roles holding labels.
_LABEL_ROLES = {
    "outcome": ("target", "prediction"),
    "confusion": ("target", "prediction"),
    "confusion_overall": ("target", "prediction"),
    "multiclass_confusion": ("target", "prediction"),
    "multiclass_outcome": ("target", "prediction"),
    "classes": ("target",),
    "calibration": ("target",),
    "frame": ("target",),  # roc_auc
}
# Roles that must hold finite numbers, by statistic.
_NUMERIC_ROLES = {
    "regression": ("target", "prediction"),
    "calibration": ("score",),
    "frame": ("score",),
}
#: Most cells of one per-group class table (400 MB of int64 counts).
MAX_TABLE_CELLS = 50_000_000
# Up to this many classes no table can reach MAX_TABLE_CELLS short of ~50,000 groups.
_FEW_CLASSES = 32
# Most declared (band x value) groups an intersection is padded to.
_MAX_DECLARED = 10_000
# Statistics that compare a prediction with its target label by label.
_COMPARED = ("confusion", "confusion_overall", "multiclass_confusion")
# Metrics whose binary average reads one class against one other (scikit-learn refuses a
# multiclass target with average='binary').
_BINARY_AVERAGE = {"precision_score", "recall_score", "f1_score"}


def _kind(value: Any) -> str:
    """The type family of a label: values of different families never compare equal."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (numbers.Number, np.number)):
        return "number"
    if isinstance(value, str):
        return "str"
    return type(value).__name__


def _present(labels: tuple[Any, ...]) -> list[Any]:
    """The labels of values that occur, without the missing-value label (missing values
    are refused on their own, with their count, by ``Statistics.labels_of``)."""
    return [v for v in labels if not (isinstance(v, str) and v == MISSING_LABEL)]


def _shown(values: Any, limit: int = 5) -> str:
    values = list(values)
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def check_labels(column: str, role: str, labels: tuple[Any, ...], metric: str) -> None:
    """Raise ``MetricError`` unless ``labels`` (a column's distinct values) are class labels."""
    present = _present(labels)
    kinds: dict[str, Any] = {}
    for value in present:
        kinds.setdefault(_kind(value), value)
    if len(kinds) > 1:
        families = " and ".join(f"{k} (e.g. {v!r})" for k, v in kinds.items())
        raise MetricError(
            f"{role} column '{column}' mixes value types: {families}; equal-looking labels "
            "such as 1 and '1' would count as different classes",
            hint=f"cast the column to one type, e.g. df['{column}'].astype(str)",
        )
    numbers_ = [float(v) for v in present if _kind(v) == "number"]
    bad = [v for v in numbers_ if not math.isfinite(v)]
    if bad:
        raise MetricError(
            f"{role} column '{column}' holds non-finite values ({_shown(sorted(set(bad)))}), "
            "which are not class labels",
            hint="drop or replace those rows before enforcing",
        )
    fractional = [v for v in numbers_ if not float(v).is_integer()]
    if fractional:
        raise MetricError(
            f"{role} column '{column}' holds scores, not labels: {len(fractional)} "
            f"distinct non-integer values (e.g. {_shown(sorted(fractional)[:3])})",
            hint="bind scores with score=..., or threshold them into labels",
        )
    if len(present) > MAX_CLASSES:
        raise MetricError(
            f"{role} column '{column}' has {len(present)} distinct values, more than the "
            f"{MAX_CLASSES} classes {metric} accepts (an identifier or a measurement, not labels)",
            hint="bind a label column",
        )


def check_finite(column: str, role: str, values: np.ndarray) -> None:
    """Raise ``MetricError`` when a numeric column holds inf or -inf."""
    infinite = np.isinf(values)
    if infinite.any():
        raise MetricError(
            f"{role} column '{column}' holds {int(infinite.sum())} non-finite value(s) "
            f"(first at row {int(np.flatnonzero(infinite)[0])}), so the metric is undefined",
            hint="drop or replace those rows before enforcing",
        )


def validate_inputs(
    spec: MetricSpec,
    params: Mapping[str, Any],
    columns: Mapping[str, tuple[str, ...]],
    stats: Statistics,
) -> None:
    """Check the bound columns of one control before anything is counted."""
    for names in columns.values():
        for column in names:
            stats.cached(("valid column", column), partial(_check, stats.frame, column))
    if spec.key == "duplicate_rate" and not columns.get("columns"):  # reads every column
        frame = stats.frame
        for position, name in enumerate(frame.columns):
            stats.cached(
                ("cells", position),
                partial(_check_position, frame, position, str(name)),
            )
    for column in columns.get("dimension", ()):
        series = stats.frame[column]
        if not pd.api.types.is_numeric_dtype(series.dtype):  # text, objects
            check_group_names(column, stats.encoded(column).labels)
        elif pd.api.types.is_float_dtype(series.dtype):  # inf would be binned as >= the top
            stats.cached(
                ("finite", column, "dimension"),
                partial(_check_finite_series, column, "dimension", series),
            )
    for role in _LABEL_ROLES.get(spec.statistic, ()):
        for column in columns.get(role, ()):
            check_labels(column, role, stats.encoded(column).labels, spec.key)
    for role in _NUMERIC_ROLES.get(spec.statistic, ()):
        for column in columns.get(role, ()):
            series = stats.frame[column]
            if pd.api.types.is_numeric_dtype(series.dtype):
                stats.cached(
                    ("finite", column, role),
                    partial(_check_finite_series, column, role, series),
                )
    if spec.statistic in _COMPARED and columns.get("target") and columns.get("prediction"):
        target, prediction = columns["target"][0], columns["prediction"][0]
        # True == 1 and False == 0 (as in scikit-learn), so bool and number labels compare
        kinds = {
            role: {
                "number" if _kind(v) == "bool" else _kind(v)
                for v in _present(stats.encoded(c).labels)
            }
            for role, c in (("target", target), ("prediction", prediction))
        }
        if kinds["target"] and kinds["prediction"] and kinds["target"] != kinds["prediction"]:
            raise MetricError(
                f"target column '{target}' holds {'/'.join(sorted(kinds['target']))} labels "
                f"but prediction column '{prediction}' holds "
                f"{'/'.join(sorted(kinds['prediction']))} labels, so no prediction can equal "
                "its target",
                hint="map both columns to the same labels",
            )
    _check_table_size(spec, columns, stats)
    if spec.key in _BINARY_AVERAGE and params.get("average", "binary") == "binary":
        classes: set = set()
        for role in ("target", "prediction"):
            for column in columns.get(role, ()):
                classes.update(_present(stats.encoded(column).labels))
        if len(classes) > 2:
            raise MetricError(
                f"{spec.key} with average 'binary' needs at most two classes; target and "
                f"prediction hold {len(classes)} ({_shown(sorted(classes, key=str))})",
                hint="set average: macro, micro or weighted",
            )


def _check_table_size(
    spec: MetricSpec, columns: Mapping[str, tuple[str, ...]], stats: Statistics
) -> None:
    """Refuse a per-group class table that would not fit in memory (groups x K x K cells)
    before it is allocated. Only many classes can get there, so the cheap case is free."""
    power = {"multiclass_confusion": 2, "multiclass_outcome": 1}.get(spec.statistic)
    dimension = columns.get("dimension", ())
    if power is None or not dimension:
        return
    classes: set = set()
    for role in ("target", "prediction"):
        for column in columns.get(role, ()):
            classes.update(stats.encoded(column).labels)
    k = len(classes)
    if k <= _FEW_CLASSES:
        return
    groups = math.prod(len(stats.encoded(c).labels) for c in dimension)  # an upper bound
    cells = groups * k**power
    if cells > MAX_TABLE_CELLS:
        raise MetricError(
            f"{spec.key} would count {cells:,} cells ({groups} groups x {k} classes"
            f"{' squared' if power == 2 else ''}), more than the {MAX_TABLE_CELLS:,} that fit "
            "in memory",
            hint="bin the dimension or group the classes",
        )


def check_group_names(column: str, labels: tuple[Any, ...]) -> None:
    """Raise when two distinct values of a dimension print alike (``1`` and ``'1'``): the
    evidence names groups by text, so they would read as one group measured twice."""
    seen: dict[str, Any] = {}
    for value in labels:
        text = str(value)
        if text in seen and text == MISSING_LABEL:
            raise MetricError(
                f"dimension column '{column}' holds the text '{MISSING_LABEL}', which would "
                "merge with the group of its missing values",
                hint="rename that value, or make those cells missing",
            )
        if text in seen:
            raise MetricError(
                f"dimension column '{column}' holds {seen[text]!r} and {value!r}, distinct "
                f"values that both read '{text}' as a group name",
                hint=f"cast the column to one type, e.g. df['{column}'].astype(str)",
            )
        seen[text] = value


def check_dimension_present(dimension: tuple[str, ...], table: GroupTable) -> None:
    """Raise ``MetricError`` when some dimension column is missing on every row."""
    if not table.labels:
        return
    if len(dimension) == 1:
        if all(label == MISSING_LABEL for label in table.labels):
            _all_missing(dimension[0], int(table.sizes.sum()))
        return
    parts = [label.split(" & ") for label in table.labels]
    if any(len(p) != len(dimension) for p in parts):
        return  # a value contains ' & ': positions cannot be told apart from the labels
    for i, column in enumerate(dimension):
        if all(p[i] == MISSING_LABEL for p in parts):
            _all_missing(column, int(table.sizes.sum()))


def _all_missing(column: str, n: int) -> None:
    raise MetricError(
        f"dimension column '{column}' is missing on all {n} rows, so it has no groups "
        "(every row would be the group '(missing)')",
        hint="bind a column that holds the protected attribute",
    )


def with_declared_bands(dimension: tuple[str, ...], bins: Any, table: GroupTable) -> GroupTable:
    """``table`` with a zero-size group for each declared band no row falls in.

    Only cut points declare bands (``bins: "25,60"`` declares ``<25``, ``[25, 60)``,
    ``>=60``); a number of equal-frequency bins describes the data, not a promise about it.
    The bands are recognised by their labels, so a non-numeric column (which ``bins`` does
    not cut) is left as it is. In an intersection (``[age, gender]``) every declared band
    meets every value the other columns take, so ``>=60 & f`` with no rows is a group of
    size 0 too (up to ``_MAX_DECLARED`` combinations; beyond that only the observed ones).
    """
    if not isinstance(bins, tuple) or not table.labels:
        return table
    declared = bin_numeric(pd.Series([], dtype=float, name=dimension[0]), bins).labels
    parts: list[tuple[str, ...]]
    if len(dimension) == 1:
        parts = [(label,) for label in table.labels]
    else:
        parts = [tuple(label.split(" & ")) for label in table.labels]
        if any(len(p) != len(dimension) for p in parts):
            return table  # a value contains ' & ': positions cannot be told apart
    axes: list[list[str]] = []
    for i in range(len(dimension)):
        seen = list(dict.fromkeys(p[i] for p in parts))
        values = set(seen) - {MISSING_LABEL}
        if values and values <= set(declared):  # a binned column: every band it declares
            axes.append(list(declared) + ([MISSING_LABEL] if MISSING_LABEL in seen else []))
        else:
            axes.append(seen)
    declared_groups = math.prod(len(a) for a in axes)
    if declared_groups == len(parts) or declared_groups > _MAX_DECLARED:
        return table  # every declared group has rows already, or too many to list
    rows = {part: table.counts[i] for i, part in enumerate(parts)}
    empty = np.zeros_like(table.counts[0])
    order = list(itertools.product(*axes))
    counts = np.stack([rows.get(tuple(part), empty) for part in order])
    return GroupTable(tuple(" & ".join(part) for part in order), counts, table.class_labels)


def check_frame_column(frame: pd.DataFrame, column: str) -> None:
    """Raise when a bound column is ambiguous (its name occurs twice) or holds lists."""
    names = frame.columns
    # is_unique is cached by pandas: the common case costs one hash lookup
    # (get_loc of a unique Index is an int; the stubs also allow the non-unique results)
    positions = (
        [int(names.get_loc(column))]  # type: ignore[arg-type]
        if names.is_unique
        else [int(p) for p in names.get_indexer_for(pd.Index([column]))]
    )
    if len(positions) > 1:
        raise BindingError(
            f"the data has {len(positions)} columns named '{column}' (positions "
            f"{', '.join(str(int(p)) for p in positions)}), so which one to measure is ambiguous",
            hint="rename or drop the duplicates (df.loc[:, ~df.columns.duplicated()])",
        )
    if len(positions) == 1:
        check_cells(frame.iloc[:, positions[0]], column)


def check_cells(series: pd.Series, column: str) -> None:
    """Raise when an object column holds lists, dicts, sets or arrays (unhashable cells)."""
    if series.dtype != object:
        return
    if pd.api.types.infer_dtype(series, skipna=True) not in ("mixed", "unknown-array"):
        return
    for position, value in enumerate(series.array):
        if isinstance(value, (list, dict, set, np.ndarray)):
            raise MetricError(
                f"column '{column}' holds {type(value).__name__} values (first at row "
                f"{position}: {_clip(repr(value))}), which cannot be labels or groups",
                hint="explode or join the values into one value per row",
            )


def _check(frame: pd.DataFrame, column: str) -> bool:
    check_frame_column(frame, column)
    return True


def _check_position(frame: pd.DataFrame, position: int, name: str) -> None:
    check_cells(frame.iloc[:, position], name)


def _check_finite_series(column: str, role: str, series: pd.Series) -> None:
    check_finite(column, role, series.to_numpy(dtype=float, na_value=np.nan))


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every column name a string (``0`` becomes ``'0'``), as policies and
    keywords name columns by text. No data is copied."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    return frame.set_axis([str(c) for c in frame.columns], axis=1)
