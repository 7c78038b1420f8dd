"""Combined reports: ``r1 + r2`` and ``enforce(policy=[p1, p2])``.

The Venturalítica SDK returns a plain list of results, so its users write
``results = r_data + r_model`` and ``enforce(policy=[fairness, privacy])``. Here each part
stays an evidence record of its own (one policy snapshot per record, each record verifiable
alone); the combined :class:`Report` holds the results of all parts in order and links
their records through ``evidence_ids``. Nothing is re-judged: a combined report passes
only if every part's evaluated controls passed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ComplianceBlockError, EnforcementError
from ._report import Report

#: set while ``enforce(policy=[...])`` runs its parts: the keywords were checked against
#: every policy at once (one meant for the second policy is not unused in the first)
_checked: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "vl_bindings_checked", default=False
)


def bindings_checked() -> bool:
    return _checked.get()


def combine(reports: Sequence[Report]) -> Report:
    """One report over ``reports`` (their results in order; ``parts`` keeps them)."""
    parts: list[Report] = []
    for report in reports:
        if not isinstance(report, Report):
            raise TypeError(f"can only combine Reports, got {type(report).__name__}")
        parts.extend(report.parts or [report])
    policies = [p.policy for p in parts]
    titles = [str(p.get("title")) for p in policies if p.get("title")]
    combined = Report(
        [r for part in parts for r in [*part.results, *part.skipped]],
        policy={
            "title": " + ".join(dict.fromkeys(titles)) or None,
            "version": None,
            "combined": [{k: v for k, v in p.items() if k != "text"} for p in policies],
        },
        data={"combined": [part.data for part in parts]},
        bindings=_merged_bindings(parts),
        name=" + ".join(str(p.name) for p in parts if p.name) or None,
        phase=_same([p.phase for p in parts]),
        started=min((p.started for p in parts if p.started), default=None),
        finished=max((p.finished for p in parts if p.finished), default=None),
        warnings=[w for part in parts for w in part.warnings],
    )
    combined.parts = parts
    sessions = {p.session for p in parts if p.session}
    combined.session = sessions.pop() if len(sessions) == 1 else None
    return combined


def enforce_each(
    enforce: Callable[..., Report],
    policies: list[Any],
    call: dict[str, Any],
    bindings: dict[str, Any],
) -> Report:
    """``enforce(policy=[p1, p2], ...)``: each policy enforced with the same arguments.

    A stop asked for by one part (``strict``, a blocking control) is raised after every
    part was evaluated and recorded, carrying the combined report: the evidence of the
    other policies is never lost because one of them stopped the pipeline.
    """
    if not policies:
        raise EnforcementError("policy=[] names no policy; give at least one")
    from ..binding import Binder
    from ..metrics import canonical_key, get_spec
    from ..policy import load_policy

    loaded = [load_policy(p) for p in policies]
    data: Any = call.get("data")
    if hasattr(data, "columns"):
        controls = [c for policy in loaded for c in policy.controls]
        column_params = {  # an unknown metric's control is an error result, not a crash
            n for c in controls if canonical_key(c.metric) for n in get_spec(c.metric).column_params
        }
        keywords = {k: call.get(k) for k in ("target", "prediction", "score")}
        Binder(data.columns, {**keywords, **bindings}).check_used(bindings, controls, column_params)
    reports: list[Report] = []
    stopped: EnforcementError | ComplianceBlockError | None = None
    token = _checked.set(True)
    try:
        for policy in loaded:
            try:
                reports.append(enforce(policy=policy, **call, bindings=bindings))
            except (EnforcementError, ComplianceBlockError) as exc:
                if getattr(exc, "report", None) is None:
                    raise
                reports.append(exc.report)
                stopped = stopped or exc
    finally:
        _checked.reset(token)
    combined = combine(reports)
    if stopped is not None:
        stopped.report = combined
        raise stopped
    return combined


def _merged_bindings(parts: list[Report]) -> dict:
    merged: dict = {}
    for part in parts:
        for key, value in part.bindings.items():
            merged.setdefault(key, value)
    return merged


def _same(values: list[str | None]) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None
