"""Low-level file operations of the store: atomic writes, the index, side-file paths.

Every write that must survive a crash goes "temp file in the target directory -> write
-> (fsync) -> link or rename into place -> (fsync the directory)": a reader sees the old
file or the new one, never half of one. The index is append-only: one ``os.write`` of a
whole line on an ``O_APPEND`` descriptor; a reader ignores a last line without its
newline. The fsyncs (power-cut protection; a killed process loses nothing without them)
run inside the write or in the background, as :mod:`._durability` says.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, VLWarning
from ._durability import policy as _durability

RECORD_RE = re.compile(r"^(\d{8})_(\d{8}T\d{12}Z-[0-9a-f]{8})\.json$")
TMP_PREFIX = ".tmp-"
PENDING = TMP_PREFIX + "pending.json"  # the record being placed; also the crash marker
INDEX_KEYS = ("seq", "id", "kind", "created", "session", "hash", "prev_hash", "summary", "file")
INDEX_FIELDS = frozenset(INDEX_KEYS)
RESERVED = {"records", "index.jsonl", "signatures", "policies"}
_ID = r"\d{8}T\d{12}Z-[0-9a-f]{8}"
_HASH_RE = re.compile(r"^[0-9a-f]{64}\Z")
_ID_RE = re.compile(f"^{_ID}\\Z")
_CREATED_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
_SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_SHAPED = ("session", "kind", "created", "hash", "prev_hash")
_ALL_RE = re.compile(
    "\n".join(
        p.pattern.removeprefix("^").removesuffix("\\Z")
        for p in (_ID_RE, _SESSION_RE, _KIND_RE, _CREATED_RE, _HASH_RE, _HASH_RE)
    )
    + "\\Z"
)


def entry_problem(entry: Any) -> str | None:
    """Why index line ``entry`` cannot be trusted as a record of this store, or None.

    Every path the store derives from an index line (``records/<file>``, ``runs/<session>``)
    must stay inside the store, whatever a cloned or hostile ``index.jsonl`` says: the
    ``file`` must be exactly ``<seq>_<id>.json`` of that line's own seq and id (so no
    ``..``, no ``/``, no absolute path), and the id, session, kind, hash and creation time
    must have their documented shapes. A listing skips such a line with this reason and
    ``verify()`` reports it naming the record.
    """
    if type(entry) is not dict or not entry.keys() >= INDEX_FIELDS:
        return "not an index entry (fields missing)"
    rid, seq, name = entry["id"], entry["seq"], entry["file"]
    try:  # the fast path, one match for every shape (listing reads thousands of lines)
        if (
            type(seq) is int
            and 0 < seq < 10**8
            and type(entry["summary"]) is dict
            and name == f"{seq:08d}_{rid}.json"
            and _ALL_RE.match("\n".join([rid, *(entry[k] for k in _SHAPED)]))
        ):
            return None
    except TypeError:  # a field that is not a string: the slow path names it
        pass
    if type(rid) is not str or not _ID_RE.match(rid):
        return f"its id {str(rid)[:80]!r} is not a record id"
    if type(seq) is not int or not 0 < seq < 10**8:
        return f"record {rid}: its seq {str(seq)[:40]!r} is not a positive integer"
    if type(name) is not str or name != f"{seq:08d}_{rid}.json":
        return (
            f"record {rid}: its file {str(name)[:120]!r} is not records/{seq:08d}_{rid}.json "
            "(a path outside the store's records/ folder is never read)"
        )
    session, kind = entry["session"], entry["kind"]
    if type(session) is not str or not _SESSION_RE.match(session):
        return f"record {rid}: its session {str(session)[:80]!r} is not a session id"
    if type(kind) is not str or not _KIND_RE.match(kind):
        return f"record {rid}: its kind {str(kind)[:80]!r} is not a record kind"
    if type(entry["created"]) is not str or not _CREATED_RE.match(entry["created"]):
        return f"record {rid}: its created time {str(entry['created'])[:40]!r} is unparsable"
    for key in ("hash", "prev_hash"):
        if type(entry[key]) is not str or not _HASH_RE.match(entry[key]):
            return f"record {rid}: its {key} is not a sha256 hex digest"
    if type(entry["summary"]) is not dict:
        return f"record {rid}: its summary is a {type(entry['summary']).__name__}, not a mapping"
    return None


def records_dir_problem(records_dir: Path) -> str | None:
    """Why ``records_dir`` is not the store's own ``records/`` folder (a symlink out)."""
    try:
        if not stat.S_ISLNK(os.lstat(records_dir).st_mode):
            return None  # a real folder is the store's own whatever its parents are
    except FileNotFoundError:
        return None
    except OSError:
        pass  # let realpath below say what it can
    real = os.path.realpath(records_dir)
    if os.path.islink(records_dir) or real != os.path.join(
        os.path.realpath(records_dir.parent), "records"
    ):
        return f"{records_dir} is a link to {real}, outside the store: it is never read"
    return None


def read_nofollow(path: Path) -> bytes:
    """The bytes of ``path``, refusing a symlink (OSError ELOOP): a store's own files are
    never links, and following one would read outside the store."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def write_atomic(path: Path, payload: bytes, mode: int, *, durable: bool = True) -> None:
    """Write ``payload`` to ``path`` atomically, leaving it with ``mode``.

    ``durable`` files (signatures) are fsynced, with their folder, as the durability
    policy says: inside this call (``sync``) or by the background flusher (``deferred``).
    Side files (``durable=False``: derived copies of records) are never fsynced in
    ``sync`` mode, as before; in ``deferred`` mode they are queued for the flusher too,
    and an existing file is swapped out with ``renameat2(RENAME_EXCHANGE)`` rather than
    replaced: ext4 starts writeback of a file renamed over another (``auto_da_alloc``),
    0.2-4 ms on the writer's critical path, and the flusher's fsync does that job anyway.
    """
    policy = _durability()
    deferred = policy.deferred()
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if durable and not deferred:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # the umask may have taken bits off ``mode``
        if deferred:
            _swap_into_place(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if deferred:
        policy.file(path)
        policy.directory(path.parent)
    elif durable:
        fsync_dir(path.parent)


_EXCHANGE: list[Any] = []  # [renameat2] once found, [None] where it does not exist


def _renameat2() -> Any:
    if not _EXCHANGE:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                fn = ctypes.CDLL(None, use_errno=True).renameat2
                fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
                fn.argtypes += [ctypes.c_uint]
            except (OSError, AttributeError):  # glibc < 2.28, musl, no libc handle
                fn = None
        _EXCHANGE.append(fn)
    return _EXCHANGE[0]


def _swap_into_place(tmp: Path, path: Path) -> None:
    """``os.replace(tmp, path)``, atomically for readers, without ext4's rename-over
    writeback: exchange the two names, then delete the old file (now named ``tmp``)."""
    fn = _renameat2()
    try:  # only a plain file is exchanged: a folder in the way fails in os.replace, as before
        exchange = fn is not None and stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:  # nothing there yet: a plain rename
        exchange = False
    if exchange:
        import ctypes

        at_fdcwd, rename_exchange = -100, 2
        if fn(at_fdcwd, os.fsencode(tmp), at_fdcwd, os.fsencode(path), rename_exchange) == 0:
            os.unlink(tmp)  # a kill before this leaves a temp file clean_temps removes
            return
        if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):  # not here
            _EXCHANGE[0] = None
        # ENOENT: removed meanwhile; other errors: let os.replace say what they are
    os.replace(tmp, path)


def place_record(pending: Path, final: Path, payload: bytes) -> None:
    """Write a record under its final name, atomically and without clobbering.

    The bytes go to the fixed-name ``pending`` file, which is hard-linked to ``final``
    (atomic: the name appears with the whole content, and fails if it exists). In
    ``sync`` mode the file is fsynced before the link and the directory after it; in
    ``deferred`` mode both are queued for the flusher once the name is in place (the
    page cache already makes the record survive a killed process). ``pending`` stays
    until the index line is written, so a writer killed in between leaves a marker that
    names the record to index -- the next writer never has to list the directory.
    Without hard links, falls back to os.replace.
    """
    policy = _durability()
    deferred = policy.deferred()
    pending.unlink(missing_ok=True)
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        if not deferred:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(pending, 0o444)  # the umask may have taken bits off
    try:
        os.link(pending, final)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        os.replace(pending, final)
    if deferred:
        policy.file(final)
    policy.directory(final.parent)


def clean_temps(directory: Path) -> None:
    """Delete temp files of killed writers in ``directory`` (call only under the lock)."""
    for name in os.listdir(directory):
        if name.startswith(TMP_PREFIX):
            (directory / name).unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable, now or soon (see :mod:`._durability`;
    a no-op where directories cannot be opened)."""
    _durability().directory(directory)


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line to the index with a single write, then fsync (now or soon:
    see :mod:`._durability`)."""
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    policy = _durability()
    deferred = policy.deferred()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):  # disk full: leave a partial line the next writer trims
            raise EvidenceError(f"short write to the evidence index ({written} of {len(line)})")
        if not deferred:
            os.fsync(fd)
    finally:
        os.close(fd)
    if deferred:
        policy.file(path, last=True)  # after the records and folders it names


def read_index(path: Path, skipped: list[str] | None = None) -> list[dict[str, Any]]:
    """All complete, well-formed index lines, in file order (a partial last line is ignored).

    The fast path parses the whole file with one ``json.loads``; a damaged or unsafe line
    (see :func:`entry_problem`) sends it to a line-by-line parse that skips (and warns
    about) what it cannot trust -- listing stays usable, ``verify()`` reports the damage.
    ``skipped``, if given, receives one reason per skipped line (``line N: ...``).
    """
    try:
        raw = read_nofollow(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        if skipped is not None:
            skipped.append(f"index.jsonl cannot be read: {exc}")
        return []
    body = raw[: raw.rfind(b"\n") + 1].rstrip(b"\n")
    if not body:
        return []
    try:
        entries = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
        if not any(map(entry_problem, entries)):
            return entries
    except ValueError:
        pass
    entries, bad = [], 0
    for n, line in enumerate(body.split(b"\n"), start=1):
        try:
            entry = json.loads(line)
            why = entry_problem(entry)
        except ValueError:
            why = "not valid JSON"
        if why is None:
            entries.append(entry)
        else:
            bad += 1
            if skipped is not None:
                skipped.append(f"index.jsonl line {n}: {why}")
    if bad and skipped is None:  # a caller that collects the reasons reports them itself
        warnings.warn(
            f"{path}: skipped {bad} unreadable index line(s); run verify() for details",
            VLWarning,
            stacklevel=3,
        )
    return entries


def iter_index_reverse(path: Path, block: int = 1 << 16) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(end_offset, entry)`` for each complete, well-formed index line, newest first.

    Reads the index backwards a block at a time (64 KiB, doubling to 4 MiB), so the newest
    record of a 100,000-record store costs one small read instead of parsing the whole
    file; ``end_offset`` is the byte just past the entry's line (what a poller resumes
    from). A partial last line is ignored; a damaged or unsafe line (see
    :func:`entry_problem`) is skipped and counted, and one ``VLWarning`` says how many when
    the iteration ends, as :func:`read_index` does.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return
    bad = 0
    try:
        pos = os.fstat(fd).st_size
        carry = b""  # the start of a line whose beginning lies before ``pos``
        end = None  # offset just past the last complete line, once found
        while pos > 0:
            start = max(0, pos - block)
            chunk = os.pread(fd, pos - start, start) + carry
            block = min(block * 2, 1 << 22)
            if end is None:  # drop a partial last line (a writer killed mid-append)
                cut = chunk.rfind(b"\n")
                if cut < 0:
                    carry, pos = (chunk, start) if start else (b"", 0)
                    continue
                end = start + cut + 1
                chunk = chunk[: cut + 1]
            if start:
                first = chunk.find(b"\n")
                if first < 0:
                    carry, pos = chunk, start
                    continue
                carry, body, base = chunk[: first + 1], chunk[first + 1 :], start + first + 1
            else:
                carry, body, base = b"", chunk, 0
            pos = start
            if not body:
                continue
            lines = body[:-1].split(b"\n")
            ends = []
            at = base
            for line in lines:
                at += len(line) + 1
                ends.append(at)
            try:  # one parse for the block (thousands of lines), per line only on damage
                entries = json.loads(b"[" + body[:-1].replace(b"\n", b",") + b"]")
                if len(entries) != len(lines) or any(map(entry_problem, entries)):
                    raise ValueError
            except ValueError:
                entries = []
                for line in lines:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        entry = None
                    entries.append(entry if entry_problem(entry) is None else None)
            for at, entry in zip(reversed(ends), reversed(entries), strict=True):
                if entry is None:
                    bad += 1
                else:
                    yield at, entry
    finally:
        os.close(fd)
        if bad:
            warnings.warn(
                f"{path}: skipped {bad} unreadable index line(s); run verify() for details",
                VLWarning,
                stacklevel=3,
            )


def index_entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The index line of record document ``doc`` stored as ``records/<name>``."""
    return {**{k: doc[k] for k in INDEX_KEYS[:-1]}, "file": name}


def find_entry(path: Path, record_id: str) -> dict[str, Any] | None:
    """The index entry of ``record_id`` by a byte search from the end (no full parse)."""
    try:
        raw = read_nofollow(path)
    except FileNotFoundError:
        return None
    needle = f'"id":"{record_id}"'.encode()
    at = raw.rfind(needle)
    while at >= 0:  # the id may also appear inside another record's summary
        start, end = raw.rfind(b"\n", 0, at) + 1, raw.find(b"\n", at)
        if end >= 0:
            try:
                entry = json.loads(raw[start:end])
            except ValueError:
                entry = None
            if isinstance(entry, dict) and entry.get("id") == record_id:
                return entry
        at = raw.rfind(needle, 0, at)
    return None


def read_tail(path: Path, *, repair: bool = False) -> dict[str, Any] | None:
    """The last complete index line (None for an empty index).

    With ``repair`` (only under the store's lock) a partial last line -- left by a writer
    killed mid-append -- is cut off.
    """
    try:
        fd = os.open(path, (os.O_RDWR if repair else os.O_RDONLY) | os.O_CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        size = os.fstat(fd).st_size
        chunk, line_start = 4096, 0
        while True:  # read backwards until the last complete line is whole in ``data``
            start = max(0, size - chunk)
            data = os.pread(fd, size - start, start)
            end = data.rfind(b"\n")  # the newline ending the last complete line
            if end >= 0:
                line_start = data.rfind(b"\n", 0, end) + 1
                if line_start > 0 or start == 0:
                    break
            elif start == 0:
                break
            chunk *= 4
        if repair and start + end + 1 != size:
            os.ftruncate(fd, start + end + 1)
            os.fsync(fd)
        if end < 0:
            return None
        line = data[line_start:end]
    finally:
        os.close(fd)
    try:
        entry = json.loads(line)
        why = entry_problem(entry)
        if why is not None:
            raise ValueError(why)
    except ValueError as exc:
        raise EvidenceError(
            f"the last line of the evidence index is damaged ({exc})",
            file=str(path),
            hint="run vl_jupyter.evidence.verify(); the index can be rebuilt by moving "
            "index.jsonl aside (the next append re-indexes every valid record file)",
        ) from None
    return entry


def check_relpath(root: Path, relpath: str) -> Path:
    """Resolve a side-file path under ``root``; EvidenceError for anything that escapes."""
    if not isinstance(relpath, str) or not relpath or "\\" in relpath or "\x00" in relpath:
        raise EvidenceError(f"side-file path {relpath!r} is not a relative path")
    if relpath.startswith("/"):
        raise EvidenceError(
            f"side-file path {relpath!r} is absolute; give a path relative to the store {root}"
        )
    parts = relpath.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise EvidenceError(
            f"side-file path {relpath!r} may not contain '..', '.', empty or hidden parts",
            hint="e.g. 'results.json' or 'runs/<run_id>/results.json'",
        )
    if parts[0] in RESERVED:
        raise EvidenceError(f"side-file path {relpath!r} is reserved for the record chain")
    # Only a symlink can lead out (the parts are plain names): lstat each part below the
    # root and resolve only links, instead of resolving the whole path (two realpath
    # walks from / on every side-file write).
    at = str(root)
    real_root: str | None = None
    for part in parts:
        at = os.path.join(at, part)
        try:
            is_link = stat.S_ISLNK(os.lstat(at).st_mode)
        except OSError:  # missing (to be created) or unreadable: nothing below is a link
            break
        if is_link:
            real_root = real_root or os.path.realpath(root)
            real = os.path.realpath(at)
            if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
                raise EvidenceError(f"side-file path {relpath!r} leaves the store {root} (symlink)")
    return root / relpath  # the parts are plain names, joined by single slashes
