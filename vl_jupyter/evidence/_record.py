"""The values the evidence store hands out: records, and the result of ``verify()``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EvidenceError
from ._jsonable import dumps_canonical, record_hash

#: The first record format: the file is compact JSON in field order, and its hash is the
#: sha256 of the canonical JSON of every other field (a verifier re-serialises it).
SCHEMA_V1 = "vl_jupyter.evidence/1"
#: What ``append`` writes: the file *is* the canonical JSON of every field but ``hash``,
#: with ``,"hash":"<hex>"`` spliced in before its last ``}`` (see :func:`encode_record`).
SCHEMA = "vl_jupyter.evidence/2"
GENESIS = "0" * 64
#: ``,"hash":"`` + 64 hex digits + ``"}`` + newline: the end of every /2 record file.
TRAILER_LEN = 9 + 64 + 3
_UTC = dt.timezone.utc
#: The fields of an index line that must equal the record file's.
_LISTED = ("id", "kind", "created", "session", "seq", "hash", "prev_hash", "summary")
RECORD_KEYS = frozenset(
    ("schema", "seq", "id", "kind", "created", "session", "summary", "prev_hash", "data", "hash")
)


def format_created(when: dt.datetime) -> str:
    """``2026-11-22T09:30:00.123456Z``: UTC, microseconds, always the same width."""
    return when.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_created(text: str) -> dt.datetime:
    """Inverse of :func:`format_created` (an aware UTC datetime)."""
    if sys.version_info >= (3, 11):  # parses the "Z" itself, one C call
        return dt.datetime.fromisoformat(text)
    return dt.datetime.fromisoformat(text.rstrip("Z")).replace(tzinfo=_UTC)


def _canonical_body(doc: dict[str, Any]) -> bytes:
    """The canonical JSON of every field but ``hash``: the bytes the hash is taken of."""
    return dumps_canonical({k: v for k, v in doc.items() if k != "hash"})


def _with_trailer(body: bytes, digest: str) -> bytes:
    """``body`` with ``,"hash":"<hex>"`` put before its closing ``}``, and a newline."""
    return b'%s,"hash":"%s"}\n' % (body[:-1], digest.encode("ascii"))


def hash_and_encode(doc: dict[str, Any]) -> bytes:
    """Set ``doc["hash"]`` and return the record file's bytes, serialising ``doc`` once
    (:func:`encode_record` without its second serialisation and hash: this is where the
    hash is made, so there is nothing to check it against)."""
    body = _canonical_body(doc)
    doc["hash"] = hashlib.sha256(body).hexdigest()
    return _with_trailer(body, doc["hash"])


def encode_record(doc: dict[str, Any]) -> bytes:
    """The bytes of a ``vl_jupyter.evidence/2`` record file (``doc["hash"]`` already set).

    The canonical JSON of every field but ``hash`` -- the exact bytes the hash is taken
    of -- with ``,"hash":"<hex>"`` put before its closing ``}``, and a newline. So the
    file's bytes up to the trailer, plus ``}``, hash to ``hash``: a verifier hashes what
    is stored instead of parsing and re-serialising it, and a tool that only knows the
    /1 rule (parse, drop ``hash``, canonical JSON, sha256) computes the same hash.
    """
    body = _canonical_body(doc)
    if hashlib.sha256(body).hexdigest() != doc["hash"]:  # a caller's bug, never data
        raise EvidenceError(f"record {doc.get('id')}: its hash is not its content's")
    return _with_trailer(body, doc["hash"])


def stored_hash(raw: bytes) -> str | None:
    """The sha256 of a /2 record file's stored bytes (all but the hash trailer, then
    ``}``), or None when ``raw`` does not have the /2 layout: it must open with
    ``{"created":"`` (the first key in canonical order) and end with the trailer.

    A /1 file opens with ``{"schema"``, so this never applies to one.
    """
    if (
        len(raw) <= TRAILER_LEN
        or not raw.startswith(b'{"created":"')
        or raw[-TRAILER_LEN : -TRAILER_LEN + 9] != b',"hash":"'
        or not raw.endswith(b'"}\n')
    ):
        return None
    digest = hashlib.sha256(memoryview(raw)[:-TRAILER_LEN])
    digest.update(b"}")
    return digest.hexdigest()


def content_hash(raw: bytes, doc: dict[str, Any]) -> str:
    """The hash record file ``raw`` (parsed: ``doc``) has, to compare with its ``hash``.

    A /2 file in the /2 layout: the sha256 of its stored bytes (:func:`stored_hash`).
    Anything else (a /1 file, or a /2 file someone re-serialised): the /1 rule, the
    sha256 of the canonical JSON of every field but ``hash``. Both are the same number for
    a file ``append`` wrote; a re-serialised file keeps its hash only if its content did.
    """
    if doc.get("schema") == SCHEMA:
        found = stored_hash(raw)
        if found is not None:
            return found
    return record_hash(doc)


@dataclass(frozen=True)
class EvidenceRecord:
    """One immutable record of the store, as listed by the index.

    ``data`` is read from the record file on first access (listing never opens record
    files) and then cached; on that read the file's hash is recomputed, so code that
    forwards ``data`` (the sidebar, the tracker sync) never forwards an edited record
    without an error.
    """

    id: str
    kind: str
    created: dt.datetime
    session: str
    seq: int
    hash: str
    prev_hash: str
    summary: dict[str, Any]
    file: str
    _dir: Path = field(repr=False, compare=False)
    _data: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def __hash__(self) -> int:  # usable in sets and as dict keys despite the dict fields
        return hash((self.id, self.hash))

    @property
    def path(self) -> Path:
        """The record file (``records/<seq>_<id>.json`` under the store root)."""
        return self._dir / self.file

    @property
    def data(self) -> dict[str, Any]:
        """The record's payload, exactly as stored (loaded lazily, then cached)."""
        if self._data is None:
            object.__setattr__(self, "_data", load_record_file(self.path, self)["data"])
        return self._data  # type: ignore[return-value]

    def integrity(
        self, prev: EvidenceRecord | None, nxt: EvidenceRecord | None
    ) -> tuple[str, str | None]:
        """Whether what the index says of this record can be trusted, given the records
        listed just before and after it (None where not listed): ``("verified", None)``
        when the record file matches its own hash, every field of its index line (the
        summary the traffic lights come from included) and both links of the chain;
        ``("damaged", why)`` when it does not; ``("unverified", why)`` when the record
        before it is not listed, so that link cannot be checked.

        Reads one file; :func:`verify` checks the whole chain.
        """
        try:
            doc = load_record_file(self.path, self)
        except EvidenceError as err:
            return "damaged", err.message
        listed = self.to_dict()
        differ = [k for k in _LISTED if doc.get(k) != listed.get(k)]
        if differ:
            return "damaged", f"the index disagrees with the record file on {', '.join(differ)}"
        if self.seq == 1:
            if self.prev_hash != GENESIS:
                return "damaged", "the first record does not start the chain"
        elif prev is None:
            return "unverified", f"seq {self.seq - 1} is not listed: the link to it is unchecked"
        elif prev.hash != self.prev_hash:
            return "damaged", f"it does not link to the record before it (seq {self.seq - 1})"
        if nxt is not None and nxt.prev_hash != self.hash:
            return "damaged", f"the record after it (seq {self.seq + 1}) does not link to it"
        return "verified", None

    def to_dict(self, with_data: bool = False) -> dict[str, Any]:
        """JSON-ready form (for the server API and the sidebar); ``data`` only if asked."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "created": format_created(self.created),
            "session": self.session,
            "seq": self.seq,
            "hash": self.hash,
            "prev_hash": self.prev_hash,
            "summary": self.summary,
            "file": self.file,
            "path": str(self.path),
        }
        if with_data:
            out["data"] = self.data
        return out


def record_from_entry(
    entry: dict[str, Any],
    records_dir: Path,
    data: dict[str, Any] | None = None,
    checked: bool = False,
) -> EvidenceRecord:
    """Build a record from one index line (already parsed); ``data`` if already known.

    EvidenceError when the line cannot be trusted (:func:`_files.entry_problem`): its file
    name, id, session or fields would lead outside the store or do not parse. ``checked``
    says the caller already held the line against that check.
    """
    from ._files import entry_problem

    why = None if checked else entry_problem(entry)  # ``checked``: read_index did it
    if why is not None:
        raise EvidenceError(
            f"index line not used: {why}", hint="run vl_jupyter.evidence.verify() for details"
        )
    return EvidenceRecord(
        id=entry["id"],
        kind=entry["kind"],
        created=parse_created(entry["created"]),
        session=entry["session"],
        seq=entry["seq"],
        hash=entry["hash"],
        prev_hash=entry["prev_hash"],
        summary=entry["summary"],
        file=entry["file"],
        _dir=records_dir,
        _data=data,
    )


def load_record_file(path: Path, expect: EvidenceRecord | None = None) -> dict[str, Any]:
    """Read and check one record file; EvidenceError if missing, malformed or edited.

    The file must be a plain file inside its store's own ``records/`` folder: a symlinked
    file or ``records/`` folder is refused, never followed.
    """
    from ._files import read_nofollow, records_dir_problem

    outside = records_dir_problem(path.parent)
    if outside is not None:
        raise EvidenceError(outside, file=str(path))
    try:
        raw = read_nofollow(path)
        doc = json.loads(raw)
    except FileNotFoundError:
        raise EvidenceError("the record file is missing", file=str(path)) from None
    except OSError as exc:
        if os.path.islink(path):
            raise EvidenceError(
                "the record file is a symlink: it is never followed", file=str(path)
            ) from None
        raise EvidenceError(f"the record file cannot be read: {exc}", file=str(path)) from None
    except ValueError as exc:
        raise EvidenceError(f"the record file cannot be read: {exc}", file=str(path)) from None
    if not isinstance(doc, dict) or not doc.keys() >= RECORD_KEYS:
        raise EvidenceError("the file is not an evidence record", file=str(path))
    if content_hash(raw, doc) != doc["hash"]:
        raise EvidenceError(
            f"record {doc['id']} was modified after it was written (hash mismatch)",
            file=str(path),
            hint="run vl_jupyter.evidence.verify() for the full report",
        )
    if expect is not None and (doc["id"], doc["hash"]) != (expect.id, expect.hash):
        raise EvidenceError(
            f"the file holds record {doc['id']}, not record {expect.id} listed by the index",
            file=str(path),
            hint="run vl_jupyter.evidence.verify() for the full report",
        )
    return doc


@dataclass(frozen=True)
class Problem:
    """One finding of ``verify()``: which record, what kind of damage, in words."""

    record_id: str | None
    seq: int | None
    code: str
    message: str
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "seq": self.seq,
            "code": self.code,
            "message": self.message,
            "file": self.file,
        }


@dataclass
class VerifyResult:
    """What ``verify()`` found. ``ok`` is False when there is at least one problem.

    ``notes`` hold benign findings (e.g. a write interrupted after its record file was
    in place, which the next append re-indexes); they do not make ``ok`` False.
    """

    ok: bool
    checked: int
    problems: list[Problem]
    notes: list[Problem] = field(default_factory=list)
    head: tuple[int, str] | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        lines = [f"evidence {'OK' if self.ok else 'DAMAGED'}: {self.checked} records checked"]
        lines += [f"  problem [{p.code}] {p.message}" for p in self.problems]
        lines += [f"  note [{p.code}] {p.message}" for p in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": list(self.head) if self.head else None,
            "problems": [p.to_dict() for p in self.problems],
            "notes": [p.to_dict() for p in self.notes],
        }
