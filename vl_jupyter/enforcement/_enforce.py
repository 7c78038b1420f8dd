"""``enforce``: evaluate a policy against a DataFrame and leave evidence of it.

The flow is one way: policy -> binding -> statistics -> measurement -> judgement ->
Report -> evidence. A control that cannot be evaluated becomes an ``error`` result with
its reason (never a pass); ``strict=True`` turns that into an exception, and a failing
``enforcement_mode: block`` control raises ``ComplianceBlockError`` — both only after the
evidence has been written, so a stopped pipeline still leaves its record.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from .. import environment
from ..binding import Binder, Binding
from ..errors import BindingError, ComplianceBlockError, EnforcementError, MetricError
from ..metrics import (
    CISettings,
    Measurement,
    MetricSpec,
    NoBaseline,
    Statistics,
    canonical_key,
    coerce_bins,
    get_spec,
    measure,
    statistics_for,
    string_columns,
)
from ..policy import Control, Policy, load_policy
from . import _sdk_args
from ._combine import bindings_checked
from ._fingerprint import fingerprint, source_fingerprint
from ._judge import judge
from ._report import PASSING, PHASE_SKIP, ControlMetadata, ControlResult, Report, Status


def enforce(
    data: Any = None,
    policy: Policy | str | Path | Mapping[str, Any] | list | None = None,
    *,
    metrics: Mapping[str, float] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    score: str | None = None,
    strict: bool = False,
    phase: str | None = None,
    pos_label: Any = None,
    min_group_size: int | None = None,
    bins: Mapping[str, Any] | None = None,
    ci: bool = True,
    n_boot: int = 1000,
    ci_level: float = 0.95,
    seed: int | None = 0,
    name: str | None = None,
    evidence: bool = True,
    evidence_dir: str | Path | None = None,
    baseline: Any = None,
    bindings: Mapping[str, str | list[str]] | None = None,
    **keyword_bindings: str | list[str],
) -> Report:
    """Evaluate ``policy`` on ``data`` and return a :class:`Report`.

    ``data`` is a pandas DataFrame, or any frame an engine holds: a polars DataFrame or
    LazyFrame, a PyArrow table, a DuckDB relation, a PySpark DataFrame, SQL text run by
    DuckDB (``"SELECT ... FROM 'preds/*.parquet'"``) or a .parquet/.csv path (read by
    DuckDB, never loaded into pandas); engines compute the count tables where the data is.

    Keyword arguments bind the policy's variables to columns: ``target="class"`` binds the
    variable ``target``; ``gender="Attribute9"`` binds ``gender``; a list binds an
    intersectional dimension. ``bindings={"name": "applicant", "seed": "s"}`` binds the
    same way and always works, also for a variable that shares its name with one of these
    options (``name``, ``phase``, ``bins``, ``seed``, ...); a variable bound both ways must
    be bound to the same column. ``pos_label`` and ``min_group_size`` apply to every control
    that does not set its own; ``bins`` maps a variable or column to bins for a numeric
    dimension (``{"age": [25, 60]}``). Confidence intervals (``ci``) use ``n_boot``
    multinomial replicates of the per-group counts, seeded by ``seed``. ``baseline`` (a
    Report, record id, tag, ``"previous"`` or ``"mlflow:<run id>"``) compares each control
    with that run; a regression fails a control only where its policy says so
    (``fail_on_regression``); see :meth:`Report.compare`.

    Example::

        >>> import vl_jupyter as vl
        >>> df = vl.datasets.load_german_credit(derived=True)  # adds gender and age columns
        >>> report = vl.enforce(df, vl.datasets.policy_path("german_credit_data"),
        ...                     target="class", gender="gender", age="age", evidence=False)
        >>> print(report.status, report["approvals-by-gender"].status, report.score)
        fail pass 0.5
        >>> report["approvals-by-age"].status == "fail"  # a Status is its string
        True

    The Venturalítica SDK's other entries work too: ``metrics={"accuracy_score": 0.91}``
    instead of ``data`` judges precomputed values (a control whose metric is not given is
    an ``error``, never a pass); ``policy=[p1, p2]`` enforces each policy (one evidence
    record each) and returns their combined Report (``r1 + r2`` does the same).
    """
    # the SDK README's policy_path= (a keyword, so never a variable of bindings=)
    policy = _sdk_args.policy_argument(policy, keyword_bindings)
    call = {
        k: v for k, v in locals().items() if k not in ("policy", "bindings", "keyword_bindings")
    }
    roles: dict[str, Any] = {"target": target, "prediction": prediction, "score": score}
    extra = _merge_bindings(roles, bindings, keyword_bindings)
    target, prediction, score = roles["target"], roles["prediction"], roles["score"]
    if isinstance(policy, (list, tuple)):
        from ._combine import enforce_each

        return enforce_each(enforce, list(policy), {**call, **roles}, extra)
    started_at = datetime.now(timezone.utc)
    clock = time.perf_counter()
    policy = load_policy(_default_policy(policy))
    # The baseline is found first: drift controls compare their table with its tables.
    base = None
    if baseline is not None:
        from ._baseline import resolve_baseline

        # what the baseline lookup may use of this run: its policy, its controls, its start
        stand_in = Report(
            [_result(c, None, Status.SKIPPED, {}) for c in policy.controls],
            policy=policy.summary(), data={}, bindings={}, started=_iso(started_at),
        )  # fmt: skip
        base = resolve_baseline(baseline, current=stand_in, evidence_dir=evidence_dir)
    if metrics is not None:
        from . import _precomputed

        if data is not None:
            raise EnforcementError(
                "give enforce() either data or metrics=, not both",
                hint="metrics= judges values you computed elsewhere; data= computes them",
            )
        values = _precomputed.check_metrics(metrics)
        results = _precomputed.results(policy, values, metrics, phase, _result)
        return _finish(
            results, policy, _precomputed.data_summary(values), {}, name, phase, started_at,
            clock, evidence, evidence_dir, strict, environment.git_state() if evidence else None,
            base,
        )  # fmt: skip
    if isinstance(data, Mapping):
        data = pd.DataFrame(data)
    if isinstance(data, pd.DataFrame):
        data, prediction = _sdk_args.prediction_argument(data, prediction)  # an array: a column
        data = string_columns(data)  # policies and keywords name columns by text
    keywords = {"target": target, "prediction": prediction, "score": score, **extra}
    # a pandas frame takes the numpy path; any other frame, SQL text or file is counted by
    # its engine (metrics/_engines.py)
    stats = statistics_for(data)
    binder = Binder(stats.columns, keywords)
    if not bindings_checked():  # policy=[p1, p2] checks them against all policies at once
        column_params = {  # a control whose metric is unknown is an error result later on
            n
            for c in policy.controls
            if canonical_key(c.metric)
            for n in get_spec(c.metric).column_params
        }
        binder.check_used(extra, policy.controls, column_params)
    ci_settings = CISettings(enabled=ci, n_boot=n_boot, level=ci_level, seed=seed)
    defaults = {"pos_label": pos_label, "min_group_size": min_group_size}
    dialect = getattr(policy, "dialect", "native")
    if base:
        from ._baseline import baseline_tables

        tables = baseline_tables(base[0])
    else:
        tables = {}
    # Hashing the data and asking git are independent of the metrics and release the GIL
    # (hashlib, a subprocess): run them alongside instead of after.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vl-enforce") as pool:
        # data in memory is hashed alongside; data an engine holds is described by its
        # source and the count tables the controls read, known once they ran
        data_fingerprint = (
            pool.submit(fingerprint, data, stats.encoded) if stats.in_memory else None
        )
        git = pool.submit(environment.git_state) if evidence else None
        _plan_counts(stats, policy.controls, binder, phase)
        results = [
            _evaluate(
                control,
                binder,
                stats,
                ci_settings,
                phase,
                defaults,
                bins or {},
                dialect,
                baseline_table=tables.get(control.id),
            )
            for control in policy.controls
        ]
        data_summary = data_fingerprint.result() if data_fingerprint else source_fingerprint(stats)
        git_summary = git.result() if git else None
    bound = {k: v for k, v in keywords.items() if v is not None}
    return _finish(
        results, policy, data_summary, bound, name, phase, started_at, clock, evidence,
        evidence_dir, strict, git_summary, base,
    )  # fmt: skip


def _finish(
    results: list[ControlResult],
    policy: Policy,
    data_summary: dict[str, Any],
    bindings: dict[str, Any],
    name: str | None,
    phase: str | None,
    started_at: datetime,
    clock: float,
    evidence: bool,
    evidence_dir: str | Path | None,
    strict: bool,
    git_summary: dict[str, Any] | None,
    base: tuple[Report, dict[str, Any]] | None = None,
) -> Report:
    """The Report of either entry (data or precomputed metrics), its comparison with the
    resolved baseline ``base`` (report, info), its evidence, and the exceptions
    ``strict`` and ``enforcement_mode: block`` ask for, in that order."""
    report = Report(
        results,
        policy={**policy.summary(), "text": policy.text, "warnings": list(policy.warnings)},
        data=data_summary,
        bindings=bindings,
        name=name,
        phase=phase,
        started=_iso(started_at),
        finished=_iso(datetime.now(timezone.utc)),
        warnings=list(policy.warnings),
    )
    if base is not None:
        from ._compare import apply_regressions, compare_reports

        report.comparison = compare_reports(report, base[0], baseline_info=base[1])
        apply_regressions(report, report.comparison)
    duration = time.perf_counter() - clock
    if evidence:
        from ._record import record_report

        record_report(report, evidence_dir=evidence_dir, duration_s=duration, git=git_summary)
    _raise_if_stopped(report, policy, strict)
    return report


def _merge_bindings(
    roles: dict[str, str | list[str] | None],
    explicit: Mapping[str, str | list[str]] | None,
    keywords: Mapping[str, str | list[str]],
) -> dict[str, str | list[str]]:
    """The variable bindings given besides the three role options: ``keywords`` (the SDK
    style, ``gender="Attribute9"``) and the ``explicit`` mapping (``bindings={...}``).

    A role named in ``explicit`` fills ``roles`` in place. A name bound twice to different
    columns is refused rather than one of them silently winning.
    """
    if explicit is None:
        return dict(keywords)
    if not isinstance(explicit, Mapping):
        raise BindingError(
            f"bindings= must map variable names to columns, got {type(explicit).__name__}",
            hint='e.g. bindings={"gender": "Attribute9", "seed": "seed_col"}',
        )
    merged: dict[str, str | list[str]] = dict(keywords)
    for name, column in explicit.items():
        if not isinstance(name, str):
            raise BindingError(
                f"bindings= keys are variable names (text), got {name!r}",
                hint='e.g. bindings={"gender": "Attribute9"}',
            )
        given = roles.get(name) if name in roles else merged.get(name)
        if given is not None and given != column:
            raise BindingError(
                f"variable '{name}' is bound twice, to {given!r} and in bindings= to {column!r}",
                hint="bind each variable once",
            )
        if name in roles:
            roles[name] = column
        else:
            merged[name] = column
    return merged


def _default_policy(policy: Any) -> Any:
    """The SDK's default policy file, ``risks.oscal.yaml`` in the working directory."""
    if policy is not None:
        return policy
    if Path("risks.oscal.yaml").is_file():
        return Path("risks.oscal.yaml")
    raise EnforcementError(
        "enforce() needs a policy: policy='policy.yaml' (no risks.oscal.yaml, the "
        "Venturalítica default, in the working directory)"
    )


def _plan_counts(stats: Any, controls: Any, binder: Binder, phase: str | None) -> None:
    """Engine data: name every control's columns to the engine before any control runs,
    so that the count tables they share come back in one query (``metrics/_engines.py``,
    ``SourceStatistics.plan``). A control that cannot be bound is left out here; it
    reports its error when it runs."""
    plan = getattr(stats, "plan", None)
    if plan is None:
        return
    requests = []
    for control in controls:
        if control.problem is not None or not control.applies_to(phase):
            continue
        if not canonical_key(control.metric):
            continue
        spec = get_spec(control.metric)
        try:
            bound = binder.bind(control, spec)
        except (BindingError, MetricError):
            continue
        requests.append((spec, {role: b.columns for role, b in bound.items()}))
    plan(requests)


def _evaluate(
    control: Control,
    binder: Binder,
    stats: Statistics,
    ci: CISettings,
    phase: str | None,
    defaults: dict[str, Any],
    bins: Mapping[str, Any],
    dialect: str = "native",
    *,
    baseline_table: Mapping[str, Any] | None = None,
) -> ControlResult:
    metadata: ControlMetadata = {
        "enforcement_mode": control.enforcement_mode,
        "phases": list(control.phases),
        "warn_threshold": control.warn_threshold,
        "inputs": {k: v if isinstance(v, str) else list(v) for k, v in control.inputs.items()},
    }
    if control.metric_as_written:
        metadata["metric_as_written"] = control.metric_as_written
    if control.regression is not None:
        metadata["regression"] = {"rule": control.regression.to_dict()}
    if not control.applies_to(phase):
        metadata["reason"] = (
            f"not applicable in phase '{phase}' (control phases: {', '.join(control.phases)})"
        )
        metadata["skipped_for"] = PHASE_SKIP  # out of the results, as the SDK leaves it out
        return _result(control, None, Status.SKIPPED, metadata)
    if control.problem is not None:  # loaded, but the policy reader could not understand it
        metadata["reason"] = f"cannot be evaluated as the policy is written: {control.problem}"
        metadata["error_code"] = "POLICY_INVALID"
        return _result(control, None, Status.ERROR, metadata)
    spec = get_spec(control.metric)
    try:
        bound = binder.bind(control, spec)
        metadata["bindings"] = {role: b.to_dict() for role, b in bound.items()}
        params = _params(control, spec, defaults, bins, bound, dialect)
        columns = {role: b.columns for role, b in bound.items()}
        for name in spec.column_params:
            if name in params:
                columns[name] = _resolve_columns(binder, control, params[name])
        metadata["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        measured = measure(spec, params, columns, stats, ci, baseline=baseline_table)
    except NoBaseline as missing:  # a drift control without a baseline: not measured
        metadata["reason"] = missing.message
        metadata["drift_table"] = missing.table
        return _result(control, None, Status.SKIPPED, metadata)
    except (BindingError, MetricError) as exc:
        exc.control_id = exc.control_id or control.id
        metadata["reason"] = exc.message + (f" ({exc.hint})" if exc.hint else "")
        metadata["error_code"] = exc.code
        return _result(control, None, Status.ERROR, metadata)
    except Exception as exc:  # a bug must not become a pass, nor lose the other results
        metadata["reason"] = f"internal error while computing {control.metric}: {exc!r}"
        metadata["error_code"] = "INTERNAL_ERROR"
        metadata["traceback"] = traceback.format_exc(limit=8)
        return _result(control, None, Status.ERROR, metadata)
    status, reason = judge(control, measured)
    metadata.update(_describe(measured, ci))
    if "drift_table" in measured.details:  # kept beside the result: later runs compare with it
        metadata["drift_table"] = measured.details.pop("drift_table")
    if reason:
        metadata["reason"] = reason
    return _result(control, measured.value, status, metadata)


def _params(
    control: Control,
    spec: MetricSpec,
    defaults: dict[str, Any],
    bins: Mapping[str, Any],
    bound: dict[str, Binding],
    dialect: str = "native",
) -> dict[str, Any]:
    """The control's own parameters, falling back to the call's defaults, then to the
    defaults the metric's catalogue entry gives policies of this dialect (the SDK's)."""
    params = dict(control.params)
    for name, value in defaults.items():
        if value is not None and name not in params and spec.param(name) is not None:
            params[name] = value
    for name, value in spec.dialect_defaults(dialect).items():
        params.setdefault(name, value)
    dimension = bound.get("dimension")
    if dimension and "bins" not in params and spec.param("bins") is not None:
        for key in (dimension.variable, *dimension.columns):
            if key in bins:
                params["bins"] = coerce_bins("bins", bins[key])
                break
    return params


def _resolve_columns(binder: Binder, control: Control, names: tuple[str, ...]) -> tuple[str, ...]:
    columns: list[str] = []
    for name in names:
        found = binder.resolve(name)
        if found is None:
            raise BindingError(
                f"parameter names '{name}', which matches no column",
                control_id=control.id,
                hint=binder.suggest(name),
            )
        columns.extend(found[0])
    return tuple(columns)


def _describe(m: Measurement, ci: CISettings) -> ControlMetadata:
    out: ControlMetadata = {
        "n": m.n,
        "groups": m.groups,
        "excluded_groups": m.excluded_groups,
        "warnings": m.warnings,
        "details": m.details,
    }
    if m.ci is not None:
        out["ci"] = {
            "low": m.ci[0],
            "high": m.ci[1],
            "level": ci.level,
            "method": m.ci_method,
            "n_boot": ci.n_boot,
            "seed": ci.seed,
            "undefined_replicates": m.undefined_replicates,
        }
    else:
        out["ci"] = None
        if m.ci_note:
            out["ci_note"] = m.ci_note
    return out


def _result(
    control: Control, value: float | None, status: Status, meta: ControlMetadata
) -> ControlResult:
    return ControlResult(
        control_id=control.id,
        description=control.description,
        metric_key=control.metric,
        threshold=control.threshold,
        actual_value=value,
        operator=control.operator,
        passed=status in PASSING,
        severity=control.severity,
        status=status,
        metadata=meta,
    )


def _raise_if_stopped(report: Report, policy: Policy, strict: bool) -> None:
    errors = [r for r in report if r.status == Status.ERROR]
    if strict and errors:
        first = errors[0]
        raise EnforcementError(
            f"{len(errors)} control(s) could not be evaluated; first: {first.reason}",
            control_id=first.control_id,
            file=None if policy.source.startswith("<") else policy.source,
            report=report,
        )
    blocking = [
        r
        for r in report
        if r.metadata.get("enforcement_mode") == "block" and r.status in (Status.FAIL, Status.ERROR)
    ]
    if blocking:
        names = ", ".join(f"{r.control_id} ({r.status})" for r in blocking)
        raise ComplianceBlockError(
            f"blocking control(s) did not pass: {names}; evidence {report.evidence_id or 'not written'}",
            control_id=blocking[0].control_id,
            report=report,
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
