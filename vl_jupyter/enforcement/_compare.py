"""Compare a report with a baseline: per-control change, its significance, an alert level.

A single run says "passes today"; the comparison answers "is it better or worse than the
model in production, and is the difference more than sampling noise?".

- **Change** is measured in the direction the policy calls better: a control ``gt 0.8``
  (or ``ge``) improves when the value rises, ``lt``/``le`` when it falls; ``eq``/``ne``
  when it moves towards the threshold. Controls whose operator says nothing fall back to
  the metric's catalogue direction. ``degradation`` is positive when the value got worse.
- **Significance** is a two-sided z-test of the difference, with each run's standard
  error taken from its own bootstrap interval (half-width / z of the interval level; the
  runs are independent samples). Without an interval on either side it is ``None``:
  not tested, never "not significant".
- **Alert levels** ``none < warning < critical < emergency`` come from the control's
  ``max_regression`` (default: the ACGS-PGP MLOps levels 5, 10 and 15: per cent of the
  baseline where higher is better, points where lower is better; see
  ``vl_jupyter.policy.RegressionRule``). The level is shown whatever the significance; a control fails on a
  regression only if the policy asks for it (``fail_on_regression: critical``) *and* the
  change is significant (or untestable), so a gate does not fail on noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

from ..policy import RegressionRule, alert_rank
from ._report import PASSING, Status

_ALPHA = 0.05


@dataclass(frozen=True)
class ControlChange:
    """One control of the current run against the same control in the baseline."""

    control_id: str
    metric_key: str
    better: str  # "higher", "lower", "closer" (to the threshold) or "none"
    value: float | None
    baseline_value: float | None
    change: float | None  # value - baseline_value
    relative_change: float | None  # change / |baseline_value|
    degradation: float | None  # > 0: worse in the better direction
    relative_degradation: float | None
    z: float | None
    p_value: float | None
    significant: bool | None  # None: not testable (no interval on one side)
    level: str
    status: str
    baseline_status: str | None
    threshold: float | None = None
    baseline_threshold: float | None = None
    reason: str | None = None

    @property
    def direction(self) -> str:
        """``improved``, ``regressed``, ``unchanged`` or ``n/a``."""
        if self.degradation is None:
            return "n/a"
        if abs(self.degradation) < 1e-12:
            return "unchanged"
        return "regressed" if self.degradation > 0 else "improved"


@dataclass
class Comparison:
    """A report against its baseline; ``worst_level`` is the highest alert of any control."""

    baseline: dict[str, Any]
    changes: list[ControlChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    policy_changes: list[dict[str, Any]] = field(default_factory=list)
    method: str = (
        "two-sided z-test of the difference; standard errors from each run's bootstrap "
        f"interval; significant at p < {_ALPHA}"
    )

    def __getitem__(self, control_id: str) -> ControlChange:
        for change in self.changes:
            if change.control_id == control_id:
                return change
        raise KeyError(control_id)

    def __iter__(self):
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    @property
    def worst_level(self) -> str:
        return max((c.level for c in self.changes), key=alert_rank, default="none")

    @property
    def regressions(self) -> list[ControlChange]:
        return [c for c in self.changes if c.level != "none"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "worst_level": self.worst_level,
            "method": self.method,
            "changes": [asdict(c) for c in self.changes],
            "added": self.added,
            "removed": self.removed,
            "policy_changes": self.policy_changes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        fields = ControlChange.__dataclass_fields__
        return cls(
            baseline=dict(data.get("baseline") or {}),
            changes=[
                ControlChange(**{k: v for k, v in c.items() if k in fields})
                for c in data.get("changes") or []
            ],
            added=list(data.get("added") or []),
            removed=list(data.get("removed") or []),
            policy_changes=list(data.get("policy_changes") or []),
            method=str(data.get("method") or cls.method),
        )

    def to_frame(self):
        """One row per control: values, change, p-value, significance and alert level."""
        import pandas as pd

        rows = [{**asdict(c), "direction": c.direction} for c in self.changes]
        frame = pd.DataFrame(rows)
        return frame.set_index("control_id") if rows else frame

    def __repr__(self) -> str:
        label = self.baseline.get("label") or self.baseline.get("id")
        return (
            f"<Comparison with {label}: {len(self.regressions)} regression(s), "
            f"worst level {self.worst_level}>"
        )

    def _repr_html_(self) -> str | None:
        """The display room's HTML, as :meth:`Report._repr_html_` (see ``_views``)."""
        from ._views import view

        render = view("comparison_html")
        return render(self) if render else None


def compare_reports(current, baseline, *, baseline_info: Mapping[str, Any] | None = None):
    """The :class:`Comparison` of ``current`` (a Report) with ``baseline`` (a Report).

    >>> from vl_jupyter.enforcement import ControlResult, Report
    >>> def report(value, low, high):
    ...     result = ControlResult("acc", "", "accuracy", 0.7, value, "gt", True, "high",
    ...                            "pass", {"ci": {"low": low, "high": high, "level": 0.95}})
    ...     return Report([result], policy={}, data={}, bindings={})
    >>> change = compare_reports(report(0.72, 0.70, 0.74), report(0.80, 0.78, 0.82))["acc"]
    >>> round(change.relative_degradation, 3), change.level, change.significant
    (0.1, 'critical', True)
    """
    base = {r.control_id: r for r in baseline}
    info = dict(baseline_info or {})
    info.setdefault("id", baseline.evidence_id)
    comparison = Comparison(baseline=info)
    current_ids = {r.control_id for r in current}
    for result in current:
        if result.status == Status.SKIPPED:
            continue
        before = base.get(result.control_id)
        if before is None or before.status == Status.SKIPPED:
            comparison.added.append(result.control_id)
            continue
        comparison.changes.append(_change(result, before))
    comparison.removed = [cid for cid in base if cid not in current_ids]
    comparison.policy_changes = _policy_changes(current, baseline)
    return comparison


def apply_regressions(report, comparison: Comparison) -> None:
    """Fail the controls whose regression reaches the level their policy fails at.

    Mutates ``report``'s results in place (before its evidence is written, so the record
    holds the final statuses and the comparison that led to them)."""
    for result in report:
        try:
            change = comparison[result.control_id]
        except KeyError:
            continue
        rule = RegressionRule.from_dict((result.metadata.get("regression") or {}).get("rule"))
        result.metadata["regression"] = {
            "rule": rule.to_dict(),
            "baseline": comparison.baseline.get("id"),
            "level": change.level,
            "baseline_value": change.baseline_value,
            "degradation": change.degradation,
            "relative_degradation": change.relative_degradation,
            "p_value": change.p_value,
            "significant": change.significant,
        }
        if (
            rule.fails(change.level)
            and change.significant is not False
            and result.status in PASSING
        ):
            amount = (
                f"{change.relative_degradation:.1%}"
                if rule.effective_mode(change.better) == "relative"
                and change.relative_degradation is not None
                else f"{change.degradation:.4g}"
            )
            result.status = Status.FAIL
            result.passed = False
            result.metadata["reason"] = (
                f"regressed {amount} against baseline {comparison.baseline.get('label')} "
                f"({change.baseline_value:.4g} -> {change.value:.4g}): {change.level} "
                f"regression, and the policy fails at {rule.fail_at}"
            )


def _change(result, before) -> ControlChange:
    better = _better(result)
    value, base = result.actual_value, before.actual_value
    change = rel_change = degradation = rel_degradation = z = p = None
    significant: bool | None = None
    reason = None
    if value is None or base is None:
        reason = "no value on " + (
            "either side"
            if value is None and base is None
            else ("this run" if value is None else "the baseline")
        )
    else:
        change = value - base
        rel_change = change / abs(base) if base != 0 else None
        if better == "higher":
            degradation = base - value
        elif better == "lower":
            degradation = value - base
        elif better == "closer":
            degradation = abs(value - result.threshold) - abs(base - result.threshold)
        if degradation is not None:
            scale = abs(base - result.threshold) if better == "closer" else abs(base)
            rel_degradation = (
                degradation / scale
                if scale > 0
                else (0.0 if degradation == 0 else math.copysign(math.inf, degradation))
            )
        z, p = _z_test(change, result, before)
        significant = None if p is None else p < _ALPHA
    rule = RegressionRule.from_dict((result.metadata.get("regression") or {}).get("rule"))
    return ControlChange(
        control_id=result.control_id,
        metric_key=result.metric_key,
        better=better,
        value=value,
        baseline_value=base,
        change=change,
        relative_change=rel_change,
        degradation=degradation,
        relative_degradation=rel_degradation,
        z=z,
        p_value=p,
        significant=significant,
        level=rule.level(degradation, rel_degradation, better),
        status=result.status,
        baseline_status=before.status,
        threshold=result.threshold,
        baseline_threshold=before.threshold,
        reason=reason,
    )


def _better(result) -> str:
    if result.operator in ("gt", "ge"):
        return "higher"
    if result.operator in ("lt", "le"):
        return "lower"
    if result.operator in ("eq", "ne"):
        return "closer"
    from ..metrics import canonical_key, get_spec

    key = canonical_key(result.metric_key)
    direction = get_spec(key).direction if key else "none"
    return direction if direction in ("higher", "lower") else "none"


def _standard_error(result) -> float | None:
    ci = result.metadata.get("ci") or {}
    low, high = ci.get("low"), ci.get("high")
    if low is None or high is None:
        return None
    level = float(ci.get("level") or 0.95)
    return (float(high) - float(low)) / (2 * _normal_quantile(0.5 + level / 2))


def _z_test(change: float, result, before) -> tuple[float | None, float | None]:
    se_now, se_base = _standard_error(result), _standard_error(before)
    if se_now is None or se_base is None:
        return None, None
    se = math.hypot(se_now, se_base)
    if se == 0:
        return (0.0, 1.0) if change == 0 else (math.copysign(math.inf, change), 0.0)
    z = change / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _normal_quantile(p: float) -> float:
    return NormalDist().inv_cdf(p)


def _policy_changes(current, baseline) -> list[dict[str, Any]]:
    """Controls whose threshold or operator changed between the two policies."""
    now = {r.control_id: r for r in current}
    changed = []
    for before in baseline:
        after = now.get(before.control_id)
        if after is None:
            continue
        if (after.threshold, after.operator, after.metric_key) != (
            before.threshold,
            before.operator,
            before.metric_key,
        ):
            changed.append(
                {
                    "control_id": before.control_id,
                    "before": f"{before.metric_key} {before.operator} {before.threshold}",
                    "after": f"{after.metric_key} {after.operator} {after.threshold}",
                }
            )
    return changed
