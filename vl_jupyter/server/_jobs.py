"""Sync jobs: ``vl_jupyter.trackers.sync`` run on a worker thread, with progress to poll.

A sync can take seconds (MLflow uploads, W&B startup), so ``POST /sync`` starts a job
and returns at once; the sidebar polls ``GET /sync/<job>`` for progress and the result.
One worker thread runs the jobs one after another: two syncs of the same store never
race each other.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import SyncError, VLError
from ._stores import ApiError, Catalogue

log = logging.getLogger(__name__)

KEEP_JOBS = 50


def check_target(target: Any) -> str:
    """Registered tracker names, comma-separated, each once (``mlflow,wandb``); ApiError
    400 otherwise."""
    from ..trackers import tracker_names

    known = tracker_names()
    names = str(target or "").replace(" ", "").split(",")
    if not target or not all(n in known for n in names) or len(set(names)) != len(names):
        raise ApiError(
            400,
            "BAD_TARGET",
            f"unknown sync target {target!r}: use {', '.join(repr(n) for n in known)} "
            "or a comma-separated list of them",
        )
    return ",".join(names)


#: Tracking-URI schemes a request may name; any other (databricks, postgresql, ...) would
#: use the server's own configuration or credentials, so only the server's settings name it.
REQUEST_SCHEMES = ("http", "https", "sqlite", "file")


def check_settings(raw: Any, root: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The tracker settings a client may pass; anything else (a secret) is refused.

    With ``root`` (the server's root directory), a tracking URI that writes locally (a
    ``sqlite:`` database, a ``file:`` store or a plain path, relative ones taken from the
    root) must lie under the root: a request never chooses where the server creates
    files. A remote URI is allowed, but the sync engine sends the server's credentials
    only to the URI the server was configured with (``from_request=True``).
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(400, "BAD_SETTINGS", "settings must be a JSON object")
    from ..trackers import request_setting_keys

    allowed = request_setting_keys()
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ApiError(
            400,
            "BAD_SETTINGS",
            f"unknown settings {', '.join(unknown)}; allowed: {', '.join(allowed)}",
            "credentials are never sent from the browser: set MLFLOW_TRACKING_TOKEN or "
            "WANDB_API_KEY in the server's environment",
        )
    out = {}
    for key, value in raw.items():
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > 1000:
            raise ApiError(400, "BAD_SETTINGS", f"setting {key} must be a string (<= 1000 chars)")
        out[key] = value
    if root is not None and "mlflow_tracking_uri" in out:
        out["mlflow_tracking_uri"] = _local_uri_under(out["mlflow_tracking_uri"], Path(root))
    return out


def _local_uri_under(uri: str, root: Path) -> str:
    """``uri`` with a relative local path made absolute under ``root``; ApiError 400 if it
    names a scheme a request may not use, or a local path outside ``root``."""
    scheme = uri.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", uri) else ""
    if scheme and scheme not in REQUEST_SCHEMES:
        raise ApiError(
            400,
            "BAD_SETTINGS",
            f"a tracking URI with scheme {scheme!r} cannot be chosen from the browser; "
            f"allowed: {', '.join(REQUEST_SCHEMES)}",
            "leave the setting empty to use the server's MLFLOW_TRACKING_URI",
        )
    if scheme in ("http", "https"):
        return uri
    if scheme == "sqlite":
        if not uri.startswith("sqlite:///"):
            raise ApiError(400, "BAD_SETTINGS", "a sqlite URI looks like sqlite:///mlflow.db")
        text, prefix = uri[len("sqlite:///") :], "sqlite:///"
    elif scheme == "file":
        text, prefix = unquote(urlsplit(uri).path), ""
    else:
        text, prefix = uri, ""
    path = Path(text) if Path(text).is_absolute() else root / text
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise ApiError(
            400,
            "BAD_SETTINGS",
            f"the tracking store {text!r} lies outside the server's root directory; a "
            "request may only create tracking files under it",
            "use a path under the Jupyter root (e.g. sqlite:///mlflow.db) or set "
            "MLFLOW_TRACKING_URI in the server's environment",
        )
    return prefix + str(path) if prefix else str(path)


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return obj


class Job:
    """One sync: what was asked, how far it got, how it ended."""

    def __init__(self, target: str, plan: list[tuple[str, list[str] | None]]) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.target = target
        self.plan = plan  # [(store rel, ids or None for all pending)]
        self.state = "queued"
        self.progress: dict[str, Any] = {"done": 0, "total": None, "message": "waiting"}
        self.result: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.started = time.time()
        self.finished: float | None = None

    def on_progress(self, *args: Any, **kwargs: Any) -> None:
        """Accepts ``(done, total[, message])``, a dict, or keywords from the sync engine."""
        update: dict[str, Any] = {}
        if args and isinstance(args[0], dict):
            update.update(args[0])
        else:
            numbers = [a for a in args if isinstance(a, (int, float))]
            words = [a for a in args if isinstance(a, str)]
            if numbers:
                update["done"] = numbers[0]
            if len(numbers) > 1:
                update["total"] = numbers[1]
            if words:
                update["message"] = " ".join(words)
        update.update(kwargs)
        self.progress = {**self.progress, **_jsonable(update)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.id,
            "target": self.target,
            "state": self.state,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "started": self.started,
            "finished": self.finished,
        }


class SyncJobs:
    """Starts jobs on one worker thread and remembers the latest ``KEEP_JOBS``."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vl-jupyter-sync")

    def plan(self, ids: list[str] | None, store: str | None) -> list[tuple[str, list[str] | None]]:
        """Which store each record lives in; ``ids=None`` is every pending record."""
        if ids is None:
            stores = [self.catalogue.store(store)] if store else self.catalogue.stores()
            if not stores:
                raise ApiError(
                    404,
                    "NO_EVIDENCE",
                    "there is no evidence to sync under the server's root directory",
                    "run a notebook cell that calls vl.enforce() or %%vl_monitor first",
                )
            return [(s.rel, None) for s in stores]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "BAD_IDS", "ids must be a non-empty list of record ids, or null")
        by_store: dict[str, list[str]] = {}
        for rid in dict.fromkeys(ids):
            _rec, where = self.catalogue.find(rid, store)
            by_store.setdefault(where.rel, []).append(rid)
        return list(by_store.items())

    def start(self, target: str, plan: list, settings: dict[str, str], force: bool) -> Job:
        try:
            import vl_jupyter.trackers  # noqa: F401
        except ImportError as err:
            raise ApiError(
                503,
                "SYNC_UNAVAILABLE",
                f"the sync engine could not be loaded: {err}",
                "reinstall vl-jupyter with its tracker extras: pip install 'vl-jupyter[all]'",
            ) from None
        job = Job(target, plan)
        with self._lock:
            self.jobs[job.id] = job
            for old in list(self.jobs)[:-KEEP_JOBS]:
                del self.jobs[old]
        self._pool.submit(self._run, job, settings, force)
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "JOB_NOT_FOUND", f"no sync job {job_id!r} (the server restarted?)")
        return job

    def _run(self, job: Job, settings: dict[str, str], force: bool) -> None:
        from ..trackers import sync

        job.state = "running"
        merged: dict[str, Any] = {"synced": [], "skipped": [], "runs": [], "messages": []}
        try:
            for rel, ids in job.plan:
                store = self.catalogue.store(rel)
                job.on_progress(message=f"syncing {rel} to {job.target}")
                result = _jsonable(
                    sync(
                        target=job.target,
                        ids=ids,
                        force=force,
                        evidence_dir=store.path,
                        settings=settings,
                        progress=job.on_progress,
                        from_request=True,
                    )
                )
                for key in merged:
                    merged[key].extend(result.get(key) or [])
            job.result = merged
            job.state = "done"
            job.progress = {**job.progress, "message": "done"}
        except SyncError as err:
            job.error, job.state = err.to_dict(), "error"
            job.result = merged
        except (VLError, ApiError) as err:
            job.error, job.state = err.to_dict(), "error"
        except Exception as err:  # a bug or a tracker library failure: report, keep serving
            from ..trackers import redact

            # the text may quote the tracking URI: only its redacted form is logged
            log.error("vl_jupyter: sync job %s failed: %s", job.id, redact(repr(err)))
            log.debug("vl_jupyter: sync job %s traceback", job.id, exc_info=True)
            job.error = {
                "code": "SYNC_FAILED",
                "message": redact(f"{type(err).__name__}: {err}"),
                "hint": "see the Jupyter server log for the traceback",
            }
            job.state = "error"
        finally:
            job.finished = time.time()
            self.catalogue.invalidate()
