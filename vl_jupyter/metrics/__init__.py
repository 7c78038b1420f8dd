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
from ._drift import NoBaseline
from ._engines import is_data
from ._evaluate import Statistics, measure, statistics_for
from ._measurement import CISettings, Measurement
from ._params import coerce_bins
from ._validate import string_columns

__all__ = [
    "CATALOGUE",
    "ROLES",
    "CISettings",
    "Measurement",
    "MetricSpec",
    "NoBaseline",
    "Statistics",
    "canonical_key",
    "closest_keys",
    "coerce_bins",
    "coerce_params",
    "get_spec",
    "is_data",
    "known_keys",
    "measure",
    "statistics_for",
    "string_columns",
]
