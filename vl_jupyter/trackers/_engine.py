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
from ._redact import redact
from ._registry import Tracker, parse_targets, specs, tracker_spec
from ._result import SyncedRecord, SyncResult
from ._settings import credentials, find_project_dir, resolve_settings, secret_values
from ._target import Unavailable, describe


def _adapter(name: str, settings: dict[str, Any], run: Any) -> Tracker:
    """The registered tracker's adapter for one sync; ``run`` only if it is one of its."""
    spec = tracker_spec(name)
    return spec.factory(settings, run if run is not None and spec.owns_run(run) else None)


def candidates(
    store: EvidenceStore, ids: Iterable[str] | None, result: SyncResult
) -> list[EvidenceRecord]:
    """The records a sync may push, oldest first; never ``sync`` records themselves."""
    if ids is not None:
        ids = [ids] if isinstance(ids, str) else list(ids)
        chosen = [store.get(i) for i in dict.fromkeys(ids)]
        chosen.sort(key=lambda r: r.seq)
    else:
        listed, skipped = store.listing()
        chosen = listed[::-1]
        result.messages.extend(f"not synced: {why}" for why in skipped)
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


def withhold_credentials(settings: Mapping[str, Any] | None, folder: Path) -> bool:
    """Whether ``settings`` (from a request) point a tracker anywhere but where the server
    itself is configured to sync: then the server's credentials must not go with it."""
    for spec in specs():
        key = spec.endpoint_key
        if key is None:
            continue
        asked = (settings or {}).get(key)
        if not asked:
            continue
        configured = resolve_settings(None, folder)[key]
        if resolve_settings({key: asked}, folder)[key] != configured:
            return True
    return False


def sync(
    target: str = "mlflow",
    ids: Iterable[str] | None = None,
    run: Any = None,
    *,
    force: bool = False,
    evidence_dir: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: bool | Callable[[int, int], None] | None = None,
    from_request: bool = False,
) -> SyncResult:
    """Push evidence records not yet in the tracker(s) and return what was logged.

    ``target`` is ``"mlflow"``, ``"wandb"`` or both (``"mlflow,wandb"``), or any
    tracker registered with :func:`~vl_jupyter.trackers.register_tracker`; ``ids`` limits
    the sync to those records; ``run`` is an MLflow run (or run id) or a W&B run to log
    into (default: the active one, else one run per evidence session in MLflow and one
    new run in W&B); ``force`` logs again into the same runs. ``from_request`` says the
    settings came from a web request (the Jupyter server's sync API): credentials from
    the environment or ``.env`` then go only to the tracking URI the server is configured
    with, never to one the request chose. Raises :class:`SyncError`
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
    withhold = from_request and withhold_credentials(settings, folder)
    result = SyncResult()
    chosen = candidates(store, ids, result)
    failures: list[SyncError] = []
    for name in names:
        try:
            _sync_target(
                name, store, folder, resolved, chosen, run, force, progress, result, withhold
            )
        except SyncError as exc:
            failures.append(exc)
    if failures:
        error = failures[0]
        if len(failures) > 1:  # one clause per cause, the pending count once
            pending = sorted({p for f in failures for p in f.pending})
            causes = "; ".join(getattr(f, "cause_text", f.message) for f in failures)
            error = SyncError(
                f"{causes}; {len(pending)} record(s) left pending",
                target=",".join(f.target for f in failures),
                pending=pending,
                hint=failures[0].hint,
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
    withhold: bool = False,
) -> None:
    secrets = secret_values(folder)  # before any are withheld: they are scrubbed regardless
    # only a tracker whose endpoint a request can choose has credentials to withhold
    with credentials(folder, withhold=withhold and tracker_spec(name).endpoint_key is not None):
        adapter = _adapter(name, settings, run)
        where = adapter.location

        def fail(cause: str, pending: list[str]) -> SyncError:
            text = f"cannot sync to {name} at {where}: {redact(cause)}"
            error = SyncError(
                f"{text}; {len(pending)} record(s) left pending",
                target=name,
                pending=pending,
                hint="fix the cause and sync again: nothing is lost",
            )
            error.cause_text = text  # type: ignore[attr-defined]  # for a combined error
            return error

        with adapter.env():
            try:
                adapter.prepare()
            except Unavailable as exc:
                raise fail(str(exc), _pending(store, name, where, chosen, force)) from None
            except Exception as exc:
                raise fail(describe(exc), _pending(store, name, where, chosen, force)) from None
            with _ledger.sync_lock(store, name):
                ledger = _ledger.Ledger(store)
                if _reconcile(adapter, store, ledger, name, where, result):
                    ledger = _ledger.Ledger(store)
                todo = []
                for rec in chosen:
                    if not force and ledger.get(name, where, rec.id) is not None:
                        result.skipped.append(rec.id)
                    else:
                        todo.append(rec)
                bar = Progress(progress, len(todo), f"sync to {name}")
                done = 0
                try:
                    for group in adapter.group(todo, ledger, force):
                        if not group.records:  # nothing pending for the user's run
                            continue
                        earlier = _earlier(store, ledger, name, where, group.run_id, group.records)
                        bundle = _bundle.build(
                            store,
                            group.records,
                            anchor=store.head(),
                            secrets=secrets,
                            report_records=earlier + group.records,
                        )
                        sessions = group.sessions or [r.session for r in group.records]
                        bundle.intent = ledger.intend(
                            target=name, location=where, run_id=group.run_id,
                            records=group.records,
                        )  # fmt: skip

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
                            intent=bundle.intent,
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
                    result.messages.extend(adapter.messages())


def _reconcile(
    adapter: Tracker,
    store: EvidenceStore,
    ledger: _ledger.Ledger,
    name: str,
    where: str,
    result: SyncResult,
) -> bool:
    """Finish what a killed sync left: for each open intent whose run the tracker shows
    as completely logged (the intent's tag), record it in the ledger without logging it
    again, and close the run if it was left RUNNING. An intent the tracker cannot confirm
    leaves its records pending: they are logged again, into the same run. True if the
    ledger changed."""
    changed = False
    for intent, data in ledger.open_intents(name, where):
        sessions = [s for s in data.get("sessions") or [] if isinstance(s, str)]
        known = data.get("run_id") or next(
            (ledger.run_for_session(name, where, s) for s in sessions), None
        )
        try:
            run_id = adapter.intent_run(intent, known)
        except Exception as exc:  # cannot tell: the records stay pending and go again
            result.messages.append(
                f"could not check an interrupted sync in {name}: {describe(exc)}"
            )
            continue
        if run_id is None:
            continue
        records = []
        for rid in data["records"]:
            if ledger.get(name, where, rid) is None:
                try:
                    records.append(store.get(rid))
                except EvidenceError:
                    continue
        if records:
            ledger.append(
                target=name,
                location=where,
                run_id=run_id,
                url=adapter.run_url(run_id),
                records=records,
                anchor=None,
                forced=False,
                extra={"reconciled": True},
                intent=intent,
            )
            changed = True
            result.messages.append(
                f"{len(records)} record(s) logged to {name} run {run_id} by an interrupted "
                "sync were recorded as synced (not logged again)"
            )
        adapter.close_run(run_id)
    return changed


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
