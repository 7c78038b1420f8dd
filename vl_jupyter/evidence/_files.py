"""Low-level file operations of the store: atomic writes, the index, side-file paths.

Every write that must survive a crash goes "temp file in the target directory -> write
-> fsync -> os.replace -> fsync the directory": a reader sees the old file or the new
one, never half of one. The index is append-only: one ``os.write`` of a whole line on an
``O_APPEND`` descriptor; a reader ignores a last line without its newline.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import EvidenceError, VLWarning

RECORD_RE = re.compile(r"^(\d{8})_(\d{8}T\d{12}Z-[0-9a-f]{8})\.json$")
TMP_PREFIX = ".tmp-"
PENDING = TMP_PREFIX + "pending.json"  # the record being placed; also the crash marker
INDEX_KEYS = ("seq", "id", "kind", "created", "session", "hash", "prev_hash", "summary", "file")
INDEX_FIELDS = frozenset(INDEX_KEYS)
RESERVED = {"records", "index.jsonl", "signatures"}


def write_atomic(path: Path, payload: bytes, mode: int, *, durable: bool = True) -> None:
    """Write ``payload`` to ``path`` atomically, leaving it with ``mode``.

    ``durable`` adds the fsyncs that make the write survive a power cut. Side files are
    derived copies of records (the record itself is always durable), so they skip them:
    each fsync costs about a millisecond, and a monitored cell writes two side files.
    """
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)  # the umask may have taken bits off ``mode``
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(path.parent)


def place_record(pending: Path, final: Path, payload: bytes) -> None:
    """Write a record under its final name, atomically and without clobbering.

    The bytes go to the fixed-name ``pending`` file (fsync), which is hard-linked to
    ``final`` (atomic: the name appears with the whole content, and fails if it exists)
    and the directory is fsynced. ``pending`` stays until the index line is written, so
    a writer killed in between leaves a marker that names the record to index -- the next
    writer never has to list the directory. Without hard links, falls back to os.replace.
    """
    pending.unlink(missing_ok=True)
    fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
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
    fsync_dir(final.parent)


def clean_temps(directory: Path) -> None:
    """Delete temp files of killed writers in ``directory`` (call only under the lock)."""
    for name in os.listdir(directory):
        if name.startswith(TMP_PREFIX):
            (directory / name).unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def append_line(path: Path, entry: dict[str, Any]) -> None:
    """Append one JSON line to the index with a single write, then fsync."""
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        written = os.write(fd, line)
        if written != len(line):  # disk full: leave a partial line the next writer trims
            raise EvidenceError(f"short write to the evidence index ({written} of {len(line)})")
        os.fsync(fd)
    finally:
        os.close(fd)


def read_index(path: Path) -> list[dict[str, Any]]:
    """All complete index lines, in file order (a partial last line is ignored).

    The fast path parses the whole file with one ``json.loads``; a damaged line sends it
    to a line-by-line parse that skips (and warns about) what it cannot read -- listing
    stays usable, ``verify()`` reports the damage.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    body = raw[: raw.rfind(b"\n") + 1].rstrip(b"\n")
    if not body:
        return []
    try:
        entries = json.loads(b"[" + body.replace(b"\n", b",") + b"]")
        if all(type(e) is dict and e.keys() >= INDEX_FIELDS for e in entries):
            return entries
    except ValueError:
        pass
    entries, bad = [], 0
    for line in body.split(b"\n"):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and entry.keys() >= INDEX_FIELDS:
            entries.append(entry)
        else:
            bad += 1
    if bad:
        warnings.warn(
            f"{path}: skipped {bad} unreadable index line(s); run verify() for details",
            VLWarning,
            stacklevel=3,
        )
    return entries


def index_entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The index line of record document ``doc`` stored as ``records/<name>``."""
    return {**{k: doc[k] for k in INDEX_KEYS[:-1]}, "file": name}


def find_entry(path: Path, record_id: str) -> dict[str, Any] | None:
    """The index entry of ``record_id`` by a byte search from the end (no full parse)."""
    try:
        raw = path.read_bytes()
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
        fd = os.open(path, (os.O_RDWR if repair else os.O_RDONLY) | os.O_CLOEXEC)
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
        if not isinstance(entry, dict) or not all(k in entry for k in INDEX_KEYS):
            raise ValueError("missing fields")
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
    pure = PurePosixPath(relpath)
    if pure.is_absolute():
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
    target = root.joinpath(*parts)
    real_root = root.resolve()
    if not target.resolve().is_relative_to(real_root):
        raise EvidenceError(f"side-file path {relpath!r} leaves the store {root} (symlink)")
    return target
