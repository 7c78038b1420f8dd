"""vl_jupyter: regulatory evidence from notebooks.

The public verbs::

    import vl_jupyter as vl
    policy = vl.load_policy("policy.yaml")
    report = vl.enforce(df, policy, target="class", gender="Attribute9")
    with vl.monitor("train_v1"):
        model.fit(X, y)
    vl.sync("mlflow")
    vl.evidence.verify()
    vl.export("bundle", out="audit/")    # Annex IV, OSCAL, CycloneDX, signed records

The Venturalítica SDK's verbs work as its users call them (docs/compat.md)::

    results = vl.quickstart("loan")                 # enforce the shipped loan policy
    df = vl.load_sample("loan")
    vl.enforce(metrics={"accuracy_score": 0.91}, policy="model.yaml")
    combined = r_data + r_model                     # or enforce(policy=[p1, p2])
    vl.retain(combined)                             # the authoritative subset of a run
    audit = vl.scan(project_root=".")               # policies and newest results

In a notebook, ``%load_ext vl_jupyter`` adds the magics (``%%vl_monitor``,
``%vl_enforce``, ``%vl_sync``, ...).

Everything else is an implementation detail and may change.
"""

from . import datasets, display, enforcement, evidence, review, signing, telemetry, trackers
from ._version import __version__
from .datasets import list_scenarios, load_sample, quickstart
from .enforcement import ControlResult, Report, ScanResult, enforce, retain, scan
from .errors import (
    BindingError,
    ComplianceBlockError,
    DataSourceError,
    EnforcementError,
    EvidenceError,
    ExportError,
    MetricError,
    PolicyError,
    SyncError,
    VLError,
    VLWarning,
)
from .export import export
from .notebook import load_ipython_extension, unload_ipython_extension
from .policy import Control, Policy, load_policy
from .telemetry import monitor, tracecollector
from .trackers import sync, wrap

signing.install()  # records are signed when the user has a key (docs/audit.md)
# Composition root: an enforce inside the user's active MLflow run or wandb.run logs into
# it at once (trackers import enforcement, never the reverse, so the hook is wired here).
enforcement.on_recorded(trackers.autolog_report)
# The model's looks come from the display room (enforcement never imports its views):
# Report/Comparison HTML and the history chart, and, inside IPython, its display formatter.
display.install()


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter server discovery: the REST API the sidebar reads (``vl_jupyter.server``)."""
    return [{"module": "vl_jupyter.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """JupyterLab discovery: the prebuilt sidebar shipped in ``vl_jupyter/labextension``."""
    return [{"src": "labextension", "dest": "vl-jupyter"}]


__all__ = [
    "BindingError",
    "ComplianceBlockError",
    "Control",
    "ControlResult",
    "DataSourceError",
    "EnforcementError",
    "EvidenceError",
    "ExportError",
    "MetricError",
    "Policy",
    "PolicyError",
    "Report",
    "ScanResult",
    "SyncError",
    "VLError",
    "VLWarning",
    "__version__",
    "datasets",
    "enforce",
    "evidence",
    "export",
    "list_scenarios",
    "load_ipython_extension",
    "load_policy",
    "load_sample",
    "monitor",
    "quickstart",
    "retain",
    "review",
    "scan",
    "signing",
    "sync",
    "telemetry",
    "tracecollector",
    "trackers",
    "unload_ipython_extension",
    "wrap",
]
