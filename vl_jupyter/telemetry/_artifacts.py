"""``monitor(inputs=[...], outputs=[...])``: fingerprints of the files a block read and wrote.

Inputs are hashed when the block starts, outputs when it stops, so the record says which
bytes went in and which came out (the Venturalítica SDK's ``ArtifactProbe``). A path that
does not exist is recorded as ``missing`` -- an output the block failed to write is a
fact to record, not a reason to crash the user's code. A folder is hashed as the sorted
list of its files' relative paths and sha256s.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import TelemetryError

_CHUNK = 1 << 20


def check_paths(paths: Any, role: str) -> list[str]:
    """``paths`` as a list of strings; a single path is accepted; anything else is an error."""
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    if not isinstance(paths, Iterable):
        raise TelemetryError(
            f"monitor({role}=...) takes a list of paths, got {type(paths).__name__}"
        )
    out = []
    for p in paths:
        if not isinstance(p, (str, os.PathLike)):
            raise TelemetryError(f"monitor({role}=...): {p!r} is not a path")
        out.append(os.fspath(p))
    return out


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: str) -> dict[str, Any]:
    """``{path, exists, kind, sha256, size_bytes, modified}`` (or ``missing``/``error``)."""
    p = Path(path)
    entry: dict[str, Any] = {"path": path, "absolute_path": str(p.absolute())}
    try:
        if p.is_file():
            st = p.stat()
            entry.update(kind="file", sha256=_file_sha256(p), size_bytes=st.st_size)
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file())
            listing = hashlib.sha256()
            size = 0
            for f in files:
                rel = f.relative_to(p).as_posix()
                listing.update(f"{rel}\0{_file_sha256(f)}\n".encode())
                size += f.stat().st_size
            st = p.stat()
            entry.update(kind="directory", sha256=listing.hexdigest(), size_bytes=size)
            entry["files"] = len(files)
        else:
            entry.update(exists=False, status="missing")
            return entry
    except OSError as exc:  # unreadable: say so, do not guess
        entry.update(exists=p.exists(), status="error", error=f"{type(exc).__name__}: {exc}")
        return entry
    entry["exists"] = True
    entry["status"] = "hashed"
    entry["modified"] = (
        datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat().replace("+00:00", "Z")
    )
    return entry


def fingerprints(paths: list[str]) -> list[dict[str, Any]]:
    return [fingerprint(p) for p in paths]
