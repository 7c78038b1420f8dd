"""Bind a control's roles to columns of the data, and record how each was bound.

A policy names *variables* (``gender``, ``target``); a data set has *columns*
(``Attribute9``, ``class``). A variable is bound, in this order:

1. ``keyword``: an ``enforce(...)`` keyword argument names it (``gender="Attribute9"``);
2. ``column``: a column has exactly that name;
3. ``synonym``: a column has one of the variable's documented synonyms (``SYNONYMS``),
   or the same name in another letter case;
4. ``role keyword``: the control's role itself was given as a keyword (``target="class"``
   binds the target role of a policy whose target variable is ``credit_risk``).

A variable is never bound to the column of another variable: asked for ``gender`` and
finding none, binding fails with the columns that look alike, instead of quietly using
``age``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import BindingError, close_matches

if TYPE_CHECKING:
    from .metrics import MetricSpec
    from .policy import Control

#: Column names accepted for a variable when no keyword or same-named column binds it.
#: Each list names the *same* concept only.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "target": ("target", "label", "y", "y_true", "class", "outcome", "ground_truth"),
    "prediction": ("prediction", "predictions", "pred", "y_pred", "predicted", "y_hat"),
    "score": ("score", "scores", "y_score", "proba", "probability", "y_proba"),
    "gender": ("gender", "sex"),
    "sex": ("sex", "gender"),
    "age": ("age", "age_years"),
    "race": ("race", "ethnicity"),
    "ethnicity": ("ethnicity", "race"),
    "nationality": ("nationality", "citizenship", "foreign_worker"),
    "disability": ("disability", "disabled"),
    "religion": ("religion",),
}


@dataclass(frozen=True)
class Binding:
    """How one role of one control was bound: the variable, the columns, the rule used."""

    role: str
    variable: str
    columns: tuple[str, ...]
    rule: str

    def to_dict(self) -> dict[str, object]:
        return {"variable": self.variable, "columns": list(self.columns), "rule": self.rule}


class Binder:
    """Resolves variables against one frame's columns and the caller's keyword bindings."""

    def __init__(self, columns: Iterable[object], keywords: Mapping[str, object]) -> None:
        self.columns = [str(c) for c in columns]
        self._column_set = set(self.columns)
        self._lower = {c.lower(): c for c in self.columns}
        self.keywords: dict[str, tuple[str, ...]] = {}
        for name, value in keywords.items():
            if value is None:
                continue
            names = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
            for column in names:
                if str(column) not in self._column_set:
                    raise BindingError(
                        f"{name}={column!r}: the data has no column {str(column)!r}",
                        hint=self.suggest(str(column)),
                    )
            self.keywords[name] = tuple(str(c) for c in names)

    def suggest(self, name: str) -> str:
        close = close_matches(name, self.columns, n=3, cutoff=0.5)
        lowered = self._lower.get(name.lower())
        if lowered and lowered not in close:
            close.insert(0, lowered)
        if close:
            return "closest columns: " + ", ".join(repr(c) for c in close)
        shown = ", ".join(repr(c) for c in self.columns[:12])
        more = "" if len(self.columns) <= 12 else f" and {len(self.columns) - 12} more"
        return f"columns are {shown}{more}"

    def check_used(
        self,
        keywords: Mapping[str, object],
        controls: Iterable[Control],
        column_params: Iterable[str] = (),
    ) -> None:
        """Raise ``BindingError`` for a keyword that binds nothing the policy names.

        ``gendr="foreign_worker"`` would otherwise be ignored while the evidence records it
        as a binding, and the control it was meant for would bind ``gender`` by name or
        synonym instead. Accepted: every role, every variable a control declares, and the
        names in its column parameters (``quasi_identifiers``).
        """
        from .metrics import ROLES

        known: set[str] = set(ROLES)
        for control in controls:
            known.update(control.inputs)
            for declared in control.inputs.values():
                known.update((declared,) if isinstance(declared, str) else declared)
            for name in column_params:
                value = control.params.get(name)
                if value:
                    known.update((value,) if isinstance(value, str) else map(str, value))
        unused = [
            name for name, value in keywords.items() if value is not None and name not in known
        ]
        if unused:
            name = unused[0]
            close = close_matches(name, sorted(known), n=3, cutoff=0.5)
            variables = sorted(known - set(ROLES))
            raise BindingError(
                f"keyword {name}=... binds no variable of the policy, so it would be "
                "ignored while the evidence records it",
                hint=(
                    "close variable names: " + ", ".join(repr(c) for c in close)
                    if close
                    else "the policy's variables are "
                    + (", ".join(repr(v) for v in variables) or "none")
                    + "; roles are "
                    + ", ".join(ROLES)
                ),
            )

    def resolve(self, variable: str, role: str | None = None) -> tuple[tuple[str, ...], str] | None:
        """Columns and rule for ``variable``; None when nothing binds it."""
        if variable in self.keywords:
            return self.keywords[variable], "keyword"
        if variable in self._column_set:
            return (variable,), "column"
        for synonym in SYNONYMS.get(variable.lower(), ()):
            if synonym in self._column_set:
                return (synonym,), "synonym"
        if variable.lower() in self._lower:
            return (self._lower[variable.lower()],), "synonym"
        if role is not None and role != variable and role in self.keywords:
            return self.keywords[role], "role keyword"
        return None

    def bind_role(self, control: Control, role: str) -> Binding:
        # a parameter named after the role binds it, as SDK props write `score: Dice`
        written = control.params.get(role)
        declared = control.inputs.get(role, written if isinstance(written, str) else role)
        variables = (declared,) if isinstance(declared, str) else tuple(declared)
        columns: list[str] = []
        rules: list[str] = []
        for variable in variables:
            found = self.resolve(variable, role)
            if found is None:
                raise BindingError(
                    f"role '{role}' needs variable '{variable}', which matches no column; "
                    f"bind it with enforce(..., {_keyword(variable)}='<column>')",
                    control_id=control.id,
                    hint=self.suggest(variable),
                )
            columns.extend(found[0])
            rules.append(found[1])
        return Binding(role, ",".join(variables), tuple(columns), "+".join(sorted(set(rules))))

    def bind(self, control: Control, spec: MetricSpec) -> dict[str, Binding]:
        """Bind every role the metric needs for this control.

        Selection-rate metrics read the prediction only when one is bound explicitly (the
        control declares ``input:prediction`` or ``prediction=`` was passed); otherwise
        they audit the target. A frame that merely *has* a column called ``prediction``
        does not turn a data audit into a model audit.
        """
        bound = {role: self.bind_role(control, role) for role in spec.roles}
        if "prediction" in spec.optional_roles and (
            "prediction" in control.inputs or "prediction" in self.keywords
        ):
            bound["prediction"] = self.bind_role(control, "prediction")
        elif "target" in spec.optional_roles:
            bound["target"] = self.bind_role(control, "target")
        for role in spec.optional_roles:  # any other optional role: bound when asked for
            if (
                role not in bound
                and role not in ("target", "prediction")
                and (role in control.inputs or role in self.keywords)
            ):
                bound[role] = self.bind_role(control, role)
        return bound


def _keyword(variable: str) -> str:
    return variable if variable.isidentifier() else "**{'" + variable + "': ...}"
