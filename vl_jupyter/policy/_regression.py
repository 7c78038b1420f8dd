"""Regression alert rules of a control: how much worse than a baseline is an alert.

A control may carry ``max_regression`` (a mapping ``{warning: 0.05, critical: 0.10,
emergency: 0.15, mode: relative, fail_on: critical}``, the string ``"0.05,0.10,0.15"``, or
the flat props ``max_regression_warning`` ...), ``regression_mode`` (``relative``,
``absolute`` or ``auto``) and ``fail_on_regression`` (a level). Props dialects write them
as props, the native format under ``params``. Without them a control gets the ACGS-PGP
MLOps seed's levels, 5 %, 10 % and 15 %, and never fails on a regression alone.

``auto`` (the default) reads the levels as a *relative* degradation where higher is better
(accuracy 0.80 -> 0.72 is 10 % worse) and as *absolute* points where lower is better or
the value should sit at the threshold: a parity gap is ideally 0, so 0.02 -> 0.04 is
"twice as bad" relatively but only two points worse, and relative levels on gaps would
alarm on sampling noise (measured: benchmarks/bench_false_alarms.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import PolicyError

ALERT_LEVELS = ("none", "warning", "critical", "emergency")
#: The alert levels of the ACGS-PGP MLOps seed: relative degradation of 5, 10 and 15 %.
DEFAULT_LEVELS = {"warning": 0.05, "critical": 0.10, "emergency": 0.15}
#: Control props read into the rule (and so never passed on to the metric as parameters).
REGRESSION_PROPS = (
    "max_regression",
    "max_regression_warning",
    "max_regression_critical",
    "max_regression_emergency",
    "regression_mode",
    "fail_on_regression",
)


def alert_rank(level: str) -> int:
    """Order of an alert level (``none`` 0 ... ``emergency`` 3); unknown levels rank 0."""
    return ALERT_LEVELS.index(level) if level in ALERT_LEVELS else 0


@dataclass(frozen=True)
class RegressionRule:
    """When a change is an alert: thresholds per level, relative or absolute, and the
    level from which the control fails (``None``: alerts never fail the control)."""

    warning: float = DEFAULT_LEVELS["warning"]
    critical: float = DEFAULT_LEVELS["critical"]
    emergency: float = DEFAULT_LEVELS["emergency"]
    mode: str = "auto"
    fail_at: str | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any], control_id: str = "") -> RegressionRule:
        """Read the regression fields of a control's parameters (any dialect: a mapping,
        ``"0.05,0.10,0.15"``, or the flat ``max_regression_<level>`` props)."""
        levels = dict(DEFAULT_LEVELS)
        mode = str(params.get("regression_mode", "auto")).strip().lower()
        given = params.get("max_regression")
        if isinstance(given, str):
            parts = [p.strip() for p in given.split(",") if p.strip()]
            if any("=" in p or ":" in p for p in parts):
                given = dict(p.replace(":", "=").split("=", 1) for p in parts)
            else:
                if len(parts) > 3:
                    raise PolicyError(
                        f"max_regression takes at most three levels, got {given!r}",
                        control_id=control_id,
                        hint="warning,critical,emergency, e.g. 0.05,0.10,0.15",
                    )
                given = dict(zip(("warning", "critical", "emergency"), parts, strict=False))
        if isinstance(given, (int, float)) and not isinstance(given, bool):
            given = {"warning": given}
        if isinstance(given, Mapping):
            for key, value in given.items():
                key = str(key).strip().lower()
                if key == "mode":
                    mode = str(value).strip().lower()
                elif key == "fail_on":
                    params = {**params, "fail_on_regression": value}
                elif key in levels:
                    levels[key] = _number(value, f"max_regression.{key}", control_id)
                else:
                    raise PolicyError(
                        f"max_regression has an unknown level '{key}'",
                        control_id=control_id,
                        hint="levels are warning, critical, emergency (and mode, fail_on)",
                    )
        elif given is not None:
            raise PolicyError(
                f"max_regression must be a mapping of levels or 'w,c,e', got {given!r}",
                control_id=control_id,
            )
        for level in ("warning", "critical", "emergency"):
            flat = params.get(f"max_regression_{level}")
            if flat is not None:
                levels[level] = _number(flat, f"max_regression_{level}", control_id)
        if mode not in ("relative", "absolute", "auto"):
            raise PolicyError(
                f"regression_mode must be relative, absolute or auto, got '{mode}'",
                control_id=control_id,
            )
        if not levels["warning"] <= levels["critical"] <= levels["emergency"]:
            raise PolicyError(
                "max_regression levels must grow: warning <= critical <= emergency "
                f"(got {levels['warning']}, {levels['critical']}, {levels['emergency']})",
                control_id=control_id,
            )
        fail_at = params.get("fail_on_regression")
        if fail_at is not None:
            fail_at = str(fail_at).strip().lower()
            if fail_at in ("false", "no", "none", "off"):
                fail_at = None
            elif fail_at not in ALERT_LEVELS[1:]:
                raise PolicyError(
                    f"fail_on_regression must be warning, critical or emergency, got '{fail_at}'",
                    control_id=control_id,
                )
        return cls(mode=mode, fail_at=fail_at, **levels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "warning": self.warning,
            "critical": self.critical,
            "emergency": self.emergency,
            "mode": self.mode,
            "fail_at": self.fail_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RegressionRule:
        """The rule stored in a result's metadata (the defaults when there is none)."""
        if not data:
            return cls()
        names = ("warning", "critical", "emergency", "mode", "fail_at")
        return cls(**{k: data[k] for k in names if k in data})

    def effective_mode(self, better: str) -> str:
        """``relative`` or ``absolute`` for a control whose better direction is ``better``."""
        if self.mode != "auto":
            return self.mode
        return "relative" if better == "higher" else "absolute"

    def level(
        self, degradation: float | None, relative: float | None, better: str = "higher"
    ) -> str:
        """The alert level of a change (``degradation`` > 0 is worse)."""
        mode = self.effective_mode(better)
        amount = relative if mode == "relative" else degradation
        if amount is None or not math.isfinite(amount) or amount <= 0:
            return "none"
        found = "none"
        for name in ("warning", "critical", "emergency"):
            if amount >= getattr(self, name) - 1e-12:
                found = name
        return found

    def fails(self, level: str) -> bool:
        """Whether a regression at ``level`` fails the control under this rule."""
        return self.fail_at is not None and alert_rank(level) >= alert_rank(self.fail_at)


def _number(value: Any, name: str, control_id: str) -> float:
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise PolicyError(
            f"{name} must be a number, got {value!r}", control_id=control_id
        ) from None
    if not math.isfinite(number) or number < 0:
        raise PolicyError(
            f"{name} must be a finite number >= 0, got {value!r}", control_id=control_id
        )
    return number
