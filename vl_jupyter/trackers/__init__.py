"""Tracker sync: evidence to MLflow and Weights & Biases, reliable and idempotent.

The engine behind ``vl_jupyter.sync()``, ``%vl_sync`` and ``vl-jupyter sync``::

    import vl_jupyter as vl
    result = vl.sync("mlflow")                 # or "wandb", or "mlflow,wandb"
    result.runs                                # [{target, run_id, url, ...}]
    vl.trackers.targets()                      # where each tracker is, and whether it answers
    vl.trackers.sync_status()                  # record id -> target -> run

Records already synced to a tracker are skipped (a ``sync`` ledger record in the evidence
store says where each went); ``force=True`` logs them again into the same run. mlflow and
wandb are imported only when a sync runs. Inside the user's active MLflow run or
``wandb.run``, every ``enforce`` logs its record at once (``autolog``; ``VL_AUTOLOG=0``
turns it off). See docs/trackers.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SyncError
from . import _mlflow, _registry, _wandb
from ._anchor import AnchorCheck, check_anchors
from ._autolog import autolog
from ._autolog import log_report as autolog_report
from ._bundle import control_key, metric_key
from ._engine import sync
from ._redact import redact, redact_uri
from ._registry import (
    Tracker,
    TrackerSpec,
    parse_targets,
    register_tracker,
    request_setting_keys,
    setting_keys,
    targets_hint,
    tracker_names,
    tracker_spec,
    unregister_tracker,
)
from ._result import SyncedRecord, SyncResult, TargetInfo
from ._settings import CONFIG_FILE, from_options, resolve_settings
from ._target import Group, Unavailable

__all__ = [
    "CONFIG_FILE",
    "AnchorCheck",
    "Group",
    "SyncError",
    "SyncResult",
    "SyncedRecord",
    "TargetInfo",
    "Tracker",
    "TrackerSpec",
    "Unavailable",
    "autolog",
    "autolog_report",
    "check_anchors",
    "configured_trackers",
    "control_key",
    "from_options",
    "metric_key",
    "parse_targets",
    "redact",
    "redact_uri",
    "register_tracker",
    "request_setting_keys",
    "resolve_settings",
    "setting_keys",
    "sync",
    "sync_status",
    "targets",
    "targets_hint",
    "tracker_names",
    "tracker_spec",
    "unregister_tracker",
    "wrap",
]


def targets(
    settings: Mapping[str, Any] | None = None, *, from_request: bool = False
) -> list[TargetInfo]:
    """Each tracker's location, mode and whether it can be used now, without logging.

    Answers within about 3 s even when a server is dead (one short probe per tracker,
    without importing mlflow or wandb). ``from_request``: the settings came from a web
    request (the Jupyter server), so credentials go only to the configured tracker.
    """
    from ._engine import withhold_credentials
    from ._settings import credentials, find_project_dir

    folder = find_project_dir()
    resolved = resolve_settings(settings, folder)
    withhold = from_request and withhold_credentials(settings, folder)
    with credentials(folder, withhold=withhold):
        return [spec.info(resolved) for spec in _registry.specs()]


def configured_trackers(project_dir: str | Path | None = None) -> tuple[str, ...]:
    """The trackers that the environment, the project's ``.env`` or ``vl_jupyter.yaml``
    set at least one setting of (the rest run on their defaults). Names only: the
    sidebar shows which trackers are set up without seeing where they point."""
    import os

    from ._settings import find_project_dir, read_config, read_dotenv

    folder = find_project_dir(project_dir)
    env = {**read_dotenv(folder), **os.environ}
    config = read_config(folder)
    return tuple(
        spec.name
        for spec in _registry.specs()
        if any(key in config or (var and env.get(var)) for key, var in spec.settings.items())
    )


def wrap(estimator: Any, policy: Any = None, **kwargs: Any) -> Any:
    """A scikit-learn estimator whose ``fit`` data and ``predict`` output are audited
    against ``policy`` (see docs/trackers.md). scikit-learn is imported on first use."""
    from ._wrap import wrap as _wrap

    return _wrap(estimator, policy, **kwargs)


def sync_status(
    evidence_dir: str | Path | None = None, records: Iterable[Any] | None = None
) -> dict[str, dict[str, dict]]:
    """record id -> target -> ``{run_id, url, location, synced_at}``, from the ledger.

    ``records`` (the store's records, newest first, as ``records()`` yields them) lets a
    caller that has just listed the store skip a second read of its index.
    """
    from ..evidence import EvidenceStore
    from ._ledger import status

    return status(EvidenceStore(evidence_dir), records)


# The built-in trackers: one line each (docs/trackers.md, "How to add a tracker").
register_tracker(
    "mlflow", _mlflow.MlflowTarget, info=_mlflow.info, settings=_mlflow.SETTINGS,
    defaults=_mlflow.defaults, validate=_mlflow.validate, anchors=_mlflow.anchors,
    owns_run=_mlflow.owns_run, endpoint_key="mlflow_tracking_uri", label="MLflow",
    request_settings=("mlflow_tracking_uri", "mlflow_experiment"),
)  # fmt: skip
register_tracker(
    "wandb", _wandb.WandbTarget, info=_wandb.info, settings=_wandb.SETTINGS,
    defaults=_wandb.defaults, validate=_wandb.validate, anchors=_wandb.anchors,
    owns_run=_wandb.owns_run, label="W&B",
    request_settings=("wandb_project", "wandb_entity", "wandb_mode"),
)  # fmt: skip
