"""vl_jupyter: regulatory evidence from notebooks.

The public verbs::

    import vl_jupyter as vl
    policy = vl.load_policy("policy.yaml")
    report = vl.enforce(df, policy, target="class", gender="Attribute9")
    vl.evidence.verify()

Everything else is an implementation detail and may change.
"""

from . import datasets, evidence
from .enforcement import ControlResult, Report, enforce
from .errors import (
    BindingError,
    ComplianceBlockError,
    EnforcementError,
    EvidenceError,
    MetricError,
    PolicyError,
    VLError,
    VLWarning,
)
from .policy import Control, Policy, load_policy

__version__ = "0.1.0"

__all__ = [
    "BindingError",
    "ComplianceBlockError",
    "Control",
    "ControlResult",
    "EnforcementError",
    "EvidenceError",
    "MetricError",
    "Policy",
    "PolicyError",
    "Report",
    "VLError",
    "VLWarning",
    "__version__",
    "datasets",
    "enforce",
    "evidence",
    "load_policy",
]
