"""FROZEN BASELINE for benchmarks/bench_bytes.py: the enforce record writer as it was
before policy blobs (commit 027666b), kept only to measure the old layout beside the new
one in the same run. Not used by the package.

What it did differently: every enforce record carried the whole policy text
(``data.policy.text``), and ``results.json`` / ``runs/<run_id>/results.json`` were written
with ``json.dumps(entry, indent=2)`` per entry. Everything else (the record's other
fields, the bounded replace-by-``result_key`` rule, the index line) is the package's own,
called as it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vl_jupyter import environment
from vl_jupyter.enforcement._record import _notify, result_key, sdk_record
from vl_jupyter.evidence import EvidenceStore, _files, current_session, open_run, to_jsonable
from vl_jupyter.evidence._runs import max_results


def _entry_text(entry: Any) -> str:
    return json.dumps(to_jsonable(entry, "results.json"), ensure_ascii=False, indent=2)


def _accumulate(store: EvidenceStore, relpath: str, entries: list[dict[str, Any]]) -> None:
    """The old results-file rule (replace by result_key, keep the newest N), indented."""
    target = _files.check_relpath(store.root, relpath)
    texts: dict[str, str] = {}
    if target.exists():
        for i, entry in enumerate(json.loads(target.read_bytes())):
            texts[str(entry.get("result_key") or f"unkeyed-{i}")] = _entry_text(entry)
    for entry in entries:
        texts.pop(str(entry["result_key"]), None)
        texts[str(entry["result_key"])] = _entry_text(entry)
    kept = list(texts.values())[-max_results() :]
    body = ",\n".join(kept)
    payload = ("[\n" + body + "\n]\n" if body else "[]\n").encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    _files.write_atomic(target, payload, 0o644, durable=False)


def record_report(
    report: Any,
    *,
    evidence_dir: str | Path | None = None,
    duration_s: float = 0.0,
    git: dict[str, Any] | None = None,
) -> str:
    """``vl_jupyter.enforcement._record.record_report`` at 027666b."""
    store = EvidenceStore(evidence_dir)
    digest = (report.data or {}).get("content_hash")
    for r in report:
        if digest and "partition_digest" not in r.metadata:
            r.metadata["partition_digest"] = digest
    data = report.to_dict()
    data["policy"] = report.policy  # the snapshot kept the full policy text
    data["duration_s"] = duration_s
    data["environment"] = environment.software()
    data["git"] = git
    data["working_directory"] = str(Path.cwd())
    data["origin"] = environment.origin()
    run_id = current_session()
    with store.lock():
        summary = {**report.summary(), **data["origin"]}
        record = store.append("enforce", data, session=run_id, summary=summary)
        sdk_results = [
            {**sdk_record(r), "result_key": result_key(report, r), "evidence_id": record.id}
            for r in report
            if r.status != "skipped"
        ]
        files = ["results.json"]
        if run_id is not None:
            open_run(store, run_id)
            files.insert(0, f"runs/{run_id}/results.json")
        for one in files:
            _accumulate(store, one, sdk_results)
    report.evidence_id = record.id
    report.session = record.session
    for r in [*report, *report.skipped]:
        r.evidence_id = record.id
    _notify(report, evidence_dir)
    return record.id
