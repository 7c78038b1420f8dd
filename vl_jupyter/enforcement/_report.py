"""What ``enforce`` returns: one ``ControlResult`` per control, gathered in a ``Report``."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

STATUSES = ("pass", "warn", "fail", "error", "skipped")
#: ``metadata["skipped_for"]`` of a control of another lifecycle phase: such a control is
#: left out of ``Report.results`` (the SDK leaves it out) and listed in ``Report.skipped``.
#: Other skips (a drift control without a baseline) stay in the results.
PHASE_SKIP = "phase"


def _phase_skipped(result: ControlResult) -> bool:
    return result.status == "skipped" and result.metadata.get("skipped_for") == PHASE_SKIP


@dataclass
class ControlResult:
    """The judgement of one control. ``dataclasses.asdict(result)`` gives the record shape
    that Venturalítica tooling reads (``control_id`` ... ``metadata``) plus ``status``.

    ``passed`` is True for ``pass`` and ``warn`` only; ``actual_value`` is None when the
    control could not be evaluated (``metadata["reason"]`` says why).
    """

    control_id: str
    description: str
    metric_key: str
    threshold: float
    actual_value: float | None
    operator: str
    passed: bool
    severity: str
    status: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str | None:
        return self.metadata.get("reason")

    @property
    def ci(self) -> tuple[float, float] | None:
        ci = self.metadata.get("ci")
        return (ci["low"], ci["high"]) if ci else None

    @property
    def power(self) -> dict[str, Any]:
        """The statistical footing of the value, in the Venturalítica SDK's ``power`` shape:
        ``n``, ``n_clusters`` (None: no cluster bootstrap here), ``groups`` (rows per
        group), ``ci_low``, ``ci_high``, ``ci_level``, ``method``, ``n_boot``, ``seed``.
        The CI fields are None where no interval was drawn (``metadata["ci_note"]`` says
        why)."""
        meta = self.metadata
        ci = meta.get("ci") or {}
        groups = meta.get("groups") or {}
        return {
            "n": meta.get("n"),
            "n_clusters": None,
            "groups": {g: v.get("n") if isinstance(v, dict) else v for g, v in groups.items()},
            "ci_low": ci.get("low"),
            "ci_high": ci.get("high"),
            "ci_level": ci.get("level"),
            "method": ci.get("method"),
            "n_boot": ci.get("n_boot"),
            "seed": ci.get("seed"),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ControlResult:
        """Inverse of ``dataclasses.asdict`` (keys it does not know, such as the SDK's
        ``power``, are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values.setdefault("metadata", {})
        values["metadata"] = dict(values["metadata"] or {})
        return cls(**values)


class Report(Sequence[ControlResult]):
    """The results of one ``enforce`` call, in policy order.

    Iterating, ``len`` and ``results`` leave out the controls of another lifecycle phase,
    as the Venturalítica SDK leaves them out; they are listed in ``skipped`` instead
    (``report["id"]`` finds both). ``r1 + r2`` combines two reports (see :func:`combine`).
    ``passed`` is True only when at least one control was evaluated and none failed or
    errored: an empty or all-skipped report never passes. ``score`` is the share of the
    evaluated (non-skipped) controls whose status is ``pass``, rounded *down* to a whole
    percent: a ``warn`` is in doubt and does not count as passed, and a report with any
    warn, fail or error can never read 100% (199 of 200 is 0.99, not a rounded-up 100%).
    """

    def __init__(
        self,
        results: list[ControlResult],
        *,
        policy: dict[str, Any],
        data: dict[str, Any],
        bindings: dict[str, Any],
        name: str | None = None,
        phase: str | None = None,
        started: str | None = None,
        finished: str | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.results = [r for r in results if not _phase_skipped(r)]
        self.skipped = [r for r in results if _phase_skipped(r)]
        self.policy = policy
        self.data = data
        self.bindings = bindings
        self.name = name
        self.phase = phase
        self.started = started
        self.finished = finished
        self.warnings = list(warnings or [])
        self.evidence_id: str | None = None
        self.session: str | None = None
        #: the comparison with a baseline, when enforce() was given one (``compare()``)
        self.comparison: Any = None
        #: the reports a combined report was made of (empty for a single enforce call)
        self.parts: list[Report] = []

    @property
    def evidence_ids(self) -> list[str]:
        """Every evidence record behind this report: its own, or its parts' in order."""
        if self.parts:
            return [i for part in self.parts for i in part.evidence_ids]
        return [self.evidence_id] if self.evidence_id else []

    def __add__(self, other: object) -> Report:
        if not isinstance(other, Report):
            return NotImplemented
        from ._combine import combine

        return combine([self, other])

    @overload
    def __getitem__(self, index: int) -> ControlResult: ...
    @overload
    def __getitem__(self, index: slice) -> list[ControlResult]: ...
    def __getitem__(self, index):
        if isinstance(index, str):
            for result in [*self.results, *self.skipped]:
                if result.control_id == index:
                    return result
            raise KeyError(index)
        return self.results[index]

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[ControlResult]:
        return iter(self.results)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.status for r in [*self.results, *self.skipped])
        return {status: found.get(status, 0) for status in STATUSES}

    @property
    def evaluated(self) -> list[ControlResult]:
        return [r for r in self.results if r.status != "skipped"]

    @property
    def passed(self) -> bool:
        evaluated = self.evaluated
        return bool(evaluated) and all(r.passed for r in evaluated)

    @property
    def score(self) -> float:
        evaluated = self.evaluated
        if not evaluated:
            return 0.0
        clean = sum(r.status == "pass" for r in evaluated)
        return (100 * clean // len(evaluated)) / 100  # integer floor: no float rounding up

    @property
    def status(self) -> str:
        """The worst status: error > fail > warn > pass (skipped only if all skipped)."""
        counts = self.counts
        for status in ("error", "fail", "warn", "pass"):
            if counts[status]:
                return status
        return "skipped" if counts["skipped"] else "error"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "score": self.score,
            "status": self.status,
            "counts": self.counts,
            "controls": len(self.results),
            "policy_title": self.policy.get("title"),
            "policy_version": self.policy.get("version"),
        }

    def to_dict(self) -> dict[str, Any]:
        out = {
            **self.summary(),
            "evidence_id": self.evidence_id,
            "session": self.session,
            "phase": self.phase,
            "started": self.started,
            "finished": self.finished,
            "policy": {k: v for k, v in self.policy.items() if k != "text"},
            "data": self.data,
            "bindings": self.bindings,
            "warnings": self.warnings,
            "results": [dataclasses.asdict(r) for r in self.results],
            "skipped": [dataclasses.asdict(r) for r in self.skipped],
            "evidence_ids": self.evidence_ids,
        }
        if self.comparison is not None:
            out["comparison"] = self.comparison.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """A Report from :meth:`to_dict` output or an ``enforce`` evidence record's data.

        >>> r = Report([ControlResult("c", "", "accuracy", 0.5, 0.9, "gt", True, "high",
        ...            "pass")], policy={"title": "P"}, data={}, bindings={})
        >>> Report.from_dict(r.to_dict()).to_dict() == r.to_dict()
        True
        """
        report = cls(
            [ControlResult.from_dict(r) for r in data.get("results") or []],
            policy=dict(data.get("policy") or {}),
            data=dict(data.get("data") or {}),
            bindings=dict(data.get("bindings") or {}),
            name=data.get("name"),
            phase=data.get("phase"),
            started=data.get("started"),
            finished=data.get("finished"),
            warnings=list(data.get("warnings") or []),
        )
        report.evidence_id = data.get("evidence_id")
        report.session = data.get("session")
        if data.get("comparison"):
            from ._compare import Comparison

            report.comparison = Comparison.from_dict(data["comparison"])
        return report

    def compare(self, baseline: Any, *, evidence_dir: Any = None):
        """Compare with ``baseline``: a Report, an evidence id, ``"previous"``, a tag
        (``"production"``) or ``"mlflow:<run_id>"``; returns a :class:`Comparison`."""
        from ._baseline import resolve_baseline
        from ._compare import compare_reports

        base, info = resolve_baseline(baseline, current=self, evidence_dir=evidence_dir)
        return compare_reports(self, base, baseline_info=info)

    def history(self, control_id: str | None = None, *, evidence_dir: Any = None):
        """This policy's controls across runs in the store, with a trend chart
        (``.frame`` holds the DataFrame; see :func:`vl_jupyter.evidence.history`)."""
        from ..display import Trend
        from ..evidence import history

        policy = self.policy.get("sha256") or self.policy.get("title")
        frame = history(control_id, policy=policy, root=evidence_dir)
        return Trend(frame, baseline=self.comparison.baseline if self.comparison else None)

    def to_frame(self):
        """One row per control: id, metric, value, CI, operator, threshold, status, reason."""
        import pandas as pd

        rows = []
        for r in self.results:
            ci = r.ci
            rows.append(
                {
                    "control_id": r.control_id,
                    "metric_key": r.metric_key,
                    "actual_value": r.actual_value,
                    "ci_low": ci[0] if ci else None,
                    "ci_high": ci[1] if ci else None,
                    "operator": r.operator,
                    "threshold": r.threshold,
                    "status": r.status,
                    "passed": r.passed,
                    "severity": r.severity,
                    "reason": r.reason,
                }
            )
        return pd.DataFrame(rows).set_index("control_id")

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n)
        title = self.policy.get("title")
        return f"<Report {title!r}: {self.status.upper()}, score {self.score:.2f} ({counts})>"

    def _repr_html_(self) -> str:
        from ..display import report_html

        return report_html(self)

    def review(self, **options: Any):
        """Open the human-review panel (ipywidgets) and return it; each decision becomes a
        ``review`` evidence record linked to this report. Options: ``reviewer``,
        ``evidence_dir``, ``show`` (see :class:`vl_jupyter.review.ReviewPanel`)."""
        from ..review import open_review

        return open_review(self, **options)
