"""The evidence stores under the server's root directory, and the listing the API serves.

A notebook writes its evidence to ``.venturalitica/`` in its working directory, so a
project with notebooks in several folders has several stores. :class:`Catalogue` finds
them (a bounded walk of the root that skips hidden folders, virtual environments and
``node_modules``), reads each one through :class:`~vl_jupyter.evidence.EvidenceStore`,
and caches each store's listing until its ``index.jsonl`` changes: a poll of an
unchanged 10,000-record project costs a few ``stat`` calls and one sort.

Nothing here reads outside the root: a ``.venturalitica`` that is a symlink leading out
of it is ignored, and a store named by a client must be one the walk found.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..enforcement import STATUSES as CONTROL_STATUSES
from ..enforcement import Status
from ..errors import EvidenceError, VLError
from ..evidence import EvidenceRecord, EvidenceStore, check_record_id

STORE_DIR = ".venturalitica"
#: Folders never searched for stores (besides every hidden folder).
SKIP_DIRS = frozenset(("node_modules", "__pycache__", "site-packages", "venv", "env"))
#: How deep below the root a notebook folder may be.
MAX_DEPTH = 8
#: Seconds a walk of the root is reused (stores appear rarely; records often).
DISCOVERY_TTL_S = 3.0
#: Kinds that are never shipped to trackers (a ``sync`` record documents a sync itself).
UNSYNCABLE_KINDS = frozenset(("sync",))
#: A record's traffic light: a control's statuses, and ``info`` for records that judge
#: nothing (a sync, an export).
STATUSES = (*CONTROL_STATUSES, "info")
_STATUS_SET = frozenset(STATUSES)
SYNC_STATES = ("pending", "synced")
MAX_LIMIT = 500
#: An index at least this big is first listed from its end (TAIL_ENTRIES lines), the rest
#: in a background thread: the first page of a 100,000-record store does not wait for a
#: parse of every line (about 1 s).
TAIL_MIN_BYTES = 8 << 20
TAIL_ENTRIES = MAX_LIMIT
#: The background listing waits this long first, so the page that started it is not
#: slowed down by it (they share the GIL).
TAIL_DEFER_S = 0.25
#: The index key a background read leaves: the next poll reads what was appended since.
_KEY_SENTINEL = (-1, -1)
#: How many distinct page requests (filters, offsets) are kept for unchanged polls.
PAGE_CACHE = 32
log = logging.getLogger(__name__)


class ApiError(VLError):
    """An error the API reports as JSON: HTTP status, stable code, actionable message.

    Part of the package's error family; its code is also in ``errors.HTTP_STATUS`` when
    the status is not 400 (``tests/test_error_codes.py`` holds the two together).
    """

    def __init__(self, status: int, code: str, message: str, hint: str | None = None) -> None:
        self.status = status
        self.code = code  # per instance: the server's codes are many and request-specific
        super().__init__(message, hint=hint)

    def _render(self) -> str:
        return self.message  # the hint travels in its own JSON field

    @property
    def http_status(self) -> int:
        return self.status

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "hint": self.hint}


class NewestFirst(Sequence):
    """A newest-first, read-only view of the first ``n`` items of an oldest-first list.

    A poll after an append adds the appended records (and the rows they make) to the end
    of that list in place -- O(appended) -- and hands out a new view with a larger
    ``n``; views handed out before keep their own ``n``, so they never change. Building
    ``fresh + records`` instead copied 100,000 references per store per poll (~1 ms each
    under load), twice. Compared by identity, as the lists it replaces were.
    """

    __slots__ = ("_items", "_n")

    def __init__(self, oldest_first: list[Any], n: int | None = None) -> None:
        self._items = oldest_first
        self._n = len(oldest_first) if n is None else n

    @classmethod
    def of(cls, newest_first: Sequence[Any]) -> NewestFirst:
        """A view of a newest-first sequence (copied once, reversed)."""
        return cls(list(reversed(newest_first)))

    def grown(self, newest_first: Sequence[Any]) -> NewestFirst:
        """A view of ``newest_first + self``: in place when this is the newest view of
        its list, else (an older view) on a copy."""
        items = self._items if self._n == len(self._items) else self._items[: self._n]
        items.extend(reversed(newest_first))
        return NewestFirst(items)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        n = self._n
        if isinstance(i, slice):
            start, stop, step = i.indices(n)
            if step != 1:
                return list(self)[i]
            if stop <= start:
                return []
            return self._items[n - stop : n - start][::-1]
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("NewestFirst index out of range")
        return self._items[n - 1 - i]

    def __iter__(self) -> Iterator[Any]:
        items = self._items
        # a reversed() iterator starts at the index it was made at: later appends unseen
        return reversed(items) if self._n == len(items) else reversed(items[: self._n])

    def __reversed__(self) -> Iterator[Any]:
        return iter(self._items[: self._n])

    def __repr__(self) -> str:
        return f"NewestFirst({self._n} items)"


@dataclass(frozen=True)
class RecordFilter:
    """The sidebar's filters on one listing; hashable, so it keys the per-store cache of
    filtered rows (``Store._filtered``)."""

    kind: str | None = None
    excluded: frozenset[str] = frozenset()  # kinds left out (the sync ledger's records)
    status: str | None = None
    session: str | None = None
    sync: str | None = None  # "pending" | "synced"
    target: str | None = None  # with ``sync``: synced to this tracker

    def matches(self, rec: EvidenceRecord, synced: dict[str, Any]) -> bool:
        if (self.kind is not None and rec.kind != self.kind) or rec.kind in self.excluded:
            return False
        if self.session is not None and rec.session != self.session:
            return False
        if self.status is not None and record_status(rec.kind, rec.summary) != self.status:
            return False
        if self.sync is not None:
            if rec.kind in UNSYNCABLE_KINDS:
                return False
            done = synced.get(rec.id) or {}
            is_synced = self.target in done if self.target else bool(done)
            if is_synced != (self.sync == "synced"):
                return False
        return True


@dataclass
class Store:
    """One ``.venturalitica/`` directory under the root."""

    path: Path  # absolute
    rel: str  # posix path of the store relative to the root, e.g. "notebooks/.venturalitica"
    notebook: str  # the folder it belongs to, relative to the root ("." for the root)
    _key: tuple[int, int] | None = field(default=None, repr=False)
    _records: Sequence[EvidenceRecord] = field(default_factory=list, repr=False)
    _offset: int = field(default=0, repr=False)  # bytes of the index read (-1: unknown)
    _sync: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    _sync_stale: bool = field(default=True, repr=False)
    #: why index lines were left out, or the store could not be read (listed as damaged)
    _damaged: list[str] = field(default_factory=list, repr=False)
    #: (id, hash, prev, next) -> (integrity, reason); see Catalogue.integrity
    _checked: dict[tuple, tuple[str, str | None]] = field(default_factory=dict, repr=False)
    #: (the _records list it was built from, or None before the first build; seq -> record)
    _by_seq: tuple[Sequence[EvidenceRecord] | None, dict[int, EvidenceRecord]] = field(
        default_factory=lambda: (None, {}), repr=False
    )
    #: True while only the index's newest lines are listed (a big store's first read);
    #: a background thread lists the rest (see Catalogue._load)
    _partial: bool = field(default=False, repr=False)
    _gen: int = field(default=0, repr=False)  # bumped by every full (re)read
    #: page filters -> (records, sync state, matching rows) of the last pass, so a poll
    #: after an append filters only the appended records
    _filtered: dict[RecordFilter, tuple[Sequence, dict, NewestFirst]] = field(
        default_factory=dict, repr=False
    )

    def evidence(self) -> EvidenceStore:
        return EvidenceStore(self.path)


def _read_up_to(evidence: EvidenceStore, newest: EvidenceRecord | None) -> int:
    """Bytes of the index up to and including the line of ``newest`` (0 if no records).

    Lines appended after a full read are then picked up by the next incremental read;
    -1 means the next read is a full one.
    """
    if newest is None:
        return 0
    offset = evidence.index_offset(newest.id)
    return -1 if offset is None else offset


def record_status(kind: str, summary: dict[str, Any]) -> str:
    """The traffic light of one record: pass, warn, fail, error, skipped or info.

    Only values of the documented types count: a summary whose ``status``/``passed``/
    ``success`` is of another type (a hand-edited or foreign index) is ``error``, never a
    green light by accident of truthiness.
    """
    if type(summary) is not dict:
        return Status.ERROR
    if kind == "enforce":
        status = summary.get("status")
        if type(status) is str and status in _STATUS_SET:  # the common case, first
            return status
        passed = summary.get("passed")
        return (
            {True: Status.PASS, False: Status.FAIL}.get(passed, Status.ERROR)
            if type(passed) is bool
            else Status.ERROR
        )
    if kind == "telemetry":
        success = summary.get("success", True)
        if type(success) is not bool:
            return Status.ERROR
        return Status.PASS if success else Status.ERROR
    if kind == "review":  # a human decision on a control, or a report's sign-off
        decision = summary.get("decision")
        if not isinstance(decision, str):
            return Status.WARN
        # an accepted risk is still a risk: amber, never the green of a pass
        return {"approve": Status.PASS, "reject": Status.FAIL}.get(decision, Status.WARN)
    return "info"


def _number(value: Any) -> float | int | None:
    """``value`` if it is a finite number (not a bool), else None: stable API types."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value == value and abs(value) != float("inf") else None


def _sync_status(root: Path, records: Sequence[EvidenceRecord]) -> dict[str, dict[str, Any]]:
    """``{record_id: {target: {...}}}`` from the sync engine's ledger, read from the
    records just listed (no second read of the index)."""
    from ..trackers import sync_status

    return sync_status(evidence_dir=root, records=records) or {}


def _by_seq(store: Store) -> dict[int, EvidenceRecord]:
    """``{seq: record}`` of the store's listing (for the chain check of each row), kept
    up to date: when the listing only grew by records appended at its front (what an
    incremental read does) just those are added -- a poll after an append costs what it
    appended, not a pass over 100,000 records; any other change rebuilds it. For a seq
    listed twice (a damaged index) the older record is kept, as a rebuild keeps it."""
    built_from, by_seq = store._by_seq
    records = store._records
    if built_from is records:
        return by_seq
    grown = len(records) - len(built_from) if built_from is not None else -1
    if (
        built_from
        and grown > 0
        and records[grown] is built_from[0]
        and records[-1] is built_from[-1]
    ):
        for rec in records[:grown]:
            by_seq.setdefault(rec.seq, rec)
    else:
        by_seq = {}
        for rec in reversed(records):  # oldest first: setdefault keeps the older
            by_seq.setdefault(rec.seq, rec)
    store._by_seq = (records, by_seq)
    return by_seq


def _same_state(old: list[tuple[Any, ...]], new: list[tuple[Any, ...]]) -> bool:
    return len(old) == len(new) and all(
        a[0] == b[0] and a[1] == b[1] and a[2] is b[2] and a[3] is b[3]
        for a, b in zip(old, new, strict=True)
    )


class Catalogue:
    """Every evidence store under ``root_dir``, with cached listings. Thread-safe."""

    def __init__(self, root_dir: str | os.PathLike[str]) -> None:
        self.root = Path(root_dir).expanduser().absolute()
        self._real_root = os.path.realpath(self.root)
        self._lock = threading.RLock()
        self._stores: dict[str, Store] = {}
        self._walked_at = -1e9
        #: page parameters -> (the state it was built from, the page): a poll of an
        #: unchanged project costs a stat per store, not a pass over 100,000 records
        self._pages: dict[tuple, tuple[list[tuple[Any, ...]], dict[str, Any]]] = {}

    # -- discovery ------------------------------------------------------------------
    def stores(self) -> list[Store]:
        """The stores under the root, sorted by path (rediscovered every few seconds)."""
        with self._lock:
            if time.monotonic() - self._walked_at > DISCOVERY_TTL_S:
                found = {}
                for path in self._walk():
                    rel = path.relative_to(self.root).as_posix()
                    found[rel] = self._stores.get(rel) or Store(
                        path, rel, path.parent.relative_to(self.root).as_posix()
                    )
                self._stores, self._walked_at = found, time.monotonic()
            return [self._stores[k] for k in sorted(self._stores)]

    def _walk(self) -> list[Path]:
        out = []
        base_depth = len(self.root.parts)
        for dirpath, dirnames, _files in os.walk(self.root, onerror=lambda _e: None):
            here = Path(dirpath)
            if STORE_DIR in dirnames and self._inside(here / STORE_DIR):
                store = here / STORE_DIR
                if (store / "index.jsonl").is_file() or (store / "records").is_dir():
                    out.append(store)
            if len(here.parts) - base_depth >= MAX_DEPTH or (here / "pyvenv.cfg").exists():
                dirnames[:] = []
            else:
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS]
        return out

    def _inside(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def store(self, rel: str) -> Store:
        """The store at ``rel`` (as the listing names it); ApiError 404 if there is none."""
        for store in self.stores():
            if rel in (store.rel, store.notebook):
                return store
        raise ApiError(
            404,
            "STORE_NOT_FOUND",
            f"no evidence store {rel!r} under the server's root directory",
            "run a notebook cell that calls vl.enforce() or %%vl_monitor to create one",
        )

    # -- listing --------------------------------------------------------------------
    def _load(self, store: Store) -> tuple[Sequence[EvidenceRecord], dict[str, dict[str, Any]]]:
        """The store's records (newest first) and sync state, re-read only on change.

        The index is append-only, so a grown index is read from where the last read
        stopped; the sync state (kept by the sync engine as ``sync`` records) is asked
        for again only when a ``sync`` record arrived. Anything else (a shrunk or rebuilt
        index, an unreadable line) falls back to a full read through the store.
        """
        index = store.path / "index.jsonl"
        try:
            st = index.stat()
            key: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = None
        with self._lock:
            try:
                if key != store._key:
                    fresh = self._appended(store, index) if key and store._key else None
                    if fresh is None and key and st.st_size >= TAIL_MIN_BYTES:
                        self._read_tail(store)
                        store._sync_stale = True
                    elif fresh is None:
                        store._gen += 1
                        store._partial = False
                        listed, store._damaged = store.evidence().listing() if key else ([], [])
                        store._records = NewestFirst.of(listed)
                        newest = store._records[0] if store._records else None
                        store._offset = _read_up_to(store.evidence(), newest)
                        store._sync_stale = True
                    else:
                        store._records = (
                            store._records.grown(fresh)
                            if isinstance(store._records, NewestFirst)
                            else NewestFirst.of([*fresh, *store._records])
                        )
                        store._sync_stale = store._sync_stale or any(
                            r.kind in UNSYNCABLE_KINDS for r in fresh
                        )
                    store._key = key
                if store._sync_stale:
                    store._sync = _sync_status(store.path, store._records) if key else {}
                    store._sync_stale = False
            except Exception as exc:  # one unreadable store must not hide every other one
                log.warning("vl_jupyter: evidence store %s is unreadable: %s", store.rel, exc)
                store._records, store._sync, store._key = [], {}, None
                store._damaged = [f"the store cannot be read: {type(exc).__name__}: {exc}"]
            return store._records, store._sync

    def _read_tail(self, store: Store) -> None:
        """List a big store's newest TAIL_ENTRIES records now and the rest in a thread.

        Until the thread swaps the full listing in, ``store._partial`` is True: a page
        that needs more rows than the tail holds waits for the full read
        (:meth:`_complete`), and the page says ``total_exact: false``.
        """
        store._gen += 1
        tail, store._offset = store.evidence().newest(TAIL_ENTRIES)
        store._records = NewestFirst.of(tail)
        store._damaged = []
        store._partial = True
        gen = store._gen
        threading.Thread(
            target=self._complete, args=(store, gen), name="vl-listing", daemon=True
        ).start()

    def _complete(self, store: Store, gen: int | None = None) -> None:
        """Replace a partial listing with the full one (in the background, or now when a
        page needs it: ``gen`` None). Lines appended meanwhile are read incrementally by
        the next ``_load``: the key is reset so it looks, from the offset of this read."""
        if gen is not None:
            time.sleep(TAIL_DEFER_S)
        try:
            records, damaged = store.evidence().listing()
            offset = _read_up_to(store.evidence(), records[0] if records else None)
        except Exception as exc:  # the next full read reports it
            log.warning("vl_jupyter: listing %s failed: %s", store.rel, exc)
            return
        with self._lock:
            if not store._partial or (gen is not None and gen != store._gen):
                return  # re-read meanwhile (rebuilt index): that listing stands
            store._gen += 1
            store._records, store._damaged, store._offset = (
                NewestFirst.of(records),
                damaged,
                offset,
            )
            store._partial, store._key, store._sync_stale = False, _KEY_SENTINEL, True

    @staticmethod
    def _appended(store: Store, index: Path) -> list[EvidenceRecord] | None:
        """Records appended since the last read, newest first; None if a full read is due."""
        if store._offset < 0:
            return None
        found = store.evidence().records_after(store._offset)
        if found is None:
            return None
        fresh, store._offset = found
        return fresh

    def invalidate(self) -> None:
        """Forget cached walks and sync states (after a sync job, for example)."""
        with self._lock:
            self._walked_at = -1e9
            for store in self._stores.values():
                store._sync_stale = True
            self._pages.clear()

    def version(self, stores: list[Store]) -> str:
        """Changes whenever a store, a record or a sync state changes (for cheap polling)."""
        digest = hashlib.sha1(usedforsecurity=False)
        for store in stores:
            records, synced = self._load(store)
            digest.update(f"{store.rel}:{store._key}:{len(records)}:{len(synced)};".encode())
            digest.update(repr(sorted((k, sorted(v)) for k, v in synced.items())).encode())
        return digest.hexdigest()[:16]

    def page(
        self,
        *,
        kind: str | None = None,
        exclude_kind: str | None = None,
        status: str | None = None,
        notebook: str | None = None,
        session: str | None = None,
        sync: str | None = None,
        target: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        """One page of records of every store, newest first, with the filters applied.

        ``exclude_kind`` is a comma-separated list of kinds to leave out (the sidebar
        leaves out ``sync`` ledger records: it shows them as badges on what they synced).
        """
        excluded = frozenset((exclude_kind or "").split(",")) - {""}
        if status is not None and status not in STATUSES:
            raise ApiError(400, "BAD_FILTER", f"status must be one of {', '.join(STATUSES)}")
        if sync is not None and sync not in SYNC_STATES:
            raise ApiError(400, "BAD_FILTER", "sync must be 'pending' or 'synced'")
        from ..trackers import tracker_names

        if target is not None and target not in tracker_names():
            known = " or ".join(repr(n) for n in tracker_names())
            raise ApiError(400, "BAD_FILTER", f"target must be {known}")
        if offset < 0 or not 1 <= limit <= MAX_LIMIT:
            raise ApiError(400, "BAD_PAGE", f"offset must be >= 0 and limit 1..{MAX_LIMIT}")
        stores = self.stores()
        if notebook is not None:
            stores = [self.store(notebook)]
        params = (kind, exclude_kind, status, notebook, session, sync, target, offset, limit)
        wanted = RecordFilter(kind, excluded, status, session, sync, target)
        with self._lock:
            state = self._page_state()
            cached = self._pages.get(params)
            if cached is not None and _same_state(cached[0], state):
                return dict(cached[1])  # an unchanged project: no pass over its records
            page = self._page(stores, wanted, offset, limit)
            if len(self._pages) >= PAGE_CACHE:
                self._pages.pop(next(iter(self._pages)))
            self._pages[params] = (state, page)
            return dict(page)

    def _page_state(self) -> list[tuple[Any, ...]]:
        """What a page depends on: each store's index key, listing and sync state (the
        objects themselves, compared by identity: ``_load`` replaces them on a change)."""
        state = []
        for store in self.stores():
            self._load(store)
            state.append((store.rel, store._key, store._records, store._sync))
        return state

    def _page(
        self, stores: list[Store], wanted: RecordFilter, offset: int, limit: int
    ) -> dict[str, Any]:
        rows = self._rows(stores, wanted)
        short = [s for s in stores if s._partial and sum(r[1] is s for r in rows) < offset + limit]
        if short:  # a tail cannot answer this page: list those stores in full first
            for store in short:
                self._complete(store)
            rows = self._rows(stores, wanted)
        return self._render(stores, rows, offset, limit)

    def _rows(
        self, stores: list[Store], wanted: RecordFilter
    ) -> Sequence[tuple[EvidenceRecord, Store, dict[str, Any]]]:
        rows: list[tuple[EvidenceRecord, Store, dict[str, Any]]] = []
        for store in stores:
            records, synced = self._load(store)
            found = store._filtered.get(wanted)
            grown = len(records) - len(found[0]) if found else -1
            if (
                found
                and found[1] is synced
                and (
                    found[0] is records
                    or (
                        grown > 0
                        and found[0]
                        and records[grown] is found[0][0]
                        and records[-1] is found[0][-1]
                    )
                )
            ):  # only records appended since the last pass: filter just those
                fresh = self._match(records[: len(records) - len(found[0])], store, synced, wanted)
                mine = found[2].grown(fresh) if fresh else found[2]
            else:
                mine = NewestFirst.of(self._match(records, store, synced, wanted))
            if len(store._filtered) >= PAGE_CACHE:
                store._filtered.pop(next(iter(store._filtered)))
            store._filtered[wanted] = (records, synced, mine)
            if len(stores) == 1:
                return mine  # read-only from here: no copy of a 100,000-row list per poll
            rows.extend(mine)
        if len(stores) > 1:  # each store is newest first already; interleave them
            rows.sort(key=lambda row: (row[0].created, row[0].seq), reverse=True)
        return rows

    @staticmethod
    def _match(
        records: Sequence[EvidenceRecord],
        store: Store,
        synced: dict[str, Any],
        wanted: RecordFilter,
    ) -> list[tuple[EvidenceRecord, Store, dict[str, Any]]]:
        """The rows of ``records`` (newest first) that pass the page's filters (the tests
        count its calls: a poll after an append must filter only what was appended)."""
        return [(rec, store, synced) for rec in records if wanted.matches(rec, synced)]

    def _render(
        self,
        stores: list[Store],
        rows: Sequence[tuple[EvidenceRecord, Store, dict[str, Any]]],
        offset: int,
        limit: int,
    ) -> dict[str, Any]:
        return {
            "records": [
                self.view(rec, store, synced)
                for rec, store, synced in rows[offset : offset + limit]
            ],
            "total": len(rows),
            # False while a big store is listed from its end only (its first seconds): the
            # page is right, ``total`` counts the rows listed so far
            "total_exact": not any(s._partial for s in stores),
            "offset": offset,
            "limit": limit,
            "stores": [
                {
                    "store": s.rel,
                    "notebook": s.notebook,
                    "records": len(self._load(s)[0]),
                    "damaged": list(s._damaged),
                    "partial": s._partial,
                }
                for s in self.stores()
            ],
            "version": self.version(self.stores()),
        }

    def view(
        self, rec: EvidenceRecord, store: Store, synced: dict[str, Any], data: bool = False
    ) -> dict[str, Any]:
        """A record as the sidebar shows it: the stored fields plus status, place, sync."""
        out = rec.to_dict(with_data=data)
        out["path"] = f"{store.rel}/records/{rec.file}"
        out["store"] = store.rel
        out["notebook"] = store.notebook
        integrity, reason = self.integrity(store, rec)
        # a record that does not match its own file and chain shows no traffic light of
        # its own: whatever its index line says, it is an error until verified
        out["status"] = (
            record_status(rec.kind, rec.summary) if integrity != "damaged" else Status.ERROR
        )
        out["integrity"] = integrity
        out["integrity_reason"] = reason
        found = synced.get(rec.id)
        out["synced"] = found if isinstance(found, dict) else {}
        out["syncable"] = rec.kind not in UNSYNCABLE_KINDS
        if rec.kind == "telemetry":
            out["telemetry"] = self._telemetry(rec)
        return out

    def integrity(self, store: Store, rec: EvidenceRecord) -> tuple[str, str | None]:
        """``("verified", None)`` when the record's file matches its own hash, its index
        line (summary included: the traffic light comes from it) and both neighbours in
        the chain; ``("damaged", why)`` when it does not; ``("unverified", why)`` when a
        neighbour's index line is missing, so the link cannot be checked.

        The index is what listing reads, and anyone can edit it (flip a ``fail`` to a
        ``pass``): this check, cached per record and neighbours, is what lets the sidebar
        show a status as verified. ``verify`` still checks the whole chain.
        """
        by_seq = _by_seq(store)
        prev, nxt = by_seq.get(rec.seq - 1), by_seq.get(rec.seq + 1)
        key = (rec.id, rec.hash, prev and prev.hash, nxt and nxt.prev_hash)
        found = store._checked.get(key)
        if found is None:
            found = store._checked[key] = rec.integrity(prev, nxt)
        return found

    @staticmethod
    def _telemetry(rec: EvidenceRecord) -> dict[str, Any]:
        """Time, peak memory, energy, CO2e; figures missing from the summary come from data."""
        keys = ("wall_s", "peak_rss_bytes", "energy_kwh", "co2e_g")
        figures = {k: rec.summary.get(k) for k in keys}
        if any(k not in rec.summary for k in keys):
            # an unreadable record file: verify() names it; the listing goes on
            with contextlib.suppress(EvidenceError, AttributeError):
                figures.update({k: rec.data.get(k) for k in keys if k not in rec.summary})
        return {k: _number(v) for k, v in figures.items()}

    # -- one record -----------------------------------------------------------------
    def find(self, record_id: str, store: str | None = None) -> tuple[EvidenceRecord, Store]:
        """The record with this id (in ``store`` if given); ApiError 400/404 otherwise."""
        try:
            check_record_id(record_id)
        except EvidenceError as err:
            raise ApiError(400, "BAD_RECORD_ID", str(err)) from None
        for candidate in [self.store(store)] if store else self.stores():
            try:
                return candidate.evidence().get(record_id), candidate
            except EvidenceError:
                continue
        raise ApiError(
            404,
            "RECORD_NOT_FOUND",
            f"no evidence record {record_id} under the server's root directory",
            "refresh the list: the record may belong to a store that was moved or deleted",
        )

    def record(self, record_id: str, store: str | None = None) -> dict[str, Any]:
        """One record with its data, as ``GET /evidence/<id>`` returns it."""
        rec, where = self.find(record_id, store)
        _records, synced = self._load(where)
        try:
            return self.view(rec, where, synced, data=True)
        except EvidenceError as err:
            raise ApiError(
                409, err.code, str(err), "run 'vl-jupyter verify' in that folder"
            ) from None

    def verify(self, store: str | None = None) -> dict[str, Any]:
        """``verify()`` of one store or all of them (slow: every record is re-hashed)."""
        stores = [self.store(store)] if store else self.stores()
        results = []
        for s in stores:
            results.append(
                {"store": s.rel, "notebook": s.notebook, **s.evidence().verify().to_dict()}
            )
        return {"ok": all(r["ok"] for r in results), "stores": results}
