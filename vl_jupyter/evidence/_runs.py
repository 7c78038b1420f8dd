"""The run layout Venturalítica tooling reads: ``results.json``, ``runs/<run_id>/``,
``runs/latest`` and the writers other rooms register for a run's close.

- ``runs/<run_id>/results.json`` gathers the results of every ``enforce`` of one run (an
  evidence session: a ``monitor()`` block or ``%%vl_monitor`` cell), as the SDK's
  ``GovernanceSession.save_results`` does; ``.venturalitica/results.json`` gathers every
  result evaluated in this folder, as the SDK's ``enforce`` does. Both are derived views
  of the evidence records (which keep everything).
- Unlike the SDK's files they do not grow without bound: an entry carries a
  ``result_key`` (control, policy hash, data hash, bindings, phase), and a result with
  the key of an earlier one replaces it (re-checking the same batch adds nothing new),
  and each file keeps the newest :data:`MAX_RESULTS` entries.
- Each write costs what is new, not what is already there: the serialised entries are
  kept in memory per file and reused while the file on disk is the one this process
  wrote (same size, mtime and inode); another writer's change sends it back to disk.
- ``runs/latest`` is a relative symlink to the newest run's folder; where symlinks cannot
  be made it is a plain file holding the run id (:func:`latest_run` reads either).
- :func:`register_run_writer` lets another room add files to a run folder when the run
  closes (the telemetry room calls :func:`close_run`); a failing writer is a warning.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VLWarning
from . import _deferred, _files
from ._jsonable import to_jsonable

#: Entries kept per results file (newest first to survive); override with
#: ``VL_RESULTS_MAX``. The evidence records keep every result regardless.
MAX_RESULTS = 1000
RESULTS = "results.json"
LATEST = "latest"


def max_results() -> int:
    raw = os.environ.get("VL_RESULTS_MAX")
    try:
        return max(1, int(raw)) if raw else MAX_RESULTS
    except ValueError:
        return MAX_RESULTS


@dataclass
class _Cached:
    stat: tuple[int, int, int] | None
    texts: dict[str, str] = field(default_factory=dict)  # result_key -> serialised entry


_cache: dict[Path, _Cached] = {}
_cache_lock = threading.Lock()
_dropped_warned: set[Path] = set()


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _entry_text(entry: Any) -> str:
    """One entry as one compact line. The file is a JSON list like the SDK's, one entry a
    line: what ``json.load`` returns is unchanged, and the 2-space indentation it used to
    have was 35-40 % of the file's bytes (measured by ``benchmarks/bench_bytes.py``)."""
    return json.dumps(
        to_jsonable(entry, RESULTS), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def _load(path: Path) -> _Cached:
    cached = _Cached(_stat(path))
    try:
        found = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return cached
    if isinstance(found, dict):  # the SDK's bundle shape: {"metrics": [...], ...}
        found = found.get("metrics") if isinstance(found.get("metrics"), list) else []
    for i, entry in enumerate(found if isinstance(found, list) else []):
        key = entry.get("result_key") if isinstance(entry, dict) else None
        cached.texts[str(key or f"unkeyed-{i}")] = _entry_text(entry)
    return cached


def accumulate(store: Any, relpath: str | list[str], entries: list[dict[str, Any]]) -> Path:
    """Add ``entries`` (each with a ``result_key``) to the results file ``relpath`` (or to
    each of a list of them, serialising the entries once); returns the last file.

    Call under ``store.lock()``. An entry replaces the one with its key and moves to the
    end; the oldest entries beyond :func:`max_results` are dropped (warned once per file).
    """
    texts = [(str(e["result_key"]), _entry_text(e)) for e in entries]
    paths = [relpath] if isinstance(relpath, str) else list(relpath)
    target = store.root
    for one in paths:
        target = _write(store, one, texts)
    return target


def _write(store: Any, relpath: str, texts: list[tuple[str, str]]) -> Path:
    target = _files.check_relpath(store.root, relpath)
    with _cache_lock:
        cached = _cache.get(target)
        if cached is None or cached.stat != _stat(target):
            cached = _load(target)
        for key, text in texts:
            cached.texts.pop(key, None)
            cached.texts[key] = text
        limit = max_results()
        if len(cached.texts) > limit:
            for key in list(cached.texts)[: len(cached.texts) - limit]:
                del cached.texts[key]
            if target not in _dropped_warned:
                _dropped_warned.add(target)
                warnings.warn(
                    f"{relpath} keeps the newest {limit} results (VL_RESULTS_MAX); "
                    "every result stays in the evidence records",
                    VLWarning,
                    stacklevel=5,
                )
        body = ",\n".join(cached.texts.values())
        payload = ("[\n" + body + "\n]\n" if body else "[]\n").encode("utf-8")
        target.parent.mkdir(parents=True, exist_ok=True)
        _files.write_atomic(target, payload, 0o644, durable=False)
        cached.stat = _stat(target)
        _cache[target] = cached
    return target


# -- runs/latest ------------------------------------------------------------------
def open_run(store: Any, run_id: str) -> Path:
    """Create ``runs/<run_id>/`` and point ``runs/latest`` at it; returns the folder."""
    folder = _files.check_relpath(store.root, f"runs/{run_id}")
    folder.mkdir(parents=True, exist_ok=True)
    point_latest(folder.parent, run_id)
    return folder


def point_latest(runs: Path, run_id: str) -> str:
    """Make ``runs/latest`` name ``run_id``: ``"symlink"``, or ``"file"`` where symlinks
    fail (the file then holds the id). Atomic either way (a temp name, then replace)."""
    latest = runs / LATEST
    tmp = runs / f"{_files.TMP_PREFIX}latest.{os.getpid()}.{threading.get_ident()}"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(run_id, tmp, target_is_directory=True)
        kind = "symlink"
    except (OSError, NotImplementedError, AttributeError):
        tmp.write_text(run_id + "\n", encoding="utf-8")
        kind = "file"
    try:
        if latest.is_dir() and not latest.is_symlink():  # never replace a real folder
            tmp.unlink(missing_ok=True)
            return "folder"
        os.replace(tmp, latest)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return kind


def latest_run(root: str | Path) -> str | None:
    """The run id ``runs/latest`` names (symlink or file), or None."""
    _deferred.drain()  # a monitored cell points runs/latest at its run after the cell
    latest = Path(root) / "runs" / LATEST
    if latest.is_symlink():
        return os.readlink(latest).rstrip("/").rsplit("/", 1)[-1]
    if latest.is_file():
        return latest.read_text(encoding="utf-8").strip() or None
    return None


# -- writers called when a run closes -----------------------------------------------
RunWriter = Callable[[Path, dict[str, Any]], None]
_writers: dict[str, RunWriter] = {}


def register_run_writer(name: str, writer: RunWriter) -> None:
    """Call ``writer(run_folder, context)`` whenever a monitored run closes.

    ``context`` holds ``run_id``, ``name`` (the monitor's), ``store`` (the evidence root),
    ``telemetry`` (the record's data), ``telemetry_id``, ``results`` (the run's
    ``results.json`` entries), ``inputs``/``outputs`` (hashed artifacts) and
    ``index_offset`` (the index's size when the run opened: its records lie after it;
    see ``EvidenceStore.records_after``). Registering
    the same ``name`` again replaces the writer (idempotent imports).
    """
    if not callable(writer):
        raise TypeError(f"run writer {name!r} must be callable")
    _writers[str(name)] = writer


def has_run_writers() -> bool:
    return bool(_writers)


def unregister_run_writer(name: str) -> None:
    _writers.pop(str(name), None)


def close_run(
    folder: Path, context: dict[str, Any], report: Callable[[str], None] | None = None
) -> list[str]:
    """Run every registered writer for ``folder``; returns the names that failed (each
    also a VLWarning, or handed to ``report`` -- the deferred writer's, whose thread has
    nobody to show a warning to: a writer's bug never breaks the user's block)."""
    failed = []
    for name, writer in list(_writers.items()):
        try:
            writer(folder, context)
        except Exception as exc:
            failed.append(name)
            why = f"run writer {name!r} failed for {folder.name}: {type(exc).__name__}: {exc}"
            if report is not None:
                report(why)
            else:
                warnings.warn(why, VLWarning, stacklevel=3)
    return failed
