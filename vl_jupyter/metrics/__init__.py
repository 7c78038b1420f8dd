"""Metric catalogue and computations (see docs/metrics.md)."""

from ._catalogue import (
    CATALOGUE,
    ROLES,
    MetricSpec,
    canonical_key,
    closest_keys,
    coerce_params,
    get_spec,
    known_keys,
)

__all__ = [
    "CATALOGUE",
    "ROLES",
    "MetricSpec",
    "canonical_key",
    "closest_keys",
    "coerce_params",
    "get_spec",
    "known_keys",
]
