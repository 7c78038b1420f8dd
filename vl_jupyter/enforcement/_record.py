"""Write a Report to the evidence store, plus the files Venturalítica tooling reads.

The evidence record is the source of truth. ``results.json`` (every result evaluated in
this folder) and ``runs/<run_id>/results.json`` (every result of one run) are derived
copies in the record shape of the Venturalítica SDK, bounded (see
:mod:`vl_jupyter.evidence._runs`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import environment
from ..errors import VLWarning
from ..evidence import (
    BLOB_SUMMARY_KEY,
    EvidenceStore,
    accumulate_results,
    blob_extension,
    current_session,
    open_run,
)
from ._report import ControlResult, Report


def sdk_record(result: ControlResult) -> dict[str, Any]:
    """One result in the Venturalítica ``results.json`` shape (``power`` included)."""
    record = dataclasses.asdict(result)
    record["power"] = result.power
    return record


def result_key(report: Report, result: ControlResult) -> str:
    """What makes two results "the same check": control, policy text, data, bindings and
    phase. A result with the key of an earlier one replaces it in the results files."""
    data = report.data or {}
    basis = {
        "control": result.control_id,
        "policy": report.policy.get("sha256"),
        "data": data.get("content_hash") or data.get("metrics"),
        "bindings": report.bindings,
        "phase": report.phase,
    }
    text = json.dumps(basis, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


#: Called with ``(report, evidence_dir)`` after a report's record is written (the
#: trackers room registers its autolog here, wired by the package facade).
_listeners: list[Callable[[Report, Any], Any]] = []


def on_recorded(listener: Callable[[Report, Any], Any]) -> None:
    """Register ``listener(report, evidence_dir)`` to run after every enforce record is
    written; registering the same function twice keeps one. A listener that raises is a
    VLWarning: it never breaks ``enforce``."""
    if listener not in _listeners:
        _listeners.append(listener)


def _notify(report: Report, evidence_dir: Any) -> None:
    for listener in list(_listeners):
        try:
            listener(report, evidence_dir)
        except Exception as exc:
            warnings.warn(
                f"after-record hook {getattr(listener, '__qualname__', listener)} failed: "
                f"{type(exc).__name__}: {exc}",
                VLWarning,
                stacklevel=4,
            )


def stored_policy(store: EvidenceStore, policy: dict[str, Any]) -> dict[str, Any]:
    """The policy as the record keeps it: its description, and the text by name.

    The text is the same for every enforce of one policy, so it is stored once, in the
    store's ``policies/<sha256>.<ext>`` (written before the record, durably), and the
    record names it in ``text_file``: 2-3 KB less per record. The record's hash covers
    the name, whose sha256 covers the text; ``vl.evidence.policy_text`` reads it back.
    """
    out = {k: v for k, v in policy.items() if k != "text"}
    text = policy.get("text")
    if isinstance(text, str):
        ext = blob_extension(policy.get("source"))
        out["text_file"] = store.put_blob(text, ext)
    return out


def record_report(
    report: Report,
    *,
    evidence_dir: str | Path | None = None,
    duration_s: float = 0.0,
    git: dict[str, Any] | None = None,
) -> str:
    """Append the report as an ``enforce`` record; set ``report.evidence_id``; return it.

    Then the derived files (see :mod:`vl_jupyter.evidence._runs`): the results go into
    ``.venturalitica/results.json`` and, inside a run (an evidence session), into
    ``runs/<run_id>/results.json``; skipped controls are left out of both, as the SDK
    leaves them out.
    """
    store = EvidenceStore(evidence_dir)
    digest = (report.data or {}).get("content_hash")
    for r in report:  # the SDK's name for "which data this result is about" (retain keys)
        if digest and "partition_digest" not in r.metadata:
            r.metadata["partition_digest"] = digest
    data = report.to_dict()
    data["duration_s"] = duration_s
    data["environment"] = environment.software()
    data["git"] = git
    data["working_directory"] = str(Path.cwd())
    data["origin"] = environment.origin()
    run_id = current_session()
    with store.lock():
        data["policy"] = stored_policy(store, report.policy)  # its blob first, then the record
        summary = {**report.summary(), **data["origin"]}  # the sidebar's heading
        source = (report.data or {}).get("source")
        if isinstance(source, dict):  # data an engine held: the listing tags the row with it
            summary["engine"], summary["source_kind"] = source.get("engine"), source.get("kind")
        if "text_file" in data["policy"]:  # so verify() finds the blob from the index
            summary[BLOB_SUMMARY_KEY] = data["policy"]["text_file"]
        record = store.append("enforce", data, session=run_id, summary=summary)
        sdk_results = [
            {**sdk_record(r), "result_key": result_key(report, r), "evidence_id": record.id}
            for r in report
            if r.status != "skipped"  # the SDK's files hold what was evaluated
        ]
        files = ["results.json"]
        if run_id is not None:
            open_run(store, run_id)
            files.insert(0, f"runs/{run_id}/results.json")
        accumulate_results(store, files, sdk_results)
    report.evidence_id = record.id
    report.session = record.session
    for r in [*report, *report.skipped]:
        r.evidence_id = record.id  # not a field: the record it is part of, for retain()
    _notify(report, evidence_dir)
    return record.id
