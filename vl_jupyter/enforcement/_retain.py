"""``vl.retain(results)``: declare which results are authoritative for a run.

The Venturalítica SDK's pipelines enforce broadly, then keep a subset (one partition, the
controls a release gate cares about) and declare it with ``vl.retain(filtered)``. The SDK
writes them to ``runs/<run_id>/retained_results.json`` with "re-declaring replaces" (one
entry per control and data partition, the last one wins), and its OSCAL assessment
results prefer that file over ``results.json``. Here the same file is written (outside a
run: ``.venturalitica/retained_results.json``), and a ``retain`` evidence record names the
results and their enforce records, so the declaration is as tamper-evident as the
results themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import EnforcementError
from ..evidence import EvidenceStore, accumulate_results, current_session, open_run
from ._record import sdk_record
from ._report import ControlResult, Report

FILE = "retained_results.json"


def _key(result: ControlResult, report: Report | None) -> str:
    """The SDK's identity of a retained result: control and data partition."""
    partition = result.metadata.get("partition_digest")
    if partition is None and report is not None:
        partition = (report.data or {}).get("content_hash")
    return f"{result.control_id}|{partition}"


def _entry(result: ControlResult, report: Report | None = None) -> dict[str, Any]:
    return {
        **sdk_record(result),
        "result_key": _key(result, report),
        "evidence_id": getattr(result, "evidence_id", None),
    }


def _entries(results: Any) -> list[dict[str, Any]]:
    if isinstance(results, Report):
        return [_entry(r, results) for r in results]
    if isinstance(results, ControlResult):
        results = [results]
    if not isinstance(results, Iterable) or isinstance(results, (str, bytes, dict)):
        raise EnforcementError(
            f"retain() takes a Report or a list of ControlResult, got {type(results).__name__}"
        )
    out = []
    for r in results:
        if isinstance(r, Report):
            out.extend(_entries(r))
        elif isinstance(r, ControlResult):
            out.append(_entry(r))
        else:
            raise EnforcementError(
                f"retain() got a {type(r).__name__}; give the ControlResults enforce returned"
            )
    return out


def retain(results: Any, *, evidence_dir: str | Path | None = None) -> Path:
    """Declare ``results`` (a Report, or ControlResults from one) authoritative for the
    current run; returns the ``retained_results.json`` written. An empty declaration is
    refused: retaining nothing would make an empty assessment look deliberate."""
    entries = _entries(results)
    if not entries:
        raise EnforcementError("retain() got no results; nothing would be declared")
    store = EvidenceStore(evidence_dir)
    run_id = current_session()
    relpath = f"runs/{run_id}/{FILE}" if run_id else FILE
    with store.lock():
        if run_id:
            open_run(store, run_id)
        path = accumulate_results(store, relpath, entries)
        store.append(
            "retain",
            {
                "file": relpath,
                "results": [
                    {k: e.get(k) for k in ("control_id", "result_key", "evidence_id", "passed")}
                    for e in entries
                ],
            },
            session=run_id,
            summary={"retained": len(entries), "file": relpath},
        )
    return path
