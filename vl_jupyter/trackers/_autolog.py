"""Zero-friction logging: an ``enforce`` inside the user's MLflow or W&B run logs into it.

The SDK's promise ("harvests the evidence behind the scenes"): ``with
mlflow.start_run(): vl.enforce(...)`` puts the controls in that run without a
``vl.sync`` call. What is logged is exactly what ``vl.sync`` logs for that record, through
the same engine, so the sync ledger records it and a later ``vl.sync`` does not repeat it.

- Only a run the user already has: ``mlflow.active_run()`` on the main thread (MLflow's
  active run is thread-local) or ``wandb.run`` (not a ``mode="disabled"`` one, which
  keeps nothing: the record stays pending). Never a run of our own, and mlflow or
  wandb is never imported here: a tracker not in ``sys.modules`` was not imported by the
  user, so there is nothing to log into (``import vl_jupyter`` and ``enforce`` stay light).
- Off with ``VL_AUTOLOG=0`` (also ``false``/``off``/``no``) or
  ``vl_jupyter.trackers.autolog(False)``; the call's setting wins over the environment.
- A tracker that fails (server down, refused) never breaks ``enforce``: the evidence is
  written, the record stays pending for a later ``vl.sync``, and a VLWarning says so,
  once per tracker per process.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import Any

from ..errors import SyncError, VLWarning

ENV = "VL_AUTOLOG"
_OFF = {"0", "false", "off", "no"}
_enabled: bool | None = None  # None: follow the environment
_warned: set[str] = set()


def autolog(enabled: bool | None = True) -> bool | None:
    """Turn logging into the active MLflow / W&B run on (``True``) or off (``False``);
    ``None`` follows ``$VL_AUTOLOG`` again. Returns the previous setting."""
    global _enabled
    if enabled is not None and not isinstance(enabled, bool):
        raise TypeError(f"autolog() takes True, False or None, got {enabled!r}")
    previous, _enabled = _enabled, enabled
    return previous


def enabled() -> bool:
    """Whether enforce logs into the user's active tracker runs now."""
    if _enabled is not None:
        return _enabled
    return os.environ.get(ENV, "1").strip().lower() not in _OFF


def active_runs() -> dict[str, Any]:
    """The user's active runs, by tracker (without importing either tracker)."""
    runs: dict[str, Any] = {}
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None and threading.current_thread() is threading.main_thread():
        try:
            run = mlflow.active_run()
        except Exception:
            run = None
        if run is not None:
            runs["mlflow"] = run
    wandb = sys.modules.get("wandb")
    run = getattr(wandb, "run", None) if wandb is not None else None
    # a disabled run (mode="disabled") keeps nothing: the ledger must not call it synced
    if run is not None and not getattr(run, "disabled", False):
        runs["wandb"] = run
    return runs


def log_report(report: Any, evidence_dir: Any = None) -> list[str]:
    """Log the enforce record of ``report`` into every active run; returns the trackers it
    went to. Called by ``enforce`` after the evidence is written."""
    record_id = getattr(report, "evidence_id", None)
    if record_id is None or not enabled():
        return []
    runs = active_runs()
    if not runs:
        return []
    from ._engine import sync

    done = []
    for target, run in runs.items():
        try:
            sync(target, ids=[record_id], run=run, evidence_dir=evidence_dir, progress=False)
            done.append(target)
        except SyncError as exc:
            _warn_once(target, str(exc.message))
        except Exception as exc:  # a tracker's own bug must not break enforce either
            _warn_once(target, f"{type(exc).__name__}: {exc}")
    return done


def _warn_once(target: str, cause: str) -> None:
    if target in _warned:
        return
    _warned.add(target)
    warnings.warn(
        f"enforce evidence was not logged to the active {target} run ({cause}); it is kept "
        f"and stays pending: vl.sync('{target}') logs it later (VL_AUTOLOG=0 turns this off)",
        VLWarning,
        stacklevel=4,
    )
