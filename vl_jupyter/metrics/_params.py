"""Typed metric parameters: policies write every value as a string; metrics get Python values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One parameter a metric accepts, with its type and meaning (shown in docs/metrics.md)."""

    name: str
    kind: str  # "int", "float", "str", "list", "columns", "label", "bool", "bins"
    default: Any
    doc: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    def coerce(self, value: Any) -> Any:
        """Convert a policy value; raise ValueError with a sentence a user can act on."""
        kind = self.kind
        if kind == "int":
            number = _number(self.name, value)
            if number != int(number):
                raise ValueError(f"parameter '{self.name}' must be a whole number, got {value!r}")
            out: Any = int(number)
        elif kind == "float":
            out = _number(self.name, value)
        elif kind == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError(f"parameter '{self.name}' must be true or false, got {value!r}")
            return text in ("true", "yes", "1")
        elif kind in ("list", "columns"):  # "columns" names columns enforce() resolves
            if isinstance(value, (list, tuple)):
                out = tuple(str(v).strip() for v in value)
            else:
                out = tuple(v.strip() for v in str(value).split(",") if v.strip())
            if not out:
                raise ValueError(f"parameter '{self.name}' needs at least one column name")
            return out
        elif kind == "bins":
            return coerce_bins(self.name, value)
        elif kind == "label":
            # a label keeps its YAML type (1 stays int, "good" stays str); "1" from a
            # props list (where every value is a string) becomes the number 1.
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    try:
                        return float(value)
                    except ValueError:
                        return value
            return value
        else:
            out = str(value)
            if self.choices and out not in self.choices:
                raise ValueError(
                    f"parameter '{self.name}' must be one of {', '.join(self.choices)}; got {out!r}"
                )
            return out
        if self.minimum is not None and out < self.minimum:
            raise ValueError(f"parameter '{self.name}' must be at least {self.minimum}, got {out}")
        return out


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"parameter '{name}' must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter '{name}' must be a number, got {value!r}") from None


def coerce_bins(name: str, value: Any) -> int | tuple[float, ...]:
    """``4`` means four equal-frequency bins; ``"25,60"`` or ``[25, 60]`` are cut points."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and "," not in value:
        count = _number(name, value)
    else:
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        edges = tuple(sorted(_number(name, v) for v in items if str(v).strip()))
        if not edges or len(set(edges)) != len(edges):
            raise ValueError(f"parameter '{name}' needs distinct cut points, got {value!r}")
        return edges
    if count != int(count) or count < 2:
        raise ValueError(f"parameter '{name}' must be a bin count of at least 2, got {value!r}")
    return int(count)
