"""FROZEN BASELINE for benchmarks/bench_evidence.py: verify() as it was before the
streaming, checkpointed one (commit c03b48b), kept only to measure the old path beside
the new one in the same run. Not used by the package.

``verify()``: re-derive every hash, walk the chain, and hold the index against the files.

Problem codes (each message names the record id, its seq and its file):

- ``edited``: a record's content no longer matches its own hash.
- ``truncated``: a record file is not valid JSON (cut short or overwritten).
- ``malformed``: a record file is JSON but not a record (fields missing).
- ``deleted``: a seq is missing from the chain (no file), or the index lists a missing file.
- ``broken_link``: a record's ``prev_hash`` is not the hash of the record before it.
- ``reordered``: a file's name says one seq and its content another (files renamed/swapped).
- ``renamed``: a file's name says one id and its content another.
- ``duplicate_seq``: two record files claim the same seq.
- ``unexpected_file``: a file in ``records/`` that is not a record file name.
- ``missing_index``: a record file with no index line (other than the benign case below).
- ``index_mismatch``: an index line disagrees with its record file, or is duplicated.
- ``index_corrupt``: an index line (other than the last) that is not a valid entry: not
  JSON, fields missing or mistyped, or a ``file``/id/session that would lead outside the
  store (``../``, an absolute path); the message names the record where it can.
- ``outside_store``: a record file or ``records/`` itself is a symlink (never followed), or
  the index cannot be opened as a plain file.

Notes (benign, ``ok`` stays True): ``unindexed_tail`` -- exactly one record file beyond the
index head that continues the chain and is named by the pending marker (a writer killed
between placing the record and indexing it; the next append indexes it); ``partial_index_line`` -- a last index line
without its newline (a writer killed mid-append; the next append trims it);
``temp_file`` -- a killed writer's temp file (the next append deletes it).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from vl_jupyter.evidence import _files, _lock
from vl_jupyter.evidence._jsonable import record_hash
from vl_jupyter.evidence._record import GENESIS, RECORD_KEYS, Problem, VerifyResult

if TYPE_CHECKING:
    from vl_jupyter.evidence import EvidenceStore

_COMPARED = ("id", "kind", "created", "session", "hash", "prev_hash", "summary")


class _Findings:
    """Collects problems and notes; each finding names a record and its file."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.notes: list[Problem] = []

    def problem(
        self,
        code: str,
        msg: str,
        rid: str | None = None,
        seq: int | None = None,
        file: str | None = None,
    ) -> None:
        self.problems.append(Problem(rid, seq, code, msg, file))

    def note(
        self,
        code: str,
        msg: str,
        rid: str | None = None,
        seq: int | None = None,
        file: str | None = None,
    ) -> None:
        self.notes.append(Problem(rid, seq, code, msg, file))


def verify_store(store: EvidenceStore) -> VerifyResult:
    """Verify ``store``; see the module docstring for the problem codes."""
    out = _Findings()
    files: dict[int, str] = {}  # seq (from the file name) -> file name
    docs: dict[int, dict[str, Any]] = {}  # seq (from the file name) -> parsed record
    with _lock.shared(store.lock_path):
        index = _read_index(store, out)
        outside = _files.records_dir_problem(store.records_dir)
        if outside is not None:  # never list (or read) what a symlinked records/ points at
            out.problem("outside_store", outside, file="records")
            names = []
        else:
            names = sorted(os.listdir(store.records_dir)) if store.records_dir.is_dir() else []
        for name in names:
            _check_file(store, name, files, docs, out)
        pending = _pending_name(store)
    idx_max = max(index, default=0)
    unindexed = [s for s in files if s not in index]
    for seq in range(1, max([idx_max, *files], default=0) + 1):
        name, doc, entry = files.get(seq), docs.get(seq), index.get(seq)
        rel = f"records/{name}" if name else None
        label = _label(seq, doc, entry, rel)
        if name is None:
            if entry:
                msg = f"{label} is listed by the index but its file is missing: deleted"
            else:
                msg = f"the record with seq {seq} is missing (no file, no index line): deleted"
            out.problem("deleted", msg, entry and entry["id"], seq, rel)
            continue
        if doc is None:
            continue  # unreadable: already reported
        prev = docs.get(seq - 1)
        expected = GENESIS if seq == 1 else prev["hash"] if prev else None
        if expected is not None and doc["prev_hash"] != expected:
            msg = f"{label} does not link to the record before it (its prev_hash is not the "
            msg += f"hash of seq {seq - 1}): a record was replaced, removed or reordered"
            out.problem("broken_link", msg, doc["id"], seq, rel)
        if entry is not None:
            _compare(entry, doc, name, label, rel, out)
        elif unindexed == [seq] == [idx_max + 1] and pending == name and expected is not None:
            msg = f"{label} has no index line: a write was interrupted after the record was "
            out.note(
                "unindexed_tail", msg + "placed; the next append indexes it", doc["id"], seq, rel
            )
        else:
            msg = f"{label} has no index line: the index was edited or lost"
            out.problem("missing_index", msg, doc["id"], seq, rel)
    head = (index[idx_max]["seq"], index[idx_max]["hash"]) if index else None
    return VerifyResult(not out.problems, len(files), out.problems, out.notes, head)


def _pending_name(store: EvidenceStore) -> str | None:
    """The record file the pending marker names (an interrupted write), if any."""
    try:
        doc = json.loads((store.records_dir / _files.PENDING).read_bytes())
        return f"{doc['seq']:08d}_{doc['id']}.json"
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _read_index(store: EvidenceStore, out: _Findings) -> dict[int, dict[str, Any]]:
    index: dict[int, dict[str, Any]] = {}
    try:
        raw = _files.read_nofollow(store.index_path)
    except FileNotFoundError:
        return index
    except OSError as exc:
        out.problem("outside_store", f"index.jsonl cannot be read ({exc})", file="index.jsonl")
        return index
    lines = raw.split(b"\n")
    if lines[-1]:
        msg = "index.jsonl ends with a partial line: a write was interrupted; the next "
        out.note("partial_index_line", msg + "append trims it", file="index.jsonl")
    last = 0
    for n, line in enumerate(lines[:-1], start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        why = _files.entry_problem(entry)
        if why is not None:
            rid = entry.get("id") if isinstance(entry, dict) else None
            msg = f"index.jsonl line {n} is not a valid index entry: {why}"
            out.problem("index_corrupt", msg, rid if isinstance(rid, str) else None,
                        file="index.jsonl")  # fmt: skip
            continue
        seq = entry["seq"]
        if seq in index or seq <= last:
            msg = (
                f"index.jsonl line {n} lists seq {seq} (record {entry['id']}) again or out of order"
            )
            out.problem("index_mismatch", msg, entry["id"], seq, "index.jsonl")
            continue
        index[seq] = entry
        last = seq
    return index


def _check_file(store: EvidenceStore, name: str, files: dict[int, str],
                docs: dict[int, dict[str, Any]], out: _Findings) -> None:  # fmt: skip
    """Read one file of ``records/``: name, JSON, fields, own hash, name vs content."""
    rel = f"records/{name}"
    if name.startswith(_files.TMP_PREFIX):
        msg = f"{rel} is a temp file left by an interrupted write; the next append deletes it"
        out.note("temp_file", msg, file=rel)
        return
    match = _files.RECORD_RE.match(name)
    if not match:
        msg = f"{rel} is not a record file name (renamed or foreign file)"
        out.problem("unexpected_file", msg, file=rel)
        return
    seq, rid = int(match[1]), match[2]
    what = f"record {rid} (seq {seq}, {rel})"
    if seq in files:
        msg = f"{rel} and records/{files[seq]} both claim seq {seq}"
        out.problem("duplicate_seq", msg, rid, seq, rel)
        return
    files[seq] = name
    path = store.records_dir / name
    if os.path.islink(path):
        msg = f"{what} is a symlink (to {os.readlink(path)!r}): it is never followed"
        out.problem("outside_store", msg, rid, seq, rel)
        return
    try:
        doc = json.loads(_files.read_nofollow(path))
    except (OSError, ValueError) as exc:
        out.problem("truncated", f"{what} is not valid JSON: {exc}", rid, seq, rel)
        return
    if not isinstance(doc, dict) or not doc.keys() >= RECORD_KEYS:
        out.problem("malformed", f"{what} lacks record fields", rid, seq, rel)
        return
    docs[seq] = doc
    if record_hash(doc) != doc["hash"]:
        msg = f"{what} was edited after it was written: its content does not match its hash"
        out.problem("edited", msg, rid, seq, rel)
    if doc["seq"] != seq:
        msg = f"{rel} holds record {doc['id']} with seq {doc['seq']}, not seq {seq}: "
        out.problem(
            "reordered", msg + "record files were renamed or reordered", doc["id"], seq, rel
        )
    elif doc["id"] != rid:
        msg = f"{rel} holds record {doc['id']}, not record {rid}: the file was renamed"
        out.problem("renamed", msg, doc["id"], seq, rel)


def _compare(entry: dict[str, Any], doc: dict[str, Any], name: str, label: str, rel: str,
             out: _Findings) -> None:  # fmt: skip
    """Hold one index line against its record file."""
    diffs = [k for k in _COMPARED if entry.get(k) != doc.get(k)]
    if entry.get("file") != name:
        diffs.append("file")
    if diffs:
        msg = f"the index line of {label} disagrees with the file on {', '.join(diffs)}"
        out.problem("index_mismatch", msg, doc["id"], doc["seq"], rel)


def _label(seq: int, doc: dict | None, entry: dict | None, rel: str | None) -> str:
    rid = (doc or {}).get("id") or (entry or {}).get("id") or "?"
    where = rel or (f"records/{entry['file']}" if entry else "no file")
    return f"record {rid} (seq {seq}, {where})"
