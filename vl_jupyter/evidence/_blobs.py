"""Content-addressed blobs of the store: each enforced policy text once, not once a record.

An ``enforce`` record used to carry the whole policy text (2-3 KB) although the same text
is enforced again and again. Now the text lives once in ``policies/<sha256>.<ext>``
(``<sha256>`` of the stored bytes, UTF-8; ``<ext>`` ``yaml``, ``json`` or ``txt`` after
the policy file's suffix, so a person can open it), and the record's ``policy`` names it
in ``text_file``. The record's own hash covers that name and so, through the sha256 in
it, the text: editing the blob breaks the chain's meaning exactly as editing the record
would, and :func:`verify_blobs` says so.

- A blob is written once, durably (fsync of the file and of ``policies/``) and before the
  record that names it, read-only (0o444). Writing a text that is already there costs a
  read and a hash; a blob found altered is rewritten from the text whose sha256 names it
  (a ``VLWarning`` says so: the text is known, only the copy was damaged).
- :func:`read_text` refuses a name that is not ``policies/<64 hex>.<ext>``, a symlink, a
  missing file or bytes that do not hash to the name, each an ``EvidenceError`` naming the
  file: a reader never gets a text the record did not commit to.
- :func:`policy_text` is what every reader calls: the inline ``text`` of a record written
  before blobs existed (old stores keep reading and verifying), else the blob.
- ``verify()`` calls :func:`verify_blobs` with the blob names of the records it walked
  and gets ``blob_missing``/``blob_edited`` problems back; every blob in ``policies/`` is
  re-hashed each time (there is one per distinct policy text), and the names seen at the
  last clean verify are kept in ``.verified-policies.json`` (beside the checkpoint, outside
  ``policies/`` so that deleting the whole folder is noticed too) so that an incremental
  verify, which does not re-read old records, still notices a blob that disappeared.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import EvidenceError, VLWarning
from . import _files
from ._record import Problem

DIR = "policies"
SEEN = ".verified-policies.json"  # in the root: blob names present at the last clean verify
EXTENSIONS = ("yaml", "json", "txt")
_NAME_RE = re.compile(r"^policies/([0-9a-f]{64})\.(yaml|json|txt)\Z")
_SUFFIX = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def extension_for(source: Any) -> str:
    """The blob extension for a policy read from ``source`` (a file name, or None for a
    policy given as a dict, whose text is JSON)."""
    if source is None or source == "<dict>":
        return "json"
    suffix = os.path.splitext(str(source))[1].lower()
    return _SUFFIX.get(suffix, "txt")


def blob_name(text: str, ext: str = "txt") -> str:
    """``policies/<sha256 of the UTF-8 bytes>.<ext>``: where ``text`` is stored."""
    if ext not in EXTENSIONS:
        raise EvidenceError(f"blob extension {ext!r} is not one of {', '.join(EXTENSIONS)}")
    return f"{DIR}/{hashlib.sha256(text.encode('utf-8')).hexdigest()}.{ext}"


def check_name(name: Any) -> str:
    """``name`` if it is a blob name (``policies/<64 hex>.<ext>``), else EvidenceError:
    a record's ``text_file`` must never lead anywhere else in (or out of) the store."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise EvidenceError(
            f"{name!r} is not a policy blob name",
            hint="a blob is named policies/<64 hex digits of its sha256>.yaml|json|txt",
        )
    return name


def _dir_problem(root: Path) -> str | None:
    folder = root / DIR
    if os.path.islink(folder):
        return f"{folder} is a link to {os.path.realpath(folder)}, outside the store"
    return None


def put_text(root: Path, text: str, ext: str) -> str:
    """Store ``text`` once; returns its blob name. Call before appending the record that
    names it (the blob is durable when this returns)."""
    if not isinstance(text, str):
        raise EvidenceError(f"a policy text must be str, got {type(text).__name__}")
    name = blob_name(text, ext)
    why = _dir_problem(root)
    if why is not None:
        raise EvidenceError(f"cannot store the policy text: {why}", file=str(root / DIR))
    payload = text.encode("utf-8")
    path = root / name
    try:
        found = _files.read_nofollow(path)
    except FileNotFoundError:
        found = None
    except OSError as exc:
        raise EvidenceError(f"cannot read {name}: {exc}", file=str(path)) from None
    if found == payload:
        return name
    if found is not None:
        warnings.warn(
            f"{path} did not hash to its name (it was altered); rewritten from the policy "
            "text it names. Run verify(): records that name it were unreadable meanwhile",
            VLWarning,
            stacklevel=4,
        )
    try:
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _files.fsync_dir(root)  # the new folder's own entry, before the record names it
        _files.write_atomic(path, payload, 0o444, durable=True)
    except OSError as exc:
        raise EvidenceError(f"cannot write {name}: {exc}", file=str(path)) from exc
    return name


def read_text(root: Path, name: Any) -> str:
    """The text stored under blob ``name``; EvidenceError naming the file when the name is
    not a blob name, the file is missing, a link, or does not hash to its name."""
    name = check_name(name)
    digest = name[len(DIR) + 1 : len(DIR) + 65]
    path = root / name
    why = _dir_problem(root)
    if why is not None:
        raise EvidenceError(f"cannot read {name}: {why}", file=str(path))
    try:
        raw = _files.read_nofollow(path)
    except FileNotFoundError:
        raise EvidenceError(
            f"the policy text {name} is missing from the store {root}",
            file=str(path),
            hint="restore it from a backup or an export bundle; verify() lists the records "
            "that name it",
        ) from None
    except OSError as exc:
        raise EvidenceError(f"cannot read {name}: {exc}", file=str(path)) from None
    if hashlib.sha256(raw).hexdigest() != digest:
        raise EvidenceError(
            f"{name} was altered: its bytes do not hash to its name", file=str(path)
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # cannot happen for bytes that hash right
        raise EvidenceError(f"{name} is not UTF-8 ({exc})", file=str(path)) from None


def policy_text(policy: Any, root: str | Path | None) -> str | None:
    """The policy text a record's ``policy`` dict holds: inline ``text`` (records written
    before blobs), else the blob ``text_file`` names under ``root`` (EvidenceError if it
    is missing or altered), else None (no text was recorded, e.g. a metrics-only report
    of a foreign writer)."""
    if not isinstance(policy, Mapping):
        return None
    text = policy.get("text")
    if isinstance(text, str):
        return text
    name = policy.get("text_file")
    if name is None:
        return None
    if root is None:
        raise EvidenceError(f"the policy text {name} needs the store it was recorded in")
    return read_text(Path(root), name)


#: The index-line summary key that repeats an enforce record's blob name, so that verify()
#: can collect the names from the index (which it reads for every record anyway) without
#: parsing record files it otherwise checks by their bytes alone. ~85 bytes a line.
SUMMARY_KEY = "policy_text"


def names_in(doc: Mapping[str, Any]) -> list[Any]:
    """The blob names a record document or index entry refers to: its policy's
    ``text_file`` and its summary's :data:`SUMMARY_KEY` (the same name, twice covered by
    the record's hash; both are collected, so a disagreement is found as a missing blob)."""
    found = []
    summary = doc.get("summary")
    if isinstance(summary, Mapping) and SUMMARY_KEY in summary:
        found.append(summary[SUMMARY_KEY])
    data = doc.get("data")
    policy = data.get("policy") if isinstance(data, Mapping) else None
    if isinstance(policy, Mapping) and "text_file" in policy and policy["text_file"] not in found:
        found.append(policy["text_file"])
    return found


class BlobRefs:
    """Blob names of the records a verify walked, with the first record naming each.

    :meth:`note` takes a record document or its index entry (both carry the summary)."""

    def __init__(self) -> None:
        self.first: dict[Any, tuple[str, int, str | None]] = {}  # name -> (id, seq, file)

    def note(self, doc: Mapping[str, Any], seq: int, rel: str | None) -> None:
        for name in names_in(doc):
            key = name if isinstance(name, str) else repr(name)
            self.first.setdefault(key, (str(doc.get("id")), seq, rel or _entry_file(doc)))

    def note_raw(self, raw: bytes, entry: Mapping[str, Any], seq: int, rel: str | None) -> None:
        """For a record verify checks by its bytes alone (not parsed): its index ``entry``
        names its blob (noted with the entry); a record whose summary does not, but whose
        bytes hold a ``text_file`` (a foreign or older writer), is parsed for it."""
        self.note(entry, seq, rel)
        summary = entry.get("summary")
        if isinstance(summary, Mapping) and SUMMARY_KEY in summary:
            return
        if b'"text_file"' in raw:
            try:
                doc = json.loads(raw)
            except ValueError:
                return
            if isinstance(doc, Mapping):
                self.note(doc, seq, rel)


def _entry_file(doc: Mapping[str, Any]) -> str | None:
    name = doc.get("file")
    return f"records/{name}" if isinstance(name, str) else None


def verify_blobs(root: Path, refs: BlobRefs, *, save: bool) -> list[Problem]:
    """Problems of the store's blobs: a name a walked record gives that is no blob name or
    whose file is missing (``blob_missing``), a blob whose bytes do not hash to its name
    or that is a link (``blob_edited``), a blob seen at the last clean verify that is gone
    (``blob_missing``). With ``save`` and no problem, remembers the blobs present."""
    problems: list[Problem] = []
    folder = root / DIR
    why = _dir_problem(root)
    if why is not None:
        return [Problem(None, None, "outside_store", f"{why}: it is never read", DIR)]
    present = sorted(os.listdir(folder)) if folder.is_dir() else []
    blobs = {f"{DIR}/{n}" for n in present if not n.startswith(".")}
    for name in sorted(blobs):
        match = _NAME_RE.match(name)
        path = root / name
        if not match:
            problems.append(
                Problem(None, None, "unexpected_file", f"{name} is not a policy blob name", name)
            )
            continue
        try:
            raw = _files.read_nofollow(path)
        except OSError as exc:
            msg = f"{name} cannot be read as a plain file ({exc}): a link or damaged"
            problems.append(Problem(None, None, "blob_edited", msg, name))
            continue
        if hashlib.sha256(raw).hexdigest() != match[1]:
            msg = f"{name} was altered: its bytes do not hash to its name"
            problems.append(Problem(None, None, "blob_edited", msg, name))
    for name, (rid, seq, rel) in refs.first.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            msg = f"record {rid} (seq {seq}, {rel}) names {name} as its policy text, which "
            problems.append(Problem(rid, seq, "blob_missing", msg + "is no blob name", rel))
        elif name not in blobs:
            msg = f"{name}, the policy text of record {rid} (seq {seq}, {rel}), is missing"
            problems.append(Problem(rid, seq, "blob_missing", msg, name))
    seen_path = root / SEEN
    try:
        seen = json.loads(_files.read_nofollow(seen_path))
    except (OSError, ValueError):
        seen = []
    for name in seen if isinstance(seen, list) else []:
        if isinstance(name, str) and name not in blobs and name not in refs.first:
            msg = f"{name}, the policy text of records verified earlier, is missing"
            problems.append(Problem(None, None, "blob_missing", msg, name))
    if save and not problems and blobs and sorted(blobs) != seen:
        try:
            body = json.dumps(sorted(blobs)).encode("utf-8")
            _files.write_atomic(seen_path, body, 0o644, durable=False)
        except OSError:
            pass  # a cache: the next verify re-derives what it can
    return problems
