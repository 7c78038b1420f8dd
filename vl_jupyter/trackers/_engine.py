"""``sync()``: push pending evidence records to each tracker, once.

Per target, under that target's sync lock (inter-process):

1. read the ledger; the records to push are those asked for (or all), minus ``sync``
   records, minus those the ledger says are already in this tracker (unless ``force``);
2. group them by run (the session's run, the user's active run, or a new one);
3. per group: build the bundle, log it (batched), append a ``sync`` ledger record.

A tracker that is missing, unreachable or refusing raises :class:`SyncError` naming the
target, the cause and the records still pending; groups logged before the failure stay
logged and recorded, so the next sync carries on where this one stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, SyncError
from ..evidence import EvidenceRecord, EvidenceStore
from . import _bundle, _ledger
from ._progress import Progress
from ._result import SyncedRecord, SyncResult
from ._settings import credentials, find_project_dir, resolve_settings, secret_values
from ._target import Unavailable, describe

TARGETS = ("mlflow", "wandb")


def parse_targets(target: str | Iterable[str]) -> list[str]:
    names = target.split(",") if isinstance(target, str) else list(target)
    names = [n.strip().lower() for n in names if n and n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise ValueError(
            f"unknown sync target {', '.join(unknown) or repr(target)}; use mlflow, wandb "
            "or mlflow,wandb"
        )
    return list(dict.fromkeys(names))


def _adapter(name: str, settings: dict[str, Any], run: Any) -> Any:
    if name == "mlflow":
        from ._mlflow import MlflowTarget

        return MlflowTarget(settings, _run_for("mlflow", run))
    from ._wandb import WandbTarget

    return WandbTarget(settings, _run_for("wandb", run))


def _run_for(target: str, run: Any) -> Any:
    """``run`` if it belongs to ``target`` (a str id counts as an MLflow run id)."""
    if run is None:
        return None
    is_wandb = type(run).__module__.startswith("wandb")
    if target == "wandb":
        return run if is_wandb else None
    return None if is_wandb else run


def candidates(
    store: EvidenceStore, ids: Iterable[str] | None, result: SyncResult
) -> list[EvidenceRecord]:
    """The records a sync may push, oldest first; never ``sync`` records themselves."""
    if ids is not None:
        ids = [ids] if isinstance(ids, str) else list(ids)
        chosen = [store.get(i) for i in dict.fromkeys(ids)]
        chosen.sort(key=lambda r: r.seq)
    else:
        chosen = list(store.records())[::-1]
    usable = []
    for rec in chosen:
        if rec.kind == _ledger.KIND:
            continue
        try:
            _ = rec.data  # re-checks the record's hash: an edited record is never forwarded
        except EvidenceError as exc:
            result.messages.append(f"not synced: {exc}")
            continue
        usable.append(rec)
    return usable


def sync(
    target: str = "mlflow",
    ids: Iterable[str] | None = None,
    run: Any = None,
    *,
    force: bool = False,
    evidence_dir: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: bool | Callable[[int, int], None] | None = None,
) -> SyncResult:
    """Push evidence records not yet in the tracker(s) and return what was logged.

    ``target`` is ``"mlflow"``, ``"wandb"`` or both (``"mlflow,wandb"``); ``ids`` limits
    the sync to those records; ``run`` is an MLflow run (or run id) or a W&B run to log
    into (default: the active one, else one run per evidence session in MLflow and one
    new run in W&B); ``force`` logs again into the same runs. Raises :class:`SyncError`
    when a target cannot be used; the records stay pending and a later sync succeeds.

    Example::

        >>> # skipped in the doctests: imports MLflow (~10 s) and writes ./mlflow.db
        >>> result = vl_jupyter.sync("mlflow")          # doctest: +SKIP
        >>> result.runs[0]["url"]                       # doctest: +SKIP
        'sqlite:////home/me/project/mlflow.db/#/experiments/1/runs/5f0c...'
    """
    names = parse_targets(target)
    store = EvidenceStore(evidence_dir)
    folder = find_project_dir()
    resolved = resolve_settings(settings, folder)
    result = SyncResult()
    chosen = candidates(store, ids, result)
    failures: list[SyncError] = []
    for name in names:
        try:
            _sync_target(name, store, folder, resolved, chosen, run, force, progress, result)
        except SyncError as exc:
            failures.append(exc)
    if failures:
        error = failures[0]
        if len(failures) > 1:
            error = SyncError(
                "; ".join(f.message for f in failures),
                target=",".join(f.target for f in failures),
                pending=sorted({p for f in failures for p in f.pending}),
            )
        error.result = result  # type: ignore[attr-defined]  # what did get through
        raise error
    return result


def _sync_target(
    name: str,
    store: EvidenceStore,
    folder: Path,
    settings: dict[str, Any],
    chosen: list[EvidenceRecord],
    run: Any,
    force: bool,
    progress: Any,
    result: SyncResult,
) -> None:
    with credentials(folder):
        adapter = _adapter(name, settings, run)
        where = adapter.location

        def fail(cause: str, pending: list[str]) -> SyncError:
            return SyncError(
                f"cannot sync to {name} at {where}: {cause}; {len(pending)} record(s) left pending",
                target=name,
                pending=pending,
                hint="fix the cause and sync again: nothing is lost",
            )

        with adapter.env():
            try:
                adapter.prepare()
            except Unavailable as exc:
                raise fail(str(exc), _pending(store, name, where, chosen, force)) from None
            except Exception as exc:
                raise fail(describe(exc), _pending(store, name, where, chosen, force)) from None
            with _ledger.sync_lock(store, name):
                ledger = _ledger.Ledger(store)
                todo = []
                for rec in chosen:
                    if not force and ledger.get(name, where, rec.id) is not None:
                        result.skipped.append(rec.id)
                    else:
                        todo.append(rec)
                bar = Progress(progress, len(todo), f"sync to {name}")
                done = 0
                secrets = secret_values(folder)
                try:
                    for group in adapter.group(todo, ledger, force):
                        earlier = _earlier(store, ledger, name, where, group.run_id, group.records)
                        bundle = _bundle.build(
                            store,
                            group.records,
                            anchor=store.head(),
                            secrets=secrets,
                            report_records=earlier + group.records,
                        )
                        sessions = group.sessions or [r.session for r in group.records]

                        def created(run_id: str, sessions: list[str] = sessions) -> None:
                            for sid in set(sessions):
                                _ledger.remember_open_run(store, name, where, sid, run_id)

                        try:
                            run_id, url = adapter.log(group, bundle, created)
                        except Exception as exc:
                            logged = {s.record_id for s in result.synced if s.target == name}
                            pending = [r.id for r in todo if r.id not in logged]
                            raise fail(describe(exc), pending) from None
                        ledger.append(
                            target=name,
                            location=where,
                            run_id=run_id,
                            url=url,
                            records=group.records,
                            anchor=bundle.anchor,
                            forced=force,
                            extra={"redacted": bundle.redacted} if bundle.redacted else None,
                        )
                        result.synced.extend(
                            SyncedRecord(r.id, name, where, run_id, url) for r in group.records
                        )
                        result.runs.append(
                            {
                                "target": name,
                                "run_id": run_id,
                                "url": url,
                                "location": where,
                                "records": [r.id for r in group.records],
                            }
                        )
                        done += len(group.records)
                        bar(done)
                finally:
                    bar.close()
                    result.messages.extend(getattr(adapter, "messages", list)())


def _pending(
    store: EvidenceStore, name: str, where: str, chosen: list[EvidenceRecord], force: bool
) -> list[str]:
    if force:
        return [r.id for r in chosen]
    try:
        ledger = _ledger.Ledger(store)
    except Exception:
        return [r.id for r in chosen]
    return [r.id for r in chosen if ledger.get(name, where, r.id) is None]


def _earlier(
    store: EvidenceStore,
    ledger: _ledger.Ledger,
    name: str,
    where: str,
    run_id: str | None,
    records: list[EvidenceRecord],
) -> list[EvidenceRecord]:
    """Records already logged to ``run_id``, for a report that covers the whole run."""
    if run_id is None:
        return []
    new = {r.id for r in records}
    out = []
    for rid in dict.fromkeys(ledger.records_of_run(name, where, run_id)):
        if rid in new:
            continue
        try:
            out.append(store.get(rid))
        except EvidenceError:
            continue
    return sorted(out, key=lambda r: r.seq)[-50:]
