"""Tamper-evident evidence store (EU AI Act Art. 12 record keeping).

Every ``enforce()`` call, monitored cell, human review and tracker sync appends one
record here. Records are immutable JSON files forming a sha256 hash chain, listed through
an append-only index; ``verify()`` re-derives the chain and names any record that was
edited, deleted, reordered or is unreadable. See docs/evidence.md.

Module-level functions act on the store at ``root`` (default :func:`default_root`):

>>> rec = append("enforce", {"accuracy": 0.8125}, summary={"passed": 3})
>>> [r.kind for r in records()], rec.summary
(['enforce'], {'passed': 3})
>>> verify().ok
True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ._blobs import SUMMARY_KEY as BLOB_SUMMARY_KEY
from ._blobs import extension_for as blob_extension
from ._blobs import policy_text
from ._deferred import drain as drain_run_files
from ._deferred import flush
from ._deferred import writer as deferred_writer
from ._durability import configure as configure_durability
from ._history import check_tag, history, record_origin, tag, tagged, tags
from ._hooks import register_signer
from ._jsonable import to_jsonable
from ._record import EvidenceRecord, Problem, VerifyResult
from ._record import format_created as format_timestamp
from ._runs import (
    MAX_RESULTS,
    close_run,
    has_run_writers,
    latest_run,
    open_run,
    register_run_writer,
    unregister_run_writer,
)
from ._runs import accumulate as accumulate_results
from ._session import check_id, current_session, session
from ._store import EvidenceStore, default_root

__all__ = [
    "BLOB_SUMMARY_KEY",
    "MAX_RESULTS",
    "EvidenceRecord",
    "EvidenceStore",
    "Problem",
    "VerifyResult",
    "accumulate_results",
    "append",
    "blob_extension",
    "check_record_id",
    "check_tag",
    "close_run",
    "configure_durability",
    "current_session",
    "default_root",
    "deferred_writer",
    "drain_run_files",
    "flush",
    "format_timestamp",
    "get",
    "has_run_writers",
    "history",
    "latest_run",
    "open_run",
    "policy_text",
    "record_origin",
    "records",
    "register_run_writer",
    "register_signer",
    "session",
    "tag",
    "tagged",
    "tags",
    "to_jsonable",
    "unregister_run_writer",
    "verify",
]


def check_record_id(value: object) -> str:
    """``value`` if it has the shape of a record id (safe in a path or URL), else
    :class:`EvidenceError` saying what an id looks like."""
    return check_id(value)


def append(
    kind: str,
    data: Mapping[str, Any],
    *,
    session: str | None = None,
    summary: Mapping[str, Any] | None = None,
    root: str | Path | None = None,
) -> EvidenceRecord:
    """Append one record to the store at ``root``; see :meth:`EvidenceStore.append`."""
    return EvidenceStore(root).append(kind, data, session=session, summary=summary)


def records(
    kind: str | None = None, root: str | Path | None = None, session: str | None = None
) -> Iterator[EvidenceRecord]:
    """Records of the store at ``root``, newest first; see :meth:`EvidenceStore.records`."""
    return EvidenceStore(root).records(kind=kind, session=session)


def get(record_id: str, root: str | Path | None = None) -> EvidenceRecord:
    """The record with ``record_id``; EvidenceError if malformed or unknown."""
    return EvidenceStore(root).get(record_id)


def verify(root: str | Path | None = None, *, full: bool = False) -> VerifyResult:
    """Verify the store at ``root``; returns problems, never raises for damage.

    Resumes from the last clean verify's checkpoint unless ``full`` (see
    :meth:`EvidenceStore.verify`)."""
    return EvidenceStore(root).verify(full=full)
