"""What measuring a control produces, and how its confidence interval is drawn.

Kept apart from ``_evaluate`` so that every metric module can import these types at the
top without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CISettings:
    """Bootstrap settings. ``n_boot=0`` or ``enabled=False`` turns intervals off."""

    enabled: bool = True
    n_boot: int = 1000
    level: float = 0.95
    seed: int | None = 0


@dataclass
class Measurement:
    value: float
    n: int
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    excluded_groups: dict[str, int] = field(default_factory=dict)
    ci: tuple[float, float] | None = None
    ci_method: str = "none"
    ci_note: str = ""
    undefined_replicates: int = 0
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
