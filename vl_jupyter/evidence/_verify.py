"""``verify()``: re-derive every hash, walk the chain, and hold the index against the files.

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

from . import _blobs, _files, _lock
from ._jsonable import record_hash
from ._record import GENESIS, RECORD_KEYS, Problem, VerifyResult

if TYPE_CHECKING:
    from ._store import EvidenceStore

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


def verify_store(store: EvidenceStore, *, full: bool = False) -> VerifyResult:
    """Verify ``store``; see the module docstring for the problem codes.

    Streams: one record file is held at a time (the previous record's hash is all the
    chain check needs) and the index is kept as line offsets, so memory stays bounded
    whatever the store's size. Unless ``full``, the part of the chain a previous clean
    ``verify()`` covered is checked against its checkpoint (``_checkpoint``) instead of
    being re-hashed; a checkpoint that no longer matches the store is ignored and the whole
    store is verified.
    """
    from . import _checkpoint

    out = _Findings()
    with _lock.shared(store.lock_path):
        outside = _files.records_dir_problem(store.records_dir)
        if outside is not None:  # never list (or read) what a symlinked records/ points at
            out.problem("outside_store", outside, file="records")
            names = []
        else:
            names = sorted(os.listdir(store.records_dir)) if store.records_dir.is_dir() else []
        start = None if full or outside else _checkpoint.resume(store, names)
        blobs = _blobs.BlobRefs()
        head, checked, positions = _walk(store, names, out, start, blobs)
        out.problems += _blobs.verify_blobs(store.root, blobs, save=not out.problems)
        if not out.problems and head is not None and outside is None:
            _checkpoint.save(store, names, positions, start)
    return VerifyResult(not out.problems, checked, out.problems, out.notes, head)


def _walk(
    store: EvidenceStore, names: list[str], out: _Findings, start: Any, blobs: Any = None
) -> tuple[tuple[int, str] | None, int, dict[int, tuple[int, int, int]]]:
    """Check every record after ``start`` (a checkpoint, or None for the whole chain).

    Returns the index head ``(seq, hash)``, how many record files the result covers, and
    ``{seq: (offset, length, line number)}`` of the index lines read.
    """
    base_seq = start.seq if start else 0
    files: dict[int, str] = {}  # seq (from the file name) -> file name, beyond the start
    for listed in names:
        if start is not None:
            match = _files.RECORD_RE.match(listed)
            if not listed.startswith(_files.TMP_PREFIX) and (
                not match or int(match[1]) <= base_seq
            ):
                continue  # covered by the checkpoint's digest of records/
        _check_name(listed, files, out)
    positions = _read_index(store, out, start)
    pending = _pending_name(store)
    idx_max = max(positions, default=base_seq)
    unindexed = [s for s in files if s not in positions]
    prev_hash: str | None = start.hash if start else GENESIS
    checked = start.files if start else 0
    fd = _open_index(store)
    try:
        for seq in range(base_seq + 1, max([idx_max, *files], default=0) + 1):
            name = files.get(seq)
            entry = _entry_at(fd, positions.get(seq))
            if blobs is not None and entry is not None:
                blobs.note(entry, seq, None)  # the index line names the record's blob too
            doc = _check_file(store, seq, name, out) if name else None
            checked += name is not None
            rel = f"records/{name}" if name else None
            label = _label(seq, doc, entry, rel)
            expected, prev_hash = prev_hash, (doc["hash"] if doc else None)
            if name is None:
                if entry:
                    msg = f"{label} is listed by the index but its file is missing: deleted"
                else:
                    msg = f"the record with seq {seq} is missing (no file, no index line): deleted"
                out.problem("deleted", msg, entry["id"] if entry else None, seq, rel)
                continue
            if doc is None:
                continue  # unreadable: already reported
            if blobs is not None:  # the policy texts it names (checked after the walk)
                blobs.note(doc, seq, rel)
            if expected is not None and doc["prev_hash"] != expected:
                msg = f"{label} does not link to the record before it (its prev_hash is not "
                msg += f"the hash of seq {seq - 1}): a record was replaced, removed or reordered"
                out.problem("broken_link", msg, doc["id"], seq, rel)
            assert rel is not None  # set with name, which is set here
            if entry is not None:
                _compare(entry, doc, name, label, rel, out)
            elif unindexed == [seq] == [idx_max + 1] and pending == name and expected is not None:
                msg = f"{label} has no index line: a write was interrupted after the record "
                msg += "was placed; the next append indexes it"
                out.note("unindexed_tail", msg, doc["id"], seq, rel)
            else:
                msg = f"{label} has no index line: the index was edited or lost"
                out.problem("missing_index", msg, doc["id"], seq, rel)
        last = _entry_at(fd, positions.get(idx_max))
    finally:
        if fd is not None:
            os.close(fd)
    head: tuple[int, str] | None
    if last is not None:
        head = (last["seq"], last["hash"])
    else:
        head = (start.seq, start.hash) if start else None
    return head, checked, positions


def _open_index(store: EvidenceStore) -> int | None:
    try:
        return os.open(store.index_path, os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW)
    except OSError:
        return None


def _entry_at(fd: int | None, where: tuple[int, int, int] | None) -> dict[str, Any] | None:
    """The index entry whose line is at ``where`` (offset, length): parsed again on demand,
    so verify() never holds the whole index in memory."""
    if fd is None or where is None:
        return None
    return json.loads(os.pread(fd, where[1], where[0]))


def _pending_name(store: EvidenceStore) -> str | None:
    """The record file the pending marker names (an interrupted write), if any."""
    try:
        doc = json.loads((store.records_dir / _files.PENDING).read_bytes())
        return f"{doc['seq']:08d}_{doc['id']}.json"
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _read_index(
    store: EvidenceStore, out: _Findings, start: Any
) -> dict[int, tuple[int, int, int]]:
    """``{seq: (offset, length, line number)}`` of each valid index line after ``start``
    (offsets only: verify() never holds the whole index); reports damaged lines."""
    positions: dict[int, tuple[int, int, int]] = {}
    at, n = (start.offset, start.lines) if start else (0, 0)
    try:
        fd = os.open(store.index_path, os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW)
    except FileNotFoundError:
        return positions
    except OSError as exc:
        out.problem("outside_store", f"index.jsonl cannot be read ({exc})", file="index.jsonl")
        return positions
    last = start.seq if start else 0
    with open(fd, "rb") as fh:
        fh.seek(at)
        for line in fh:
            n += 1
            if not line.endswith(b"\n"):
                msg = "index.jsonl ends with a partial line: a write was interrupted; the next "
                out.note("partial_index_line", msg + "append trims it", file="index.jsonl")
                break
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
            else:
                seq = entry["seq"]
                if seq <= last:
                    msg = f"index.jsonl line {n} lists seq {seq} (record {entry['id']}) again "
                    out.problem("index_mismatch", msg + "or out of order", entry["id"], seq,
                                "index.jsonl")  # fmt: skip
                else:
                    positions[seq] = (at, len(line), n)
                    last = seq
            at += len(line)
    return positions


def _check_name(name: str, files: dict[int, str], out: _Findings) -> None:
    """File-name checks of one entry of ``records/``: temp, foreign, duplicate seq."""
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
    seq = int(match[1])
    if seq in files:
        msg = f"{rel} and records/{files[seq]} both claim seq {seq}"
        out.problem("duplicate_seq", msg, match[2], seq, rel)
        return
    files[seq] = name


def _check_file(store: EvidenceStore, seq: int, name: str, out: _Findings) -> dict[str, Any] | None:
    """Read one record file: JSON, fields, own hash, name vs content; the doc or None."""
    rel = f"records/{name}"
    rid = name[9:-5]
    what = f"record {rid} (seq {seq}, {rel})"
    path = store.records_dir / name
    if os.path.islink(path):
        msg = f"{what} is a symlink (to {os.readlink(path)!r}): it is never followed"
        out.problem("outside_store", msg, rid, seq, rel)
        return None
    try:
        doc = json.loads(_files.read_nofollow(path))
    except (OSError, ValueError) as exc:
        out.problem("truncated", f"{what} is not valid JSON: {exc}", rid, seq, rel)
        return None
    if not isinstance(doc, dict) or not doc.keys() >= RECORD_KEYS:
        out.problem("malformed", f"{what} lacks record fields", rid, seq, rel)
        return None
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
    return doc


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
