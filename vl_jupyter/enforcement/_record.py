"""Write a Report to the evidence store, plus the files Venturalítica tooling reads.

The evidence record is the source of truth. ``results.json`` (the latest enforce call)
and ``runs/<session>/results.json`` (every enforce call of one evidence session) are
derived copies in the record shape of the Venturalítica SDK, rewritten atomically.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .. import _context
from ..evidence import EvidenceStore, current_session
from ._report import ControlResult, Report


def sdk_record(result: ControlResult) -> dict[str, Any]:
    """One result in the Venturalítica ``results.json`` shape (``power`` included)."""
    meta = result.metadata
    ci = meta.get("ci") or {}
    groups = {g: v.get("n") for g, v in (meta.get("groups") or {}).items()}
    record = dataclasses.asdict(result)
    record["power"] = {
        "n": meta.get("n"),
        "groups": groups,
        "ci_low": ci.get("low"),
        "ci_high": ci.get("high"),
        "ci_level": ci.get("level"),
        "method": ci.get("method"),
        "n_boot": ci.get("n_boot"),
        "seed": ci.get("seed"),
    }
    return record


def record_report(
    report: Report,
    *,
    evidence_dir: str | Path | None = None,
    duration_s: float = 0.0,
    git: dict[str, Any] | None = None,
) -> str:
    """Append the report as an ``enforce`` record; set ``report.evidence_id``; return it."""
    store = EvidenceStore(evidence_dir)
    data = report.to_dict()
    data["policy"] = report.policy  # the snapshot keeps the full policy text
    data["duration_s"] = duration_s
    data["environment"] = _context.software()
    data["git"] = git
    data["working_directory"] = str(Path.cwd())
    data["origin"] = _context.origin()
    sdk_results = [sdk_record(r) for r in report]
    with store.lock():
        record = store.append("enforce", data, session=current_session(), summary=report.summary())
        run_file = f"runs/{record.session}/results.json"
        previous = store.read_json(run_file, default=[])
        store.write_json(run_file, [*previous, *sdk_results])
        store.write_json("results.json", sdk_results)
    report.evidence_id = record.id
    report.session = record.session
    return record.id
