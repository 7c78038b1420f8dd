"""What ``enforce`` returns: one ``ControlResult`` per control, gathered in a ``Report``."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypedDict, overload


class Status(str, Enum):
    """How a control ended. A ``str``: ``Status.PASS == "pass"``, it hashes, formats and
    serialises (JSON) as its value, so records and HTML read exactly as the bare strings did.

    ``pass`` and ``warn`` count as passed (``ControlResult.passed``); only ``pass`` counts
    towards the score; ``skipped`` (another lifecycle phase, a drift control without a
    baseline) is not evaluated; ``error`` is a control that could not be evaluated.
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"

    def __str__(self) -> str:  # Python 3.11 would print "Status.PASS"
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


#: every status, best first (the order of ``Report.counts``)
STATUSES = tuple(s.value for s in Status)
#: the statuses that count as passed
PASSING = (Status.PASS, Status.WARN)


class CIMetadata(TypedDict):
    """``metadata["ci"]`` of an evaluated control with a confidence interval."""

    low: float
    high: float
    level: float
    method: str
    n_boot: int
    seed: int | None
    undefined_replicates: int


class RegressionMetadata(TypedDict, total=False):
    """``metadata["regression"]``: the policy's rule (always), and once compared with a
    baseline run the change found (written by ``enforcement._compare``)."""

    rule: dict[str, Any]
    baseline: str | None
    level: str
    baseline_value: float | None
    degradation: float | None
    relative_degradation: float | None
    p_value: float | None
    significant: bool | None


class ControlMetadata(TypedDict, total=False):
    """Every key ``enforce`` writes into ``ControlResult.metadata``, and what reads it.

    Written for every control (``_enforce._evaluate``): ``enforcement_mode``, ``phases``,
    ``warn_threshold``, ``inputs``; ``metric_as_written`` when the policy used an alias;
    ``regression`` (``{"rule": ...}``) when the control declares one. Once bound:
    ``bindings`` (role -> variable, columns, rule) and ``params``. Evaluated controls add
    ``n``, ``groups`` (group -> value, n, counts), ``excluded_groups`` (group -> n, below
    ``min_group_size``), ``warnings``, ``details`` and ``ci`` (None when not drawn, with
    ``ci_note`` saying why where there is a reason). Anything not ``pass`` has a
    ``reason``; an ``error`` has ``error_code`` (a :mod:`vl_jupyter.errors` code) and, for
    an internal error, the ``traceback``; a drift control keeps its ``drift_table`` so a
    later run can compare with it; a control of another lifecycle phase has
    ``skipped_for`` (``PHASE_SKIP``), which moves it to ``Report.skipped``. A value judged
    from ``enforce(metrics=...)`` has ``source`` and ``metric_given_as`` (the key it was
    found under; ``n`` is None there; ``policy_problem`` when the policy reader could not
    understand the control but its given value could still be judged); a recorded result has ``partition_digest`` (the
    data's content hash, the SDK's name for which data it is about).

    Read by: ``display`` (groups, excluded_groups, ci, warn_threshold, enforcement_mode,
    params, metric_as_written, reason), ``review`` (groups, warn_threshold), the evidence
    record and SDK export (``enforcement._record``: n, groups, ci), baselines and
    comparisons (``_baseline``: drift_table; ``_compare``: ci, regression, reason),
    ``evidence.history`` (ci) and the sidebar (the record's results).
    """

    enforcement_mode: str
    phases: list[str]
    warn_threshold: float | None
    inputs: dict[str, str | list[str]]
    metric_as_written: str
    regression: RegressionMetadata
    bindings: dict[str, dict[str, Any]]
    params: dict[str, Any]
    n: int | None
    groups: dict[str, dict[str, Any]]
    excluded_groups: dict[str, int]
    warnings: list[str]
    details: dict[str, Any]
    ci: CIMetadata | None
    ci_note: str
    reason: str
    error_code: str
    traceback: str
    drift_table: dict[str, Any]
    skipped_for: str
    source: str
    metric_given_as: str
    partition_digest: str
    policy_problem: str


#: ``metadata["skipped_for"]`` of a control of another lifecycle phase: such a control is
#: left out of ``Report.results`` (the SDK leaves it out) and listed in ``Report.skipped``.
#: Other skips (a drift control without a baseline) stay in the results.
PHASE_SKIP = "phase"


def _phase_skipped(result: ControlResult) -> bool:
    return result.status == Status.SKIPPED and result.metadata.get("skipped_for") == PHASE_SKIP


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
    threshold: float | None  # None: the policy gave none (the result is an error)
    actual_value: float | None
    operator: str
    passed: bool
    severity: str
    status: Status
    metadata: ControlMetadata = field(default_factory=lambda: ControlMetadata())

    def __post_init__(self) -> None:
        # a record read back, or a caller, may give the bare string: one type from here on
        self.status = Status(self.status)

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
        ci: Mapping[str, Any] = meta.get("ci") or {}
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
    def __getitem__(self, index: str) -> ControlResult: ...  # by control id
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
        found = Counter(str(r.status) for r in [*self.results, *self.skipped])
        return {status: found.get(status, 0) for status in STATUSES}

    @property
    def evaluated(self) -> list[ControlResult]:
        return [r for r in self.results if r.status != Status.SKIPPED]

    @property
    def passed(self) -> bool:
        evaluated = self.evaluated
        return bool(evaluated) and all(r.passed for r in evaluated)

    @property
    def score(self) -> float:
        evaluated = self.evaluated
        if not evaluated:
            return 0.0
        clean = sum(r.status == Status.PASS for r in evaluated)
        return (100 * clean // len(evaluated)) / 100  # integer floor: no float rounding up

    @property
    def status(self) -> Status:
        """The worst status: error > fail > warn > pass (skipped only if all skipped)."""
        counts = self.counts
        for status in (Status.ERROR, Status.FAIL, Status.WARN, Status.PASS):
            if counts[status]:
                return status
        return Status.SKIPPED if counts[Status.SKIPPED] else Status.ERROR

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
        # phase-skipped controls are kept apart (``skipped``); the constructor sorts them out
        rows = [*(data.get("results") or []), *(data.get("skipped") or [])]
        report = cls(
            [ControlResult.from_dict(r) for r in rows],
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
        from ..errors import EnforcementError
        from ..evidence import history
        from ._views import view

        trend = view("trend")  # the display room's chart, registered on import vl_jupyter
        if trend is None:
            raise EnforcementError(
                "no history view is registered: import vl_jupyter (the package registers "
                "its display room's views on import)"
            )
        policy = self.policy.get("sha256") or self.policy.get("title")
        frame = history(control_id, policy=policy, root=evidence_dir)
        return trend(frame, baseline=self.comparison.baseline if self.comparison else None)

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

    def _repr_html_(self) -> str | None:
        """The display room's HTML (registered on ``import vl_jupyter``). Kept as a method
        for front ends without an IPython kernel that call it directly (sphinx-gallery's
        ``capture_repr``, marimo); inside IPython the display formatter has the same
        renderer registered for ``Report``. None (IPython falls back to text) if no view
        was registered."""
        from ._views import view

        render = view("report_html")
        return render(self) if render else None

    def review(self, **options: Any):
        """Open the human-review panel (ipywidgets) and return it; each decision becomes a
        ``review`` evidence record linked to this report. Options: ``reviewer``,
        ``evidence_dir``, ``show`` (see :class:`vl_jupyter.review.ReviewPanel`)."""
        from ..errors import EnforcementError
        from ._views import view

        panel = view("review")  # the review room's panel, registered on import vl_jupyter
        if panel is None:
            raise EnforcementError(
                "no review panel is registered: import vl_jupyter (the package registers "
                "its review room's panel on import), or call vl.review(report)"
            )
        return panel(self, **options)
