"""Record ids, session ids and the evidence session context.

An *evidence session* groups the records one unit of work produced: a monitored cell and
every ``enforce()`` call inside it share one session id, so the sidebar and the tracker
sync can show them together and ``runs/<session>/`` can hold that unit's side files.
The current session lives in a ``contextvars.ContextVar`` so it follows threads started
with ``contextvars.copy_context()`` and asyncio tasks, and never leaks between them.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import EvidenceError

#: ``20261122T093000123456Z-1a2b3c4d``: UTC time to the microsecond, then 32 random bits.
ID_RE = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")
#: What a caller-chosen session name may look like (it becomes a directory name).
SESSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "vl_jupyter_evidence_session", default=None
)


def new_id(now: dt.datetime | None = None) -> str:
    """A new id: unique across machines, URL- and filename-safe, sortable by time."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(4)


def check_id(record_id: object) -> str:
    """Return ``record_id`` if it is a well-formed record id, else raise EvidenceError."""
    if not isinstance(record_id, str) or not ID_RE.match(record_id):
        raise EvidenceError(
            f"{record_id!r} is not an evidence record id",
            hint="ids look like 20261122T093000123456Z-1a2b3c4d",
        )
    return record_id


def check_kind(kind: object) -> str:
    """Return ``kind`` if it is a short lowercase identifier, else raise EvidenceError."""
    if not isinstance(kind, str) or not KIND_RE.match(kind):
        raise EvidenceError(
            f"evidence kind {kind!r} is not a short identifier",
            hint="use lowercase letters, digits and '_', starting with a letter, "
            "e.g. 'enforce', 'telemetry', 'review', 'sync'",
        )
    return kind


def check_session(name: object) -> str:
    """Return ``name`` if it can serve as a session id (and a directory name)."""
    if not isinstance(name, str) or not SESSION_RE.match(name):
        raise EvidenceError(
            f"session name {name!r} cannot be used as a session id",
            hint="use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return name


def current_session() -> str | None:
    """The id of the evidence session this code runs in, or None outside any session."""
    return _current.get()


@contextmanager
def session(name: str | None = None) -> Iterator[str]:
    """Run a block as one evidence session; yields the session id.

    Records appended inside the block carry this id. ``name`` becomes the id as given
    (validated: it is used as a directory name under ``runs/``); without it a fresh id is
    made. A nested ``session()`` joins the outer one and yields the outer id whatever
    ``name`` it was given, so a monitored cell and the ``enforce()`` calls inside it share
    one id.
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    sid = check_session(name) if name is not None else new_id()
    token = _current.set(sid)
    try:
        yield sid
    finally:
        _current.reset(token)
