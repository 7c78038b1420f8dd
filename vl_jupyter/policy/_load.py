"""``load_policy``: find the controls of any dialect and normalise them."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..errors import PolicyError, VLWarning
from ._dialects import find_controls
from ._model import Control, Policy
from ._normalise import Context, build_control, direction_warning
from ._yaml import read_source


def load_policy(
    source: str | Path | dict[str, Any] | list[Any] | Policy, *, strict: bool = False
) -> Policy:
    """Read a policy in any supported dialect and return it normalised.

    ``source`` is a path (``Path``, or a one-line ``str`` naming an existing file or ending
    in .yaml/.yml/.json), YAML text, an already parsed ``dict``/``list``, or a ``Policy``
    (returned as is).

    What makes the *file* unreadable (bad YAML, a ``!!python`` tag, an unknown shape, no
    controls, two controls with one id, a file over the size, depth or alias limits)
    raises :class:`PolicyError` naming the file and line. A *control* that cannot be
    computed (an unknown metric, no threshold, an unparseable operator, a bad parameter)
    does not: it loads with ``Control.problem`` set, is listed in ``Policy.warnings``
    (file, line, control) and becomes an ``error`` result at enforce time, so the report
    cannot pass. With ``strict=True`` the first such problem raises instead. Lesser
    findings (an unknown prop, a key written twice, an operator that points against the
    metric's direction) are kept in ``Policy.warnings`` and also emitted as
    :class:`VLWarning`.
    """
    if isinstance(source, Policy):
        if strict and source.problems:
            raise _first_problem(source)
        return source
    src = read_source(source)
    located = find_controls(src.data, src.name, src.stem)
    if not located.controls:
        raise PolicyError(
            f"no controls found in {src.name} (dialect {located.dialect})",
            file=src.name,
            hint=f"controls are expected under {located.hint}; an empty policy would pass "
            "everything, so it is refused",
        )
    ctx = Context(src.name, defaults=located.defaults)
    controls: list[Control] = []
    first_line: dict[str, int | None] = {}
    notes: list[str] = list(src.warnings)
    for found in located.controls:
        control = build_control(found, ctx)
        if control.id in first_line:
            raise PolicyError(
                f"duplicate control id (lines {first_line[control.id]} and {control.line})",
                file=src.name,
                line=control.line,
                control_id=control.id,
                hint="control ids must be unique: rename one of them",
            )
        first_line[control.id] = control.line
        if strict and ctx.problems:
            raise ctx.problems[0]
        if control.problem is not None:
            where = src.name + (f":{control.line}" if control.line else "")
            notes.append(
                f"{where}: control '{control.id}' cannot be evaluated and will be an error "
                f"result: {control.problem}"
            )
        note = direction_warning(control)
        if note:
            ctx.warnings.append(f"{src.name}:{control.line}: control '{control.id}': {note}")
        controls.append(control)
    found_warnings = [*notes, *ctx.notes, *ctx.warnings]
    for text in found_warnings:
        warnings.warn(text, VLWarning, stacklevel=2)
    return Policy(
        title=located.title,
        version=located.version,
        controls=tuple(controls),
        source=src.name,
        sha256=src.sha256,
        text=src.text,
        dialect=located.dialect,
        warnings=tuple(found_warnings),
    )


def _first_problem(policy: Policy) -> PolicyError:
    control = policy.problems[0]
    return PolicyError(
        f"cannot be evaluated: {control.problem}",
        file=policy.source,
        line=control.line,
        control_id=control.id,
    )
