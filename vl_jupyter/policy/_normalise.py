"""From a control as written to a validated :class:`Control`.

Three spellings reach this module: OSCAL-like ``props`` lists (all values strings),
flat mappings from the editor shape and bare lists (SDK keys, lenient: an unknown key is
a metric parameter), and our native format (strict: an unknown key is an error). They are
read into one :class:`_Raw` record that remembers the line of every value, then checked
once, so every dialect gets the same errors and the same normalisation.

A control the engine cannot compute (an unknown metric, no threshold, an operator that
cannot be parsed, a bad parameter) does not stop the file from loading: each such finding
is kept as a :class:`PolicyError` in ``_Raw.problems``, the control is built from what
could be read, and ``Control.problem`` says why it can never pass. ``load_policy(...,
strict=True)`` raises the first finding instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import PolicyError
from ..metrics import CATALOGUE, ROLES, canonical_key, closest_keys, coerce_params, get_spec
from ._dialects import Found, did_you_mean
from ._model import ENFORCEMENT_MODES, LIFECYCLE_PHASES, OPERATOR_ALIASES, Control
from ._regression import REGRESSION_PROPS, RegressionRule
from ._yaml import LIMITS, line_of

# written key or prop name -> field of _Raw
_FIELDS = {
    "metric": "metric", "metric_key": "metric", "operator": "operator", "threshold": "threshold",
    "warn_threshold": "warn_threshold", "severity": "severity", "mode": "enforcement_mode",
    "enforcement_mode": "enforcement_mode",
}  # fmt: skip
_ID_KEYS = ("id", "control-id", "uuid", "description", "title")
_NATIVE_ID_KEYS = ("id", "description", "title")
NATIVE_KEYS = (*_NATIVE_ID_KEYS, *_FIELDS, "inputs", "params", "phases")
# every parameter name some metric takes: a native control that writes one flat gets a hint
_PARAM_NAMES = {p.name for spec in CATALOGUE.values() for p in spec.params}
# OSCAL's own bookkeeping props, and the annotation props the SDK's files carry (seen in
# its samples, templates and scenarios): not metric parameters, so no warning for them
_OSCAL_PROPS = (
    "label", "sort-id", "status", "alt-identifier", "marking",
    "note", "article", "risk_id", "policy_id", "evaluation_method", "evaluation_window",
    "threshold_justification", "risk_acceptance_criteria", "control_tier",
    "standard_clauses", "frameworks", "reference", "paper_reference", "interpretation",
    "rationale", "standard", "benchmark",
)  # fmt: skip


@dataclass
class Context:
    file: str
    warnings: list[str] = field(default_factory=list)
    defaults: Mapping[str, Any] | None = None
    notes: list[str] = field(default_factory=list)  # duplicate props, null values
    problems: list[PolicyError] = field(default_factory=list)  # why controls cannot be judged


@dataclass
class _Raw:
    """A control's values as written, each with its line; ``dflt`` marks values from defaults."""

    cid: str
    file: str
    strict: bool
    fields: dict[str, tuple[Any, int | None]] = field(default_factory=dict)
    inputs: dict[str, tuple[Any, int | None, bool]] = field(default_factory=dict)
    params: dict[str, tuple[Any, int | None, bool]] = field(default_factory=dict)
    phases: list[tuple[Any, int | None]] = field(default_factory=list)
    default_phases: list[tuple[Any, int | None]] = field(default_factory=list)
    problems: list[PolicyError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings, rendered by load_policy

    def error(self, message: str, line: int | None, hint: str | None = None) -> PolicyError:
        return PolicyError(message, file=self.file, line=line, control_id=self.cid, hint=hint)

    def problem(self, message: str, line: int | None, hint: str | None = None) -> None:
        """Record why the control cannot be evaluated; reading goes on."""
        self.problems.append(self.error(message, line, hint))

    def note(self, line: int | None, message: str) -> None:
        where = self.file + (f":{line}" if line else "")
        self.notes.append(f"{where}: control '{self.cid}': {message}")


def read_control(found: Found, ctx: Context) -> _Raw:
    """Collect a control's written values (defaults, flat keys, then props layers)."""
    cid = "" if found.cid is None else str(found.cid).strip()
    raw = _Raw(cid or found.where, ctx.file, found.style == "native")
    if not cid:
        hint = (
            "give it `control-id:` (OSCAL shapes) or `id:`"
            if found.style == "props"
            else "give it `id:`"
        )
        raw.problem(f"a control has no id (at {found.where})", found.line, hint)
    for exc in found.problems:
        raw.problems.append(raw.error(exc.message, exc.line, exc.hint))
    for text in found.notes:
        raw.note(found.line, text)
    if found.style == "native" and ctx.defaults:
        _read_mapping(ctx.defaults, raw, default=True)
    if found.style != "props":
        _read_mapping(found.node, raw, default=False)
    for layer in found.layers:
        _read_props(layer, raw, found.line)
    return raw


def _read_mapping(node: Mapping[str, Any], raw: _Raw, *, default: bool) -> None:
    seen: dict[str, tuple[str, int | None]] = {}
    for key, value in node.items():
        name, line = str(key), line_of(node, key)
        if name in (_NATIVE_ID_KEYS if raw.strict else (*_ID_KEYS, "props", "links")):
            continue
        if name in _FIELDS:
            _set(raw, _FIELDS[name], name, value, line, seen)
        elif name in ("inputs", "params"):
            if not isinstance(value, Mapping):
                raw.problem(
                    f"`{name}` should be a mapping",
                    line,
                    f"e.g. {name}: {{dimension: gender}}"
                    if name == "inputs"
                    else "e.g. params: {min_group_size: 30}",
                )
                continue
            target = raw.inputs if name == "inputs" else raw.params
            target.update({str(k): (v, line_of(value, k), default) for k, v in value.items()})
        elif name in ("phases", "lifecycle_phase") and (name == "phases" or not raw.strict):
            items = value if isinstance(value, list) else str(value).split(",")
            phases = [(p, line_of(value, i) or line) for i, p in enumerate(items) if str(p).strip()]
            (raw.default_phases if default else raw.phases).extend(phases)
        elif name.startswith(("input.", "input:")) and not raw.strict:
            raw.inputs[name[6:].strip()] = (value, line, default)
        elif raw.strict:
            if name.startswith("input"):
                hint = "in this format write inputs: {role: variable}"
            elif name == "lifecycle_phase":
                hint = "in this format write phases: [training, ...]"
            elif name in _PARAM_NAMES:
                hint = f"a parameter of the metric goes under params: {{{name}: ...}}"
            else:
                hint = did_you_mean(name, NATIVE_KEYS)
            raw.problem(f"unknown control key '{name}'", line, hint)
        else:
            raw.params[name] = (value, line, default)


def _read_props(props: Any, raw: _Raw, control_line: int | None) -> None:
    if not isinstance(props, list):
        raw.problem(
            "`props` should be a list of {name, value}",
            control_line,
            "write props: [{name: metric_key, value: ...}]",
        )
        return
    seen: dict[str, tuple[str, int | None]] = {}
    for i, prop in enumerate(props):
        line = line_of(props, i)
        if not isinstance(prop, Mapping) or prop.get("name") in (None, ""):
            raw.problem("a prop has no name", line, "each prop is {name: ..., value: ...}")
            continue
        name = str(prop["name"]).strip()
        if "value" not in prop or prop["value"] is None:
            # the SDK's templates leave `threshold: null` to be configured: that control
            # cannot be judged, which build_control reports as "no threshold"
            if name in _FIELDS:
                _set(raw, _FIELDS[name], name, None, line, seen)
            else:
                raw.note(line, f"prop '{name}' has no value; it is ignored")
            continue
        value = prop["value"]
        if name in _FIELDS and name != "mode":
            _set(raw, _FIELDS[name], name, value, line, seen)
        elif name == "lifecycle_phase":
            if "lifecycle_phase" not in seen:  # a later layer's phases replace an earlier one's
                raw.phases.clear()
                seen["lifecycle_phase"] = (name, line)
            raw.phases.extend((p, line) for p in str(value).split(",") if p.strip())
        elif name.startswith(("input.", "input:")):
            _once(raw, seen, "input " + name[6:].strip(), name, line)
            raw.inputs[name[6:].strip()] = (value, line, False)
        elif name not in _OSCAL_PROPS:
            _once(raw, seen, name, name, line)
            raw.params[name] = (value, line, False)


def _set(raw: _Raw, fld: str, name: str, value: Any, line: int | None, seen: dict) -> None:
    _once(raw, seen, fld, name, line)
    raw.fields[fld] = (value, line)


def _once(raw: _Raw, seen: dict, slot: str, name: str, line: int | None) -> None:
    """Within one mapping or props list a value should be given once (metric and
    metric_key count as the same value). The SDK's files do repeat props; like a YAML 1.1
    loader the later one wins, and the warning names both lines so the mistake is seen."""
    if slot in seen:
        first, first_line = seen[slot]
        also = f" (first as '{first}')" if first != name else ""
        lines = f" (lines {first_line} and {line})" if line else ""
        raw.note(
            line,
            f"'{name}' is given twice{lines}{also}; the later value is used: keep one of them",
        )
    seen[slot] = (name, line)


def build_control(found: Found, ctx: Context) -> Control:
    """Read and validate one located control (see docs/policy-format.md for the rules).

    Never raises for a problem of the control itself: what cannot be understood is kept in
    ``Control.problem`` (and its findings in ``ctx.problems``) so that the file still loads.
    """
    raw = read_control(found, ctx)
    written, mline = raw.fields.get("metric", (None, found.line))
    key: str | None = None
    if written is None or str(written).strip() == "":
        how = (
            "a prop {name: metric_key, value: disparate_impact}"
            if found.style == "props"
            else "`metric: disparate_impact`"
        )
        raw.problem(
            "no metric: the control does not say what to compute",
            found.line,
            f"add {how}; docs/metrics.md lists the metrics",
        )
    else:
        key = canonical_key(str(written))
        if key is None:
            close = closest_keys(str(written))
            hint = (
                f"closest known metrics: {', '.join(close)}"
                if close
                else "docs/metrics.md lists every metric"
            )
            raw.problem(f"unknown metric '{written}'", mline, hint)
    spec = get_spec(key) if key is not None else None
    typical = spec.typical if spec is not None else "gt 0.8"
    op_written, oline = raw.fields.get("operator", (None, found.line))
    operator = (
        OPERATOR_ALIASES.get(str(op_written).strip().lower()) if op_written is not None else None
    )
    if operator is None:
        valid = " ".join(dict.fromkeys(OPERATOR_ALIASES))
        what = "no operator" if op_written is None else f"unknown operator '{op_written}'"
        usual = f" ({key} is usually checked as `{typical}`)" if key else ""
        raw.problem(what, oline, f"use one of: {valid}{usual}")
    threshold = _number(raw, "threshold", found.line, typical)
    warn = _number(raw, "warn_threshold", found.line, None)
    if warn is not None and threshold is not None and operator is not None:
        _check_warn_band(raw, operator, threshold, warn)
    if spec is not None:
        if not raw.strict:
            _sdk_spellings(raw, spec)
        inputs, params = _inputs(raw, spec, ctx), _params(raw, spec.key, spec, ctx)
    else:  # nothing to check them against: keep them as written, for the record
        inputs = {r: str(v) for r, (v, _, dflt) in raw.inputs.items() if not dflt}
        params = {n: v for n, (v, _, dflt) in raw.params.items() if not dflt}
    metric_text = key or ("" if written is None else str(written).strip())
    description = found.description or found.node.get("description") or found.node.get("title")
    phases = _choices(raw, raw.phases or raw.default_phases, LIFECYCLE_PHASES, "lifecycle phase")
    mode = _mode(raw)
    regression = _regression(raw)
    ctx.notes.extend(raw.notes)
    ctx.problems.extend(raw.problems)
    return Control(
        id=raw.cid, metric=metric_text,
        operator=operator or ("" if op_written is None else str(op_written).strip()),
        threshold=threshold, description=str(description or "").strip(),
        warn_threshold=warn, severity=str(raw.fields.get("severity", ("",))[0] or "").strip().lower() or "medium",
        inputs=inputs, params=params,
        phases=phases, enforcement_mode=mode, line=found.line,
        metric_as_written=str(written).strip() if key and str(written).strip() != key else None,
        regression=regression,
        problem="; ".join(_problem_text(p, found.line) for p in raw.problems) or None,
    )  # fmt: skip


def _problem_text(exc: PolicyError, control_line: int | None) -> str:
    where = f"line {exc.line}: " if exc.line and exc.line != control_line else ""
    return where + exc.message + (f" ({exc.hint})" if exc.hint else "")


def _number(raw: _Raw, fld: str, control_line: int | None, typical: str | None) -> float | None:
    value, line = raw.fields.get(fld, (None, control_line))
    if value is None:
        if typical is not None:
            raw.problem(f"no {fld}", line, f"add a number, e.g. `{typical}`")
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(str(value).strip())
    except (ValueError, OverflowError):
        raw.problem(
            f"{fld} must be a number, got {_short(value)}", line, 'write it as a number, e.g. "0.8"'
        )
        return None
    if not math.isfinite(number):
        raw.problem(f"{fld} must be a finite number, got {_short(value)}", line)
        return None
    return number


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_warn_band(raw: _Raw, operator: str, threshold: float, warn: float) -> None:
    line = raw.fields["warn_threshold"][1]
    if operator in ("eq", "ne"):
        raw.problem(
            f"warn_threshold makes no sense with operator {operator}",
            line,
            "remove it, or use gt/ge/lt/le",
        )
    elif operator in ("gt", "ge") and warn < threshold:
        raw.problem(
            f"warn_threshold {warn:g} is below threshold {threshold:g}",
            line,
            f"with {operator}, values between threshold and warn_threshold warn, so warn_threshold must be >= {threshold:g}",
        )
    elif operator in ("lt", "le") and warn > threshold:
        raw.problem(
            f"warn_threshold {warn:g} is above threshold {threshold:g}",
            line,
            f"with {operator}, values between warn_threshold and threshold warn, so warn_threshold must be <= {threshold:g}",
        )


def _mode(raw: _Raw) -> str:
    value, line = raw.fields.get("enforcement_mode", ("warn", None))
    modes = _choices(raw, [(value, line)], ENFORCEMENT_MODES, "enforcement mode")
    return modes[0] if modes else "warn"


def _choices(raw: _Raw, items: list, allowed: tuple[str, ...], what: str) -> tuple[str, ...]:
    out: list[str] = []
    for value, line in items:
        text = str(value).strip().lower()
        if text not in allowed:
            raw.problem(
                f"unknown {what} {_short(value)}", line, f"use one of: {', '.join(allowed)}"
            )
            continue
        if text not in out:
            out.append(text)
    return tuple(out)


def _inputs(raw: _Raw, spec: Any, ctx: Context) -> dict[str, str | tuple[str, ...]]:
    read = (*spec.roles, *spec.optional_roles)
    out: dict[str, str | tuple[str, ...]] = {}
    for role, (value, line, dflt) in raw.inputs.items():
        if role not in read:
            if dflt:
                continue  # a default input feeds only the metrics that read that role
            if not raw.strict and role not in ROLES and spec.param(role) is not None:
                # `input:quasi_identifiers` in the SDK's templates: a column-naming
                # parameter written as an input
                raw.params.setdefault(role, (value, line, False))
                continue
            problem = (
                f"unknown role '{role}'"
                if role not in ROLES
                else f"role '{role}' is not read by {spec.key}"
            )
            hint = (
                did_you_mean(role, ROLES)
                if role not in ROLES
                else f"{spec.key} reads: {', '.join(read) or 'no roles'}"
            )
            if raw.strict:
                raw.problem(problem, line, hint)
            else:
                _warn(ctx, raw, line, f"{problem}; it is ignored ({hint})")
            continue
        items = (
            value
            if isinstance(value, list)
            else str(value).split(",")
            if role == "dimension"
            else [value]
        )
        names = tuple(
            str(v).strip()
            for v in items
            if v is not None and not isinstance(v, (Mapping, list)) and str(v).strip()
        )
        if not names:
            raw.problem(f"input '{role}' names no variable", line, f"e.g. {role}: gender")
        elif len(names) > 1 and role != "dimension":
            raw.problem(
                f"input '{role}' names several variables",
                line,
                "only the dimension can be intersectional",
            )
        else:
            out[role] = names[0] if len(names) == 1 else names
    return out


def _sdk_spellings(raw: _Raw, spec: Any) -> None:
    """The SDK's names for what our catalogue calls otherwise, translated where the
    meaning is the same (sdk-metrics.md) and the metric does not read the SDK's name
    itself: ``sensitive_attribute`` is the column our ``sensitive`` role reads;
    ``age_bucket_method: quantiles`` with ``age_buckets: n`` cuts the dimension into n
    equal-frequency bins, which is our ``bins: n``."""
    if spec.param("sensitive_attribute") is not None and "sensitive_attribute" in raw.inputs:
        # the metric takes it as a parameter itself
        raw.params.setdefault("sensitive_attribute", raw.inputs.pop("sensitive_attribute"))
    for bag in (raw.inputs, raw.params):
        if "sensitive_attribute" in bag and "sensitive" in spec.roles:
            if "sensitive" not in raw.inputs:
                value, line, dflt = bag["sensitive_attribute"]
                raw.inputs["sensitive"] = (value, line, dflt)
            del bag["sensitive_attribute"]
    if (
        "age_buckets" in raw.params
        and spec.param("bins") is not None
        and spec.param("age_buckets") is None  # else the metric reads them itself
    ):
        method = raw.params.get("age_bucket_method", ("quantiles", None, False))[0]
        if str(method).strip().lower() == "quantiles" and "bins" not in raw.params:
            raw.params["bins"] = raw.params.pop("age_buckets")
            raw.params.pop("age_bucket_method", None)


def _list_text(value: Any) -> Any:
    """``"['age', 'gender']"`` (a Python list written as text, as SDK files do) -> names."""
    text = value.strip() if isinstance(value, str) else ""
    if text.startswith("[") and text.endswith("]"):
        return [v.strip().strip("'\"").strip() for v in text[1:-1].split(",") if v.strip()]
    return value


def _params(raw: _Raw, key: str, spec: Any, ctx: Context) -> dict[str, Any]:
    known = tuple(p.name for p in spec.params)
    out: dict[str, Any] = {}
    for name, (value, line, dflt) in raw.params.items():
        if name in REGRESSION_PROPS:
            continue  # the control's regression rule, read by _regression
        if name not in known:
            if dflt:
                continue
            hint = did_you_mean(name, known) if known else f"{key} takes no parameters"
            if raw.strict:
                raw.problem(f"unknown parameter '{name}' for {key}", line, hint)
            else:
                _warn(ctx, raw, line, f"unknown parameter '{name}' for {key} is ignored ({hint})")
            continue
        if spec.param(name).kind in ("list", "columns"):
            value = _list_text(value)
        try:
            converted = coerce_params(key, {name: value})[0]
        except (ValueError, TypeError, OverflowError) as exc:
            raw.problem(
                f"bad parameter value: {exc}",
                line,
                f"see the parameters of {key} in docs/metrics.md",
            )
            continue
        bins = converted.get("bins")
        size = bins if isinstance(bins, int) else len(bins) if isinstance(bins, tuple) else 0
        if size > LIMITS.max_bins:
            raw.problem(
                f"bins asks for {size:,} bins, more than the {LIMITS.max_bins:,} allowed",
                line,
                "a few bins (e.g. 4) or cut points (e.g. 25,60) describe an age band",
            )
            continue
        out.update(converted)
    return out


def _regression(raw: _Raw) -> RegressionRule | None:
    """The control's regression alert rule, if it sets one (errors name the prop's line)."""
    given = {name: raw.params[name] for name in REGRESSION_PROPS if name in raw.params}
    if not given:
        return None
    try:
        return RegressionRule.from_params({name: v[0] for name, v in given.items()}, raw.cid)
    except PolicyError as exc:  # the control cannot be judged against its baseline
        line = min((v[1] for v in given.values() if v[1] is not None), default=None)
        raw.problem(exc.message, line, exc.hint)
        return None


def _warn(ctx: Context, raw: _Raw, line: int | None, message: str) -> None:
    where = ctx.file + (f":{line}" if line else "")
    ctx.warnings.append(f"{where}: control '{raw.cid}': {message}")


def direction_warning(control: Control) -> str | None:
    """A sentence when the operator points the other way from the metric's 'better'."""
    if control.problem is not None:
        return None  # already reported, and its fields may be missing
    spec = get_spec(control.metric)
    direction, upper = spec.direction, control.operator in ("lt", "le")
    note = spec.operator_note(control.operator)  # another tool's meaning of this key
    if note:
        return note
    if (direction == "higher" and upper) or (
        direction == "lower" and control.operator in ("gt", "ge")
    ):
        return (
            f"{control.metric} is better when {direction}, but the control passes when it is "
            f"{control.operator_symbol} {control.threshold:g}; check the operator"
        )
    return None
