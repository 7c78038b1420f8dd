"""The evidence store: an append-only, hash-chained directory of immutable JSON records.

Layout under the root (``.venturalitica/`` by default)::

    .lock                       flock target serialising writers
    index.jsonl                 one line per record (what listing reads)
    records/00000001_<id>.json  one immutable (0o444) file per record, name sorts by seq
    results.json, runs/<run_id>/results.json, trace_<name>.json   side files (write_json)

Writing is "lock -> repair -> read head -> write record atomically -> append index line
-> unlock"; see docs/evidence.md for what a crash at each point leaves behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, RecordNotFoundError
from . import _deferred, _files, _hooks, _lock
from ._jsonable import to_jsonable
from ._record import (
    GENESIS,
    SCHEMA,
    EvidenceRecord,
    VerifyResult,
    format_created,
    hash_and_encode,
    load_record_file,
    record_from_entry,
)
from ._session import check_id, check_kind, check_session, current_session, new_id

_MISSING = object()
#: root -> (the index/records state this process left after its last append, the head
#: entry it wrote): while the state is unchanged nobody else has touched the chain, so
#: the next append neither re-reads the head nor looks for a killed writer's leftovers
_LAST_APPEND: dict[str, tuple[tuple[int, ...] | None, dict[str, Any]]] = {}


def _record_bytes(doc: dict[str, Any]) -> bytes:
    """Set ``doc["hash"]``; a record file's bytes: the /2 layout (canonical JSON, hash
    last), one line."""
    return hash_and_encode(doc)


def default_root() -> Path:
    """``$VL_EVIDENCE_DIR`` if set, else ``./.venturalitica`` (the Venturalítica layout)."""
    env = os.environ.get("VL_EVIDENCE_DIR")
    return Path(env) if env else Path.cwd() / ".venturalitica"


class EvidenceStore:
    """One evidence directory. Cheap to create; nothing touches the disk until a write."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root: Path = Path(root if root is not None else default_root()).absolute()
        self.records_dir = self.root / "records"
        self.index_path = self.root / "index.jsonl"
        self.lock_path = self.root / ".lock"

    def __repr__(self) -> str:
        return f"EvidenceStore({str(self.root)!r})"

    def lock(self) -> AbstractContextManager[None]:
        """The store's inter-process exclusive lock (re-entrant within a thread).

        Hold it to read-modify-write a side file; ``append()`` may be called inside.
        """
        return _lock.exclusive(self.lock_path)

    def named_lock(
        self, name: str, timeout: float = _lock.LOCK_TIMEOUT_S
    ) -> AbstractContextManager[None]:
        """An inter-process lock of its own (``.<name>.lock`` in the store), for work that
        must be serialised across kernels but must not hold up evidence writes meanwhile
        (a tracker sync holds one across network calls)."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise EvidenceError(f"lock name {name!r} must be letters, digits, '-' or '_'")
        self.root.mkdir(parents=True, exist_ok=True)
        return _lock.exclusive(self.root / f".{name}.lock", timeout=timeout)

    # -- writing -------------------------------------------------------------------
    def append(
        self,
        kind: str,
        data: Mapping[str, Any],
        *,
        session: str | None = None,
        summary: Mapping[str, Any] | None = None,
        signer: Any = None,
    ) -> EvidenceRecord:
        """Append one record and return it. ``data`` is stored at full precision.

        ``session`` defaults to the current evidence session, else a fresh id of the
        record's own. ``summary`` is a small dict copied into the index so listing can
        show it without opening the record. Raises TypeError for values
        :func:`to_jsonable` cannot store, EvidenceError for a bad kind/session or a
        store that cannot be written. ``signer`` (see ``_hooks``): None lets the registered
        provider decide, False writes the record unsigned.
        """
        check_kind(kind)
        if not isinstance(data, Mapping):
            raise EvidenceError(f"evidence data must be a dict, got {type(data).__name__}")
        sid = check_session(session or current_session() or new_id())
        payload = to_jsonable(data)
        small = to_jsonable(summary or {}, "summary")
        if not isinstance(small, dict):
            raise EvidenceError(f"summary must be a dict, got {type(summary).__name__}")
        try:
            with self.lock():
                return self._append_locked(
                    kind, payload, sid, small, _hooks.signer_for(kind, signer)
                )
        except UnicodeEncodeError as exc:
            raise EvidenceError(f"evidence text is not valid Unicode: {exc}") from None
        except OSError as exc:
            raise EvidenceError(f"cannot write evidence under {self.root}: {exc}") from exc

    def _append_locked(
        self, kind: str, payload: dict[str, Any], sid: str, small: dict[str, Any], signer: Any
    ) -> EvidenceRecord:
        key = str(self.root)
        last = _LAST_APPEND.get(key)
        state = self._state()
        head: dict[str, Any] | None
        if last is not None and state is not None and last[0] == state:
            head, ours = last[1], True  # our own append was the last change
        else:
            self.records_dir.mkdir(parents=True, exist_ok=True)
            outside = _files.records_dir_problem(self.records_dir)
            if outside is not None:
                raise EvidenceError(outside, hint="remove the link; records/ must be a folder")
            head, ours = self._repair(), False
        seq = head["seq"] + 1 if head else 1
        if not ours:
            self._refuse_fork(seq)
        now = dt.datetime.now(dt.timezone.utc)
        rid = new_id(now)
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "seq": seq,
            "id": rid,
            "kind": kind,
            "created": format_created(now),
            "session": sid,
            "summary": small,
            "prev_hash": head["hash"] if head else GENESIS,
            "data": payload,
        }
        name = f"{seq:08d}_{rid}.json"
        # the hash (and, when signing, the signer's key and the envelope over the bytes)
        signer = _hooks.signatures_dir_ok(self.root, signer)
        raw, envelope = _hooks.seal(doc, name, signer, _record_bytes)
        pending = self.records_dir / _files.PENDING
        _files.place_record(pending, self.records_dir / name, raw)
        entry = _files.index_entry(doc, name)
        _files.append_line(self.index_path, entry)
        # committed; a marker left by a kill here is harmless (it names a seq <= head)
        pending.unlink(missing_ok=True)
        _LAST_APPEND[key] = (self._state(), {"seq": seq, "hash": entry["hash"]})
        if envelope is not None:  # signatures/ is not read by verify(): see docs/audit.md
            sig_dir = self.root / "signatures"
            sig_dir.mkdir(exist_ok=True)
            _files.write_atomic(sig_dir / f"{name[:-5]}.dsse.json", envelope, 0o444)
        return record_from_entry(entry, self.records_dir, payload)

    def _state(self) -> tuple[int, ...] | None:
        """What changes when anyone else touches the index or ``records/`` (lstat: a link
        put in place of either is a change; ctime: so is a rename or a chmod)."""
        try:
            i, d = os.lstat(self.index_path), os.lstat(self.records_dir)
        except OSError:
            return None
        return (
            i.st_ino, i.st_size, i.st_mtime_ns, i.st_ctime_ns,
            d.st_ino, d.st_mtime_ns, d.st_ctime_ns,
        )  # fmt: skip

    def _refuse_fork(self, seq: int) -> None:
        """EvidenceError if a record file at or beyond ``seq`` exists: the index lost lines
        (truncated, restored from an old copy), and appending would give two records one
        seq -- a forked chain. Skipped when nothing changed since this process's own last
        append, so a notebook appending in a loop never lists ``records/``."""
        beyond = sorted(
            n
            for n in os.listdir(self.records_dir)
            if _files.RECORD_RE.match(n) and int(n[:8]) >= seq
        )
        if beyond:
            raise EvidenceError(
                f"the evidence index ends at seq {seq - 1} but records/ holds {beyond[0]}"
                f"{f' and {len(beyond) - 1} more' if len(beyond) > 1 else ''}: index.jsonl "
                "was truncated or replaced by an older copy; appending would give two "
                "records the same seq (a forked chain), so nothing was written",
                file=str(self.index_path),
                hint="move index.jsonl aside (e.g. to index.jsonl.bak): the next append "
                "re-indexes every record file from the chain itself; then run "
                "'vl-jupyter verify'",
            )

    def _repair(self) -> dict[str, Any] | None:
        """Under the lock: finish what a killed writer left, and return the head entry.

        Trims a partial last index line; reads the pending marker (the record a writer was
        placing): if that record reached its final name but not the index, index it; then
        delete the marker. With no index at all, index every record file (a rebuild).
        """
        head = _files.read_tail(self.index_path, repair=True)
        pending = self.records_dir / _files.PENDING
        candidates: list[str] = []
        try:
            doc = json.loads(pending.read_bytes())
            name = f"{doc['seq']:08d}_{doc['id']}.json"
            if _files.RECORD_RE.match(name) and (self.records_dir / name).exists():
                candidates.append(name)
        except (OSError, ValueError, TypeError, KeyError):
            pass  # no marker, or killed while writing it: that record was never placed
        pending.unlink(missing_ok=True)
        if head is None:
            candidates = sorted(
                n for n in os.listdir(self.records_dir) if _files.RECORD_RE.match(n)
            )
        for name in candidates:
            head = self._adopt(name, head)
        return head

    def _adopt(self, name: str, head: dict[str, Any] | None) -> dict[str, Any] | None:
        """Index record file ``name`` if it is the next link of the chain after ``head``."""
        head_seq = head["seq"] if head else 0
        if int(name[:8]) <= head_seq:
            return head  # already indexed (the writer died after its index line)
        path = self.records_dir / name
        doc = load_record_file(path)
        link = head["hash"] if head else GENESIS
        if (doc["seq"], doc["prev_hash"], name) != (
            head_seq + 1,
            link,
            f"{head_seq + 1:08d}_{doc['id']}.json",
        ):
            raise EvidenceError(
                f"record file {name} lies beyond the index head (seq {head_seq}) but does "
                "not continue the chain; refusing to append after it",
                file=str(path),
                hint="run vl_jupyter.evidence.verify() and move the file aside",
            )
        entry = _files.index_entry(doc, name)
        _files.append_line(self.index_path, entry)
        return entry

    # -- reading -------------------------------------------------------------------
    def records(
        self, kind: str | None = None, session: str | None = None
    ) -> Iterator[EvidenceRecord]:
        """Records newest first, optionally only one kind and/or one session.

        Reads the index only, backwards from its end, as far as the caller iterates: the
        newest record costs one small read whatever the store's size. Each record's
        ``data`` is loaded when first accessed.
        """
        rdir = self.records_dir
        for _end, entry in _files.iter_index_reverse(self.index_path):
            if (kind is None or entry["kind"] == kind) and (
                session is None or entry["session"] == session
            ):
                yield record_from_entry(entry, rdir, checked=True)

    def listing(self) -> tuple[list[EvidenceRecord], list[str]]:
        """Every trusted record, newest first, and one reason per index line left out
        (unreadable, or naming a path outside the store: see ``_files.entry_problem``).

        What a listing (the Jupyter server) shows instead of failing on one bad line.
        """
        skipped: list[str] = []
        problem = _files.records_dir_problem(self.records_dir)
        if problem is not None:
            return [], [problem]
        entries = _files.read_index(self.index_path, skipped)
        rdir = self.records_dir
        return [record_from_entry(e, rdir, checked=True) for e in reversed(entries)], skipped

    def newest(self, n: int) -> tuple[list[EvidenceRecord], int]:
        """The ``n`` newest trusted records, newest first, and the byte offset just past the
        newest one's index line (where :meth:`records_after` resumes).

        Reads the index backwards and stops after ``n`` entries: a page of a 100,000-record
        store costs a read of its last few hundred KB, not a parse of the whole index.
        Damaged lines are skipped (one VLWarning); :meth:`listing` gives the reasons.
        """
        out: list[EvidenceRecord] = []
        end = 0
        if _files.records_dir_problem(self.records_dir) is not None or n <= 0:
            return out, end
        rdir = self.records_dir
        for at, entry in _files.iter_index_reverse(self.index_path):
            if not out:
                end = at
            out.append(record_from_entry(entry, rdir, checked=True))
            if len(out) >= n:
                break
        return out, end

    def records_after(self, offset: int) -> tuple[list[EvidenceRecord], int] | None:
        """Records indexed after byte ``offset`` of the index, newest first, and the offset
        just past the last complete line; None when ``offset`` is not a line boundary of
        the index as it is now (it was rebuilt): read :meth:`records` in full instead.

        The index is append-only, so a poller (the Jupyter server) reads only what was
        appended since its last read instead of the whole index every few seconds.
        """
        try:
            fd = os.open(self.index_path, os.O_RDONLY | os.O_CLOEXEC | _files._NOFOLLOW)
            with open(fd, "rb") as fh:
                if offset:
                    fh.seek(offset - 1)
                    if fh.read(1) != b"\n":
                        return None
                tail = fh.read()
        except OSError:
            return None
        end = tail.rfind(b"\n") + 1
        fresh = []
        for line in tail[:end].splitlines():
            try:
                entry = json.loads(line)
                if _files.entry_problem(entry) is not None:
                    return None  # the full read skips it, with the reason
                fresh.append(record_from_entry(entry, self.records_dir, checked=True))
            except (ValueError, KeyError, TypeError, EvidenceError):
                return None
        return fresh[::-1], offset + end

    def index_offset(self, record_id: str) -> int | None:
        """Byte offset just past the index line of ``record_id``; None if it is absent."""
        try:
            raw = _files.read_nofollow(self.index_path)
        except OSError:
            return None
        at = raw.rfind(f'"id":"{record_id}"'.encode())
        end = raw.find(b"\n", at)
        return end + 1 if at >= 0 and end >= 0 else None

    def get(self, record_id: str) -> EvidenceRecord:
        """The record with this id; EvidenceError if the id is malformed or unknown.

        O(log n): the index is bisected by the creation time every id starts with
        (``_seek``); an unknown id costs one pass over the index the first time.
        """
        check_id(record_id)
        from ._seek import find_entry  # a bisect of the index by the time in the id

        entry = find_entry(self.index_path, record_id)
        if entry is not None:
            return record_from_entry(entry, self.records_dir)
        raise RecordNotFoundError(f"no evidence record with id {record_id} in {self.root}")

    def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the newest record, or None for an empty store.

        Log this anchor somewhere the store's owner cannot rewrite (the tracker sync puts
        it in MLflow/W&B): it is what catches a rewrite of the whole chain.
        """
        _deferred.flush()  # an anchor logged elsewhere must name a durable record
        entry = _files.read_tail(self.index_path)
        return (entry["seq"], entry["hash"]) if entry else None

    def verify(self, *, full: bool = False) -> VerifyResult:
        """Check the record files, the chain and the index; never raises for damage.

        Resumes from the checkpoint of the last clean verify when it still matches the
        store (see ``_checkpoint``): only records appended since are re-hashed. ``full``
        ignores the checkpoint and re-hashes every record (``vl-jupyter verify --full``).
        Either way the store is streamed, one record at a time.
        """
        from ._verify import verify_store

        _deferred.flush()  # what is reported verified (and exported) is on disk
        return verify_store(self, full=full)

    # -- blobs (each policy text once; see _blobs) --------------------------------------
    def put_blob(self, text: str, ext: str = "txt") -> str:
        """Store ``text`` once under ``policies/<sha256>.<ext>``; returns that name."""
        from . import _blobs

        with self.lock():
            return _blobs.put_text(self.root, text, ext)

    def read_blob(self, name: str) -> str:
        """The text of blob ``name``; EvidenceError naming the file if missing or altered."""
        from . import _blobs

        return _blobs.read_text(self.root, name)

    # -- side files ----------------------------------------------------------------
    def write_json(
        self, relpath: str, obj: Any, *, copies: tuple[str, ...] = (), compact: bool = False
    ) -> Path:
        """Atomically write a side file (``results.json``, ``runs/<id>/results.json``, ...).

        ``relpath`` must stay inside the store (no absolute paths, ``..``, hidden parts,
        or the reserved ``records/`` and ``index.jsonl``). Values go through
        :func:`to_jsonable`. ``copies``: more paths that get the same bytes, serialised
        once (a monitored cell's trace has three). ``compact``: no indentation, for big
        machine-read files (a run's OSCAL results): json's C encoder runs only without
        ``indent``, and the indentation was most of their bytes. Returns the (first) file's
        path.
        """
        targets = [_files.check_relpath(self.root, p) for p in (relpath, *copies)]
        value = to_jsonable(obj, relpath)
        if compact:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2)
        payload = text.encode("utf-8")
        try:
            with self.lock():
                folders = set()
                for target in targets:
                    if target.parent not in folders:  # each folder once
                        folders.add(target.parent)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        _files.clean_temps(target.parent)
                    _files.write_atomic(target, payload, 0o644, durable=False)
        except OSError as exc:
            raise EvidenceError(f"cannot write {relpath} under {self.root}: {exc}") from exc
        return targets[0]

    def side_file(self, relpath: str) -> Path:
        """Where :meth:`write_json` puts ``relpath``; EvidenceError if it would leave the
        store (the checks ``write_json`` makes, without writing)."""
        return _files.check_relpath(self.root, relpath)

    def read_json(self, relpath: str, default: Any = _MISSING) -> Any:
        """Read a side file; ``default`` if given and the file does not exist."""
        target = _files.check_relpath(self.root, relpath)
        _deferred.drain()  # a monitored cell's run files may still be being written
        try:
            return json.loads(target.read_bytes())
        except FileNotFoundError:
            if default is not _MISSING:
                return default
            raise EvidenceError(f"no side file {relpath} in {self.root}") from None
        except (OSError, ValueError) as exc:
            raise EvidenceError(f"cannot read {relpath}: {exc}", file=str(target)) from None
