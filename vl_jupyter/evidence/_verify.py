"""``verify()``: re-derive every hash, walk the chain, and hold the index against the files.

A ``vl_jupyter.evidence/2`` record whose file is, byte for byte, what its index line says
is checked by one sha256 over its bytes (``_matches``); every other file -- /1 records,
and anything damaged -- by a full parse (``_check_file``), which names the damage. Both
paths report the same findings (tests/test_evidence_format.py runs each tampering both
ways); docs/evidence.md says why the fast path is sound.

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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import _blobs, _checkpoint, _files, _lock
from ._jsonable import dumps_canonical
from ._record import (
    GENESIS,
    RECORD_KEYS,
    SCHEMA,
    Problem,
    VerifyResult,
    content_hash,
    stored_hash,
)

if TYPE_CHECKING:
    from ._store import EvidenceStore

#: ``dumps_canonical`` without building an encoder per call (once per record here)
_canonical = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW
#: Bytes of the index read at a time.
_BLOCK = 1 << 20
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
    out = _Findings()
    with _lock.shared(store.lock_path):
        outside = _files.records_dir_problem(store.records_dir)
        if outside is not None:  # never list (or read) what a symlinked records/ points at
            out.problem("outside_store", outside, file="records")
            names = []
        else:
            names = sorted(os.listdir(store.records_dir)) if store.records_dir.is_dir() else []
        stats: dict[str, str] = {}  # one stat per file, shared by every step
        start = None if full or outside else _checkpoint.resume(store, names, stats)
        blobs = _blobs.BlobRefs()
        head, checked, positions = _walk(store, names, out, start, stats, blobs)
        out.problems += _blobs.verify_blobs(store.root, blobs, save=not out.problems)
        if not out.problems and head is not None and outside is None:
            _checkpoint.save(store, names, positions, start, stats)
    return VerifyResult(not out.problems, checked, out.problems, out.notes, head)


def _walk(
    store: EvidenceStore,
    names: list[str],
    out: _Findings,
    start: Any,
    stats: dict[str, str],
    blobs: Any = None,
) -> tuple[tuple[int, str] | None, int, dict[int, tuple[int, int, int]]]:
    """Check every record after ``start`` (a checkpoint, or None for the whole chain).

    One forward pass over the index, merged by seq with the record files: each index
    line is parsed once (not twice, as the old offsets-then-reread walk did), and a /2
    record file whose
    bytes are exactly what its index line says (:func:`_matches`) is checked by one sha256
    of its bytes; anything else goes through the full per-file checks (:func:`_check_file`)
    that name the damage. Findings come out in the order of the old two-pass walk: file
    names, then index lines, then records by seq.

    Returns the index head ``(seq, hash)``, how many record files the result covers, and
    ``{seq: (offset, length, line number)}`` of the index lines read; puts the ``fstat``
    of each record file read in ``stats`` (for the checkpoint).
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
    lines, walk = _Findings(), _Findings()
    positions: dict[int, tuple[int, int, int]] = {}
    index = _index_entries(store, lines, start)
    nxt = next(index, None)
    last: dict[str, Any] | None = None
    max_file = max(files, default=0)
    pending = _pending_name(store)
    prev_hash: str | None = start.hash if start else GENESIS
    checked = start.files if start else 0
    unindexed: list[int] = []  # seqs of record files without an index line
    # (slot in walk.problems, seq, name, doc, label, linked): decided once the whole index
    # is read, since only then is it known whether it is the one benign unindexed tail
    deferred: list[tuple[int, int, str, dict[str, Any], str, bool]] = []
    rdir = f"{store.records_dir}{os.sep}"
    seq = base_seq
    while nxt is not None or seq < max_file:
        seq += 1
        entry = None
        if nxt is not None and nxt[0] == seq:
            entry, positions[seq] = nxt[1], nxt[2]
            last, nxt = entry, next(index, None)
        name = files.get(seq)
        rel = f"records/{name}" if name else None
        expected = prev_hash
        if name is None:
            prev_hash = None
            label = _label(seq, None, entry, rel)
            if entry:
                msg = f"{label} is listed by the index but its file is missing: deleted"
            else:
                msg = f"the record with seq {seq} is missing (no file, no index line): deleted"
            walk.problem("deleted", msg, entry["id"] if entry else None, seq, rel)
            continue
        checked += 1
        raw = _read(rdir + name, name, stats)
        known = None
        if entry is not None and raw is not None and entry["file"] == name:
            known = _matches(raw, entry, seq)
            if known == entry["hash"]:  # the fast path: every field is the index line's
                if expected is not None and entry["prev_hash"] != expected:
                    _broken(walk, _label(seq, None, entry, rel), entry["id"], seq, rel)
                prev_hash = entry["hash"]
                if blobs is not None:  # the policy text it names, checked after the walk
                    blobs.note_raw(raw, entry, seq, rel)
                continue
        doc = _check_file(store, seq, name, walk, raw, known)
        prev_hash = doc["hash"] if doc else None
        if blobs is not None:  # the policy texts it names, checked after the walk
            if entry is not None:
                blobs.note(entry, seq, rel)
            if doc is not None:
                blobs.note(doc, seq, rel)
        if entry is None:
            unindexed.append(seq)
        if doc is None:
            continue  # unreadable: already reported
        label = _label(seq, doc, entry, rel)
        if expected is not None and doc["prev_hash"] != expected:
            _broken(walk, label, doc["id"], seq, rel)
        assert rel is not None  # set with name, which is set here
        if entry is not None:
            _compare(entry, doc, name, label, rel, walk)
        else:
            deferred.append((len(walk.problems), seq, name, doc, label, expected is not None))
            walk.problems.append(None)  # type: ignore[arg-type]  # a slot, filled below
    idx_max = last["seq"] if last is not None else base_seq
    for slot, seq, name, doc, label, linked in deferred:
        rel = f"records/{name}"
        if unindexed == [seq] == [idx_max + 1] and pending == name and linked:
            msg = f"{label} has no index line: a write was interrupted after the record "
            msg += "was placed; the next append indexes it"
            walk.note("unindexed_tail", msg, doc["id"], seq, rel)
        else:
            msg = f"{label} has no index line: the index was edited or lost"
            walk.problems[slot] = Problem(doc["id"], seq, "missing_index", msg, rel)
    out.problems += lines.problems + [p for p in walk.problems if p is not None]
    out.notes += lines.notes + walk.notes
    head: tuple[int, str] | None
    if last is not None:
        head = (last["seq"], last["hash"])
    else:
        head = (start.seq, start.hash) if start else None
    return head, checked, positions


def _broken(out: _Findings, label: str, rid: str, seq: int, rel: str | None) -> None:
    msg = f"{label} does not link to the record before it (its prev_hash is not "
    msg += f"the hash of seq {seq - 1}): a record was replaced, removed or reordered"
    out.problem("broken_link", msg, rid, seq, rel)


def _read(path: str, name: str, stats: dict[str, str]) -> bytes | None:
    """A record file's bytes, or None when it cannot be read (a symlink is refused, never
    followed): :func:`_check_file` then says why. Puts its ``fstat`` stamp in ``stats``."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        raw = os.read(fd, st.st_size + 1)
        while len(raw) > st.st_size:  # grew since the fstat: read to the end
            more = os.read(fd, 1 << 20)
            if not more:
                break
            raw += more
    except OSError:
        return None
    finally:
        os.close(fd)
    stats[name] = _checkpoint.stamp_of(st)
    return raw


def file_hash(seq: int, raw: bytes, doc: dict[str, Any] | None) -> str | None:
    """The hash of record file ``seq``'s content: of its stored bytes when ``doc`` is None
    (None if they are not in the /2 layout), else per its schema (``content_hash``).

    The one place verify() re-hashes a record file (tests count the calls)."""
    return stored_hash(raw) if doc is None else content_hash(raw, doc)


def _matches(raw: bytes, entry: dict[str, Any], seq: int) -> str | None:
    """The stored hash of /2 record file ``raw`` if its bytes are, field for field, what
    its index line ``entry`` says (None if not: the caller checks the file in full).

    A /2 file is canonical JSON, so its fields sit where canonical order puts them:
    ``{"created":...,"data":{...},"id":...,"kind":...,"prev_hash":...,"schema":...,
    "seq":...,"session":...,["signer":{...},]"summary":{...},"hash":...}``. Every field
    but ``data`` is in the index line; ``data`` comes second, so the file must open with
    the expected head and end with the expected tail, and the sha256 over the bytes binds
    ``data`` (and everything else) to the hash the chain links. Parsing and re-serialising
    ``data`` -- nearly all of what verifying a /1 record costs -- is never needed.
    """
    head = b'{"created":"%s","data":{' % entry["created"].encode()
    fields = (
        f',"id":"{entry["id"]}","kind":"{entry["kind"]}","prev_hash":"{entry["prev_hash"]}"'
        f',"schema":"{SCHEMA}","seq":{seq},"session":"{entry["session"]}",'
    ).encode()
    try:
        tail = b'"summary":%s,"hash":"%s"}\n' % (
            _canonical(entry["summary"]).encode(),
            entry["hash"].encode(),
        )
    except ValueError:  # a summary JSON cannot hold (NaN): not a file append wrote
        return None
    end = len(raw) - len(tail)
    if end - len(fields) <= len(head) or not raw.startswith(head) or not raw.endswith(tail):
        return None
    if raw.endswith(fields, 0, end):
        data_end = end - len(fields)
    else:  # a signed record: its signer sits between session and summary
        key = fields + b'"signer":'
        at = raw.rfind(key, len(head), end)
        if at < 0 or raw[end - 1 : end] != b",":
            return None
        signer = raw[at + len(key) : end - 1]
        try:
            ident = json.loads(signer)
        except ValueError:
            return None
        if type(ident) is not dict or dumps_canonical(ident) != signer:
            return None
        data_end = at
    if raw[data_end - 1 : data_end] != b"}":
        return None
    return file_hash(seq, raw, None)


def _pending_name(store: EvidenceStore) -> str | None:
    """The record file the pending marker names (an interrupted write), if any."""
    try:
        doc = json.loads((store.records_dir / _files.PENDING).read_bytes())
        return f"{doc['seq']:08d}_{doc['id']}.json"
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _index_entries(
    store: EvidenceStore, out: _Findings, start: Any
) -> Iterator[tuple[int, dict[str, Any], tuple[int, int, int]]]:
    """``(seq, entry, (offset, length, line number))`` of each valid index line after
    ``start``, in file order and rising seq; reports damaged, repeated or out-of-order
    lines to ``out``. Reads the index forward a MiB at a time and holds one block, so
    verify() never holds the whole index."""
    at, n = (start.offset, start.lines) if start else (0, 0)
    try:
        fd = os.open(store.index_path, os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW)
    except FileNotFoundError:
        return
    except OSError as exc:
        out.problem("outside_store", f"index.jsonl cannot be read ({exc})", file="index.jsonl")
        return
    last = start.seq if start else 0
    carry = b""  # the start of a line whose end is not read yet
    try:
        while True:
            chunk = os.pread(fd, _BLOCK, at + len(carry))
            if not chunk:
                if carry:
                    msg = "index.jsonl ends with a partial line: a write was interrupted; "
                    out.note("partial_index_line", msg + "the next append trims it",
                             file="index.jsonl")  # fmt: skip
                return
            buf = carry + chunk
            cut = buf.rfind(b"\n") + 1
            buf, carry = buf[:cut], buf[cut:]
            # each line parsed on its own: a block parse could pair a crafted line's
            # halves with its neighbours' and misplace an entry
            for line in buf.split(b"\n")[:-1]:
                n += 1
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
                elif entry["seq"] <= last:
                    seq = entry["seq"]
                    msg = f"index.jsonl line {n} lists seq {seq} (record {entry['id']}) again "
                    out.problem("index_mismatch", msg + "or out of order", entry["id"], seq,
                                "index.jsonl")  # fmt: skip
                else:
                    last = entry["seq"]
                    yield last, entry, (at, len(line) + 1, n)
                at += len(line) + 1
    finally:
        os.close(fd)


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


def _check_file(
    store: EvidenceStore,
    seq: int,
    name: str,
    out: _Findings,
    raw: bytes | None,
    known: str | None = None,
) -> dict[str, Any] | None:
    """Read one record file: JSON, fields, own hash, name vs content; the doc or None.

    ``raw`` is its bytes (None: it could not be read), ``known`` its stored hash if the
    fast path already took it."""
    rel = f"records/{name}"
    rid = name[9:-5]
    what = f"record {rid} (seq {seq}, {rel})"
    path = store.records_dir / name
    if raw is None and os.path.islink(path):
        msg = f"{what} is a symlink (to {os.readlink(path)!r}): it is never followed"
        out.problem("outside_store", msg, rid, seq, rel)
        return None
    try:
        if raw is None:
            raw = _files.read_nofollow(path)
        doc = json.loads(raw)
    except (OSError, ValueError) as exc:
        out.problem("truncated", f"{what} is not valid JSON: {exc}", rid, seq, rel)
        return None
    if not isinstance(doc, dict) or not doc.keys() >= RECORD_KEYS:
        out.problem("malformed", f"{what} lacks record fields", rid, seq, rel)
        return None
    try:
        found = known if known is not None and doc["schema"] == SCHEMA else None
        found = found or file_hash(seq, raw, doc)
    except ValueError:  # NaN or Infinity, which a record never holds
        found = None
    if found != doc["hash"]:
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
