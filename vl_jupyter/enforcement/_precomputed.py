"""``enforce(metrics={...}, policy=...)``: judge values the caller computed elsewhere.

The Venturalítica SDK's second entry: a pipeline that already has ``accuracy_score`` from
its own evaluation hands the number over, and the policy judges it. A control whose metric
is not among the given values is an ``error`` result that says which key it needed and
which keys were given (with close matches): a policy must never pass on a value nobody
supplied. Values are looked up by the control's metric key as the policy wrote it, by its
canonical key, then by the control id (the SDK's samples use both spellings).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from numbers import Real
from typing import Any

from ..errors import EnforcementError, did_you_mean
from ..metrics import Measurement
from ..policy import Control, Policy
from ._judge import judge
from ._report import PHASE_SKIP, ControlMetadata, ControlResult, Status

#: The ``data`` summary of a report judged from precomputed values (there is no frame).
SOURCE = "precomputed"


def check_metrics(metrics: Any) -> dict[str, float | None]:
    """``metrics`` as ``{key: float}``; non-numbers become None (judged as errors later).

    A non-mapping is refused at once: ``enforce(metrics=[0.9])`` is a usage mistake.
    """
    if not isinstance(metrics, Mapping):
        raise EnforcementError(
            f"metrics= must be a mapping of metric key to value, got {type(metrics).__name__}",
            hint='e.g. enforce(metrics={"accuracy_score": 0.91}, policy="policy.yaml")',
        )
    out: dict[str, float | None] = {}
    for key, value in metrics.items():
        number = _number(value)
        out[str(key)] = number
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool):  # True is a Real, but a pass flag is not a measurement
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            value = value.item()
        except (TypeError, ValueError):
            return None
    if isinstance(value, Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _stem(key: str) -> str:
    """``accuracy_score`` and ``accuracy`` are the same name to a reader."""
    return key.lower().removesuffix("_score")


def _close_matches(wanted: list[str], given: list[str]) -> list[str]:
    found = []
    for key in given:
        ratio = max(difflib.SequenceMatcher(None, _stem(w), _stem(key)).ratio() for w in wanted)
        if ratio >= 0.75:
            found.append((ratio, key))
    return [key for _, key in sorted(found, reverse=True)[:3]]


def data_summary(metrics: Mapping[str, float | None]) -> dict[str, Any]:
    """What the evidence says about the input: the given keys and values, no frame."""
    return {"source": SOURCE, "metrics": dict(metrics), "rows": None, "columns": []}


def evaluate(
    control: Control,
    metrics: Mapping[str, float | None],
    raw: Mapping[str, Any],
    metadata: ControlMetadata,
) -> tuple[float | None, Status, ControlMetadata]:
    """``(value, status, metadata)`` of one control judged from ``metrics``."""
    if not control.judgeable:  # no operator or threshold could be read: nothing to judge
        metadata["reason"] = f"cannot be evaluated as the policy is written: {control.problem}"
        metadata["error_code"] = "POLICY_INVALID"
        return None, Status.ERROR, metadata
    if control.problem is not None:  # e.g. a metric we cannot compute: its value is given
        metadata["policy_problem"] = control.problem
    keys = [k for k in (control.metric_as_written, control.metric, control.id) if k]
    found = next((k for k in keys if k in metrics), None)
    metadata["source"] = SOURCE
    if found is None:
        given = ", ".join(sorted(metrics)) or "none"
        close = _close_matches(keys, list(metrics))
        hint = "; " + did_you_mean(close) if close else ""
        metadata["reason"] = (
            f"metric '{keys[0]}' was not given in metrics= (given: {given}){hint}; "
            "a value nobody measured is never a pass"
        )
        metadata["error_code"] = "METRIC_NOT_GIVEN"
        return None, Status.ERROR, metadata
    value = metrics[found]
    metadata["metric_given_as"] = found
    if value is None:
        metadata["reason"] = (
            f"metrics['{found}'] = {raw.get(found)!r} is not a finite number, so it cannot be "
            f"compared with {control.operator_symbol} {control.threshold:g}"
        )
        metadata["error_code"] = "METRIC_NOT_A_NUMBER"
        return None, Status.ERROR, metadata
    measured = Measurement(value=value, n=0)
    status, reason = judge(control, measured)
    metadata.update({"n": None, "groups": {}, "ci": None, "ci_note": "precomputed value"})
    if reason:
        metadata["reason"] = reason
    return value, status, metadata


def results(
    policy: Policy,
    metrics: Mapping[str, float | None],
    raw: Mapping[str, Any],
    phase: str | None,
    make: Any,
) -> list[ControlResult]:
    """One result per control; ``make(control, value, status, metadata)`` builds it (the
    same constructor the data path uses, so both paths give identical record shapes)."""
    out = []
    for control in policy.controls:
        metadata: ControlMetadata = {
            "enforcement_mode": control.enforcement_mode,
            "phases": list(control.phases),
            "warn_threshold": control.warn_threshold,
        }
        if not control.applies_to(phase):
            metadata["reason"] = (
                f"not applicable in phase '{phase}' (control phases: {', '.join(control.phases)})"
            )
            metadata["skipped_for"] = PHASE_SKIP
            out.append(make(control, None, Status.SKIPPED, metadata))
            continue
        value, status, metadata = evaluate(control, metrics, raw, metadata)
        out.append(make(control, value, status, metadata))
    return out
