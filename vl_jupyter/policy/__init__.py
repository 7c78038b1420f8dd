"""Policies: read any supported policy file into one normalised :class:`Policy`.

>>> policy = load_policy('''
... vl-policy: 1
... controls:
...   - {id: fair, metric: disparate_impact, operator: gt, threshold: 0.8,
...      inputs: {dimension: gender}}
... ''')
>>> policy.control("fair").inputs["dimension"]
'gender'

The formats, the errors and the semantics are described in ``docs/policy-format.md``.
"""

from __future__ import annotations

from pathlib import Path

from ._dialects import READERS, Reader, dialect_names
from ._load import load_policy
from ._model import (
    ENFORCEMENT_MODES,
    LIFECYCLE_PHASES,
    OPERATOR_ALIASES,
    OPERATORS,
    Control,
    Policy,
    fail_sentence,
    operator_symbol,
)
from ._regression import ALERT_LEVELS, DEFAULT_LEVELS, RegressionRule, alert_rank
from ._yaml import LIMITS, Limits

#: The JSON Schema (draft 2020-12) of the native format, shipped with the package.
SCHEMA_PATH = Path(__file__).with_name("schema.json")

#: Every ``Policy.dialect`` a policy can have: ``native`` (``vl-policy: 1``) and the
#: Venturalítica SDK's shapes (``assessment-plan``, ``catalog``, ``list``, ...).
DIALECTS = dialect_names()

__all__ = [
    "ALERT_LEVELS",
    "DEFAULT_LEVELS",
    "DIALECTS",
    "ENFORCEMENT_MODES",
    "LIFECYCLE_PHASES",
    "LIMITS",
    "OPERATORS",
    "OPERATOR_ALIASES",
    "READERS",
    "SCHEMA_PATH",
    "Control",
    "Limits",
    "Policy",
    "Reader",
    "RegressionRule",
    "alert_rank",
    "fail_sentence",
    "load_policy",
    "operator_symbol",
]
