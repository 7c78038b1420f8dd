"""The normalised policy model every dialect is read into.

Whatever shape a policy file has (see ``docs/policy-format.md``), the rest of the package
sees only these two frozen dataclasses.
"""

from __future__ import annotations

import operator as _op
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._regression import RegressionRule

#: Canonical operator names, the Python comparison behind each, and the symbol shown to users.
OPERATORS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "gt": (_op.gt, ">"),
    "ge": (_op.ge, ">="),
    "lt": (_op.lt, "<"),
    "le": (_op.le, "<="),
    "eq": (_op.eq, "=="),
    "ne": (_op.ne, "!="),
}

#: Every spelling of an operator that a policy may use, mapped to its canonical name.
OPERATOR_ALIASES: dict[str, str] = {
    "gt": "gt", ">": "gt",
    "gte": "ge", "ge": "ge", ">=": "ge",
    "lt": "lt", "<": "lt",
    "lte": "le", "le": "le", "<=": "le",
    "eq": "eq", "==": "eq", "=": "eq",
    "ne": "ne", "!=": "ne",
}  # fmt: skip


def operator_symbol(operator: str) -> str:
    """The symbol shown to users for a canonical operator (``gt`` -> ``>``); an unknown
    name (a result read back from someone else's file) is shown as written."""
    return OPERATORS[operator][1] if operator in OPERATORS else operator


def fail_sentence(metric: str, value: float, operator: str, threshold: float) -> str:
    """Why a control failed, in the one wording (and number format) the evidence, the
    report and the sidebar share: ``disparate_impact = 0.7927, which is not > 0.8``."""
    return f"{metric} = {value:.4g}, which is not {operator_symbol(operator)} {threshold:.4g}"


ENFORCEMENT_MODES = ("monitor", "warn", "block")
LIFECYCLE_PHASES = ("training", "validation", "monitoring", "incident")


@dataclass(frozen=True)
class Control:
    """One check: ``metric(inputs) operator threshold``.

    ``inputs`` maps a metric role (``target``, ``prediction``, ``score``, ``dimension``,
    ``sensitive``...) to the semantic variable or column that feeds it; a role may map to
    a tuple of names (intersectional ``dimension``). ``params`` are the metric's own
    parameters (``min_group_size``, ``quasi_identifiers``, ``pos_label``...), already
    converted to Python values by the policy reader.

    ``problem`` is set when the reader could not understand the control (an unknown
    metric, no threshold, an operator it cannot parse...): the control still loads, so
    one bad entry never hides the rest of a file, but it can never pass: ``enforce``
    reports it as an ``error`` with this reason. The fields the reader could not read
    are then as written (``metric``, ``operator``) or None (``threshold``).
    """

    id: str
    metric: str
    operator: str
    threshold: float | None
    description: str = ""
    warn_threshold: float | None = None
    severity: str = "medium"
    inputs: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    phases: tuple[str, ...] = ()
    enforcement_mode: str = "warn"
    line: int | None = None
    #: the metric key as the policy wrote it, when it was an alias of ``metric``
    metric_as_written: str | None = None
    #: when a change against a baseline is an alert (see ``_regression``); None: defaults
    regression: RegressionRule | None = None
    #: why this control cannot be evaluated (None for a control that can)
    problem: str | None = None

    @property
    def evaluable(self) -> bool:
        """True when ``enforce`` can compute and judge this control from data."""
        return self.problem is None

    @property
    def judgeable(self) -> bool:
        """True when a value could be judged (operator and threshold were read), even if
        the metric cannot be computed here: ``enforce(metrics={"global_dice": 0.9})``
        judges a precomputed value of a metric our catalogue does not know."""
        return self.operator in OPERATORS and self.threshold is not None

    @property
    def operator_symbol(self) -> str:
        return operator_symbol(self.operator)

    def compare(self, value: float, threshold: float | None = None) -> bool:
        """Strict comparison: ``0.8 gt 0.8`` is False."""
        if not self.judgeable:
            raise ValueError(f"control '{self.id}' cannot be judged: {self.problem}")
        fn = OPERATORS[self.operator][0]
        limit = self.threshold if threshold is None else threshold
        assert limit is not None  # judgeable: the threshold was read
        return bool(fn(value, limit))

    def applies_to(self, phase: str | None) -> bool:
        """A control without phases applies to every phase."""
        return phase is None or not self.phases or phase in self.phases


@dataclass(frozen=True)
class Policy:
    """A normalised policy: what was read, from where, and its controls in file order."""

    title: str
    version: str
    controls: tuple[Control, ...]
    source: str  # a path, or "<string>" / "<dict>"
    sha256: str  # of the source text exactly as read (of canonical JSON for a dict)
    text: str  # the source text, kept for the evidence snapshot
    #: ``native`` for our own format, else the name of the reader that understood the
    #: file (``assessment-plan``, ``catalog``, ... see ``DIALECTS``)
    dialect: str
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.controls)

    def __iter__(self):
        return iter(self.controls)

    def control(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(control_id)

    @property
    def problems(self) -> tuple[Control, ...]:
        """The controls that loaded but cannot be evaluated (each an ``error`` at enforce)."""
        return tuple(c for c in self.controls if c.problem is not None)

    def summary(self) -> dict[str, Any]:
        """The small JSON-ready description stored with every evidence record."""
        return {
            "title": self.title,
            "version": self.version,
            "source": self.source,
            "sha256": self.sha256,
            "dialect": self.dialect,
            "controls": len(self.controls),
        }
