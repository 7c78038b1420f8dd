"""The verified-head checkpoint: where the last clean ``verify()`` stopped.

``verify()`` re-hashes every record file, which at 100,000 records is tens of seconds of
work repeated for records that cannot have changed since they were last checked. After a
clean verify the store keeps ``.verified.json``::

    {"schema": 1, "seq": 99871, "hash": "<sha256 of that record>",
     "index_bytes": 51234567, "index_lines": 99871, "index_sha256": "<sha256 of those bytes>",
     "records_sha256": "<digest of the names and stat() of every file in records/ up to seq>",
     "files": 99871, "self_sha256": "<sha256 of the canonical JSON of the fields above>"}

The next ``verify()`` resumes from it only if all of these still hold, else it verifies
the whole store (so a stale or forged checkpoint can cost time, never hide damage that a
full verify would find, except as stated below):

- its ``self_sha256`` matches its content (an accidental edit or truncation);
- the first ``index_bytes`` of ``index.jsonl`` still hash to ``index_sha256`` and end with
  the line of record ``seq`` carrying ``hash`` (no index line of the verified part changed);
- the record file of ``seq`` still hashes to ``hash`` (the head itself was not replaced);
- the listing of ``records/`` up to ``seq`` -- every name with its inode, size, mtime and
  ctime -- hashes to ``records_sha256``. Writing, replacing, renaming, chmod-ing or
  deleting a record file changes its ctime, inode or the listing, and the ctime cannot be
  set back from user space; so an edited record in the verified part sends verify() back
  to a full check.

What it does not resist: someone who edits a record *and* rewrites ``.verified.json`` to
match (the digest is not a secret, any more than the chain's hashes are), or who resets
the system clock to forge a ctime. That is the same owner who can rewrite the chain;
``vl-jupyter verify --full`` ignores the checkpoint, and an anchor logged to a tracker
(``--against``) is what catches a rewritten store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _files
from ._jsonable import dumps_canonical
from ._record import content_hash

if TYPE_CHECKING:
    from ._store import EvidenceStore

NAME = ".verified.json"
#: Records changed this recently are not covered by a new checkpoint (see ``save``).
RACY_NS = 2_000_000_000
SCHEMA = 1
_FIELDS = ("schema", "seq", "hash", "index_bytes", "index_lines", "index_sha256",
           "records_sha256", "files")  # fmt: skip


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    offset: int  # bytes of index.jsonl up to and including the line of ``seq``
    lines: int  # lines in those bytes
    files: int  # record files those bytes cover (what VerifyResult.checked counts)


def stamp_of(st: os.stat_result) -> str:
    """What the checkpoint's digest holds of one file: ``ino:size:mtime:ctime:mode``.

    Kept as a string (one per record file during a verify): strings are not tracked by
    the cyclic GC, where 100,000 ``stat_result`` objects cost a full verify ~1 s of
    collections."""
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_mode}"


def _records_digest(
    store: EvidenceStore,
    names: list[str],
    seq: int,
    stats: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Digest of the names and stat() of ``records/`` up to ``seq``, and the number of
    record files among them (temp files and records beyond ``seq`` are left out: the
    resumed verify checks those itself). ``stats``: what verify() already took of the
    files it read (``fstat`` of the descriptor it read through, which is the ``lstat``
    of a file opened without following links), so they are not stat-ed twice; what is
    stat-ed here is added to it for the same reason (resume, then save)."""
    digest = hashlib.sha256()
    count = 0
    stats = {} if stats is None else stats
    rdir = f"{store.records_dir}{os.sep}"
    for name in names:
        if name.startswith(_files.TMP_PREFIX):
            continue
        match = _files.RECORD_RE.match(name)
        if match and int(match[1]) > seq:
            continue
        count += match is not None
        stamp = stats.get(name)
        if stamp is None:
            try:
                stamp = stats[name] = stamp_of(os.lstat(rdir + name))
            except OSError:
                stamp = "gone"
        digest.update(f"{name}\0{stamp}\n".encode())
    return digest.hexdigest(), count


def _index_prefix(store: EvidenceStore, size: int) -> tuple[str, bytes] | None:
    """sha256 of the first ``size`` bytes of the index and its last line; None if shorter."""
    digest = hashlib.sha256()
    try:
        fd = os.open(store.index_path, os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW)
    except OSError:
        return None
    try:
        at, tail = 0, b""
        while at < size:
            chunk = os.pread(fd, min(1 << 20, size - at), at)
            if not chunk:
                return None
            digest.update(chunk)
            tail = (tail + chunk)[-(1 << 16) :] if len(chunk) < 1 << 16 else chunk
            at += len(chunk)
    finally:
        os.close(fd)
    if not tail.endswith(b"\n"):
        return None
    return digest.hexdigest(), tail[tail.rfind(b"\n", 0, len(tail) - 1) + 1 :]


def resume(
    store: EvidenceStore, names: list[str], stats: dict[str, str] | None = None
) -> Checkpoint | None:
    """The checkpoint to verify on from, if it still matches the store (see module doc).

    ``stats`` receives the ``lstat`` of each file of ``records/`` it looked at."""
    try:
        doc = json.loads(_files.read_nofollow(store.root / NAME))
        body = {k: doc[k] for k in _FIELDS}
        if doc["self_sha256"] != hashlib.sha256(dumps_canonical(body)).hexdigest():
            return None
        if body["schema"] != SCHEMA:
            return None
        seq, head = body["seq"], body["hash"]
        prefix = _index_prefix(store, body["index_bytes"])
        if prefix is None or prefix[0] != body["index_sha256"]:
            return None
        last = json.loads(prefix[1])
        if (last.get("seq"), last.get("hash")) != (seq, head):
            return None
        if _files.entry_problem(last) is not None:
            return None
        raw = _files.read_nofollow(store.records_dir / last["file"])
        record = json.loads(raw)
        if record.get("seq") != seq or record.get("hash") != head:
            return None
        if content_hash(raw, record) != head:
            return None
        digest = _records_digest(store, names, seq, stats)
        if digest != (body["records_sha256"], body["files"]):
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Checkpoint(seq, head, body["index_bytes"], body["index_lines"], body["files"])


def save(
    store: EvidenceStore,
    names: list[str],
    positions: dict[int, tuple[int, int, int]],
    start: Checkpoint | None,
    stats: dict[str, str] | None = None,
) -> None:
    """Record a clean verify's head (under verify's shared lock, so no writer moves).

    The checkpoint covers the longest run of records, from seq 1, whose files were last
    changed more than ``RACY_NS`` ago: a file changed within the clock's granularity of
    the checkpoint could be edited again with an identical stat() (the "racily clean"
    problem git's index has), so recent records are left for the next verify to re-hash.
    """
    cutoff = time.time_ns() - RACY_NS
    seq = start.seq if start else 0
    stats = {} if stats is None else stats
    rdir = f"{store.records_dir}{os.sep}"
    for name in names:
        match = _files.RECORD_RE.match(name)
        if not match or int(match[1]) <= seq:
            continue
        try:
            changed = int((stats.get(name) or stamp_of(os.lstat(rdir + name))).split(":")[3])
        except OSError:
            break
        if int(match[1]) != seq + 1 or seq + 1 not in positions or changed >= cutoff:
            break
        seq += 1
    if seq == (start.seq if start else 0):
        return  # nothing new to cover
    offset, length, line = positions[seq]
    end = offset + length
    prefix = _index_prefix(store, end)
    if prefix is None:
        return
    records_sha, files = _records_digest(store, names, seq, stats)
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "seq": seq,
        "hash": json.loads(prefix[1])["hash"],
        "index_bytes": end,
        "index_lines": line,
        "index_sha256": prefix[0],
        "records_sha256": records_sha,
        "files": files,
    }
    body["self_sha256"] = hashlib.sha256(dumps_canonical(body)).hexdigest()
    # a read-only store still verifies; it just cannot keep a checkpoint
    with contextlib.suppress(OSError):
        _files.write_atomic(store.root / NAME, json.dumps(body).encode(), 0o644, durable=False)
