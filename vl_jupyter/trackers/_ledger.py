"""The sync ledger: which evidence record went to which tracker run, kept in the store.

Each successful push of a group of records to one run appends one ``sync`` record:
``{target, location, run_id, url, records: [ids], sessions, anchor, forced}``. Records
are immutable and hash-chained, so the ledger is as tamper-evident as the evidence it
describes. ``(target, location, record id) -> run`` is read back from those records.

Between "a run was created" and "its ledger record was appended" a crash (or a server
that dies mid-sync) would otherwise leave an orphan run and make the next sync create a
second one; ``sync/open_runs.json`` (a side file) remembers such runs per
``(target, location, session)`` so the next sync logs into the same run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import EvidenceError
from ..evidence import EvidenceRecord, EvidenceStore, format_timestamp

KIND = "sync"
INTENT = "intent"
OPEN_RUNS = "sync/open_runs.json"


@dataclass(frozen=True)
class Entry:
    record_id: str
    target: str
    location: str
    run_id: str
    url: str | None
    session: str
    synced_at: str
    ledger_id: str


class Ledger:
    """The ledger as read from a store (newest entry wins)."""

    def __init__(
        self, store: EvidenceStore, records: Iterable[EvidenceRecord] | None = None
    ) -> None:
        """``records`` (newest first, any kinds) saves re-reading an index already read."""
        self.store = store
        self.entries: dict[tuple[str, str, str], Entry] = {}
        self.sessions: dict[tuple[str, str, str], str] = {}
        self.runs: dict[tuple[str, str, str], list[str]] = {}
        #: ledger records that could not be used (edited, empty, mistyped), with why
        self.problems: list[str] = []
        found = store.records(kind=KIND) if records is None else records
        #: sync intents (written before logging a group), oldest first: {id, data}
        self.intents: list[tuple[str, dict[str, Any]]] = []
        for rec in reversed([r for r in found if r.kind == KIND]):  # oldest first
            try:
                data = rec.data
                if isinstance(data, dict) and data.get("state") == INTENT:
                    if not all(isinstance(data.get(k), str) for k in ("target", "location")) or (
                        not isinstance(data.get("records"), list)
                    ):
                        raise TypeError("an intent with fields of the wrong type")
                    self.intents.append((rec.id, data))
                    continue
                target, location, run_id = data["target"], data["location"], data["run_id"]
                pairs = list(zip(data["records"], data["sessions"], strict=True))
                if not all(isinstance(x, str) for x in (target, location, run_id)) or not all(
                    isinstance(r, str) and isinstance(s, str) for r, s in pairs
                ):
                    raise TypeError("fields of the wrong type")
            except (EvidenceError, KeyError, TypeError, ValueError) as exc:
                # one damaged ledger record must not stop every sync and listing: its
                # records count as not synced (a later sync logs them again) and verify()
                # names the damage
                self.problems.append(f"sync record {rec.id} ignored: {exc}")
                continue
            for rid, sid in pairs:
                self.entries[(target, location, rid)] = Entry(
                    rid,
                    target,
                    location,
                    run_id,
                    data.get("url"),
                    sid,
                    format_timestamp(rec.created),
                    rec.id,
                )
                self.sessions[(target, location, sid)] = run_id
            self.runs.setdefault((target, location, run_id), []).extend(data["records"])

    def get(self, target: str, location: str, record_id: str) -> Entry | None:
        return self.entries.get((target, location, record_id))

    def run_for_session(self, target: str, location: str, session: str) -> str | None:
        """The run a session already went to, from the ledger or an unfinished sync."""
        found = self.sessions.get((target, location, session))
        if found:
            return found
        return open_runs(self.store).get(_key(target, location, session))

    def records_of_run(self, target: str, location: str, run_id: str) -> list[str]:
        return list(self.runs.get((target, location, run_id), []))

    def open_intents(self, target: str, location: str) -> list[tuple[str, dict[str, Any]]]:
        """Intents for this tracker whose records are not all in the ledger: a sync that
        was killed between announcing a group and recording it as logged."""
        return [
            (iid, data)
            for iid, data in self.intents
            if (data["target"], data["location"]) == (target, location)
            and any(self.get(target, location, r) is None for r in data["records"])
        ]

    def intend(self, *, target: str, location: str, run_id: str | None, records: list[Any]) -> str:
        """Record, before anything is logged, that ``records`` are about to go to
        ``run_id`` (None: a new run). Returns the intent's id: the run is tagged with it
        when the logging is complete, so a sync killed in between can be reconciled from
        the tracker instead of logging the records twice."""
        data = {
            "state": INTENT,
            "target": target,
            "location": location,
            "run_id": run_id,
            "records": [r.id for r in records],
            "sessions": [r.session for r in records],
        }
        summary: dict[str, Any] = {"target": target, "location": location, "state": INTENT}
        summary["records"] = len(records)
        rec = self.store.append(KIND, data, session=records[0].session, summary=summary)
        return rec.id

    def append(
        self,
        *,
        target: str,
        location: str,
        run_id: str,
        url: str | None,
        records: list[Any],
        anchor: tuple[int, str] | None,
        forced: bool,
        extra: dict[str, Any] | None = None,
        intent: str | None = None,
    ) -> None:
        """Record that ``records`` (EvidenceRecords) were logged to ``run_id``."""
        from .._version import __version__

        data = {
            "target": target,
            "location": location,
            "run_id": run_id,
            "url": url,
            "records": [r.id for r in records],
            "sessions": [r.session for r in records],
            "anchor": {"seq": anchor[0], "hash": anchor[1]} if anchor else None,
            "forced": forced,
            "intent": intent,
            "vl_jupyter": __version__,
            **(extra or {}),
        }
        summary: dict[str, Any] = {"target": target, "location": location, "run_id": run_id}
        summary["records"] = len(records)
        with self.store.lock():
            self.store.append(KIND, data, session=records[0].session, summary=summary)
            forget_open_runs(self.store, target, location, {r.session for r in records})


def _key(target: str, location: str, session: str) -> str:
    return f"{target}|{location}|{session}"


def open_runs(store: EvidenceStore) -> dict[str, str]:
    try:
        found = store.read_json(OPEN_RUNS, default={})
    except Exception:
        return {}
    return found if isinstance(found, dict) else {}


def remember_open_run(
    store: EvidenceStore, target: str, location: str, session: str, run_id: str
) -> None:
    with store.lock():
        runs = open_runs(store)
        runs[_key(target, location, session)] = run_id
        store.write_json(OPEN_RUNS, runs)


def forget_open_runs(store: EvidenceStore, target: str, location: str, sessions: set[str]) -> None:
    with store.lock():
        runs = open_runs(store)
        keys = [_key(target, location, s) for s in sessions]
        if any(k in runs for k in keys):
            for key in keys:
                runs.pop(key, None)
            store.write_json(OPEN_RUNS, runs)


@contextmanager
def sync_lock(store: EvidenceStore, target: str, timeout: float = 120.0) -> Iterator[None]:
    """Serialise syncs of one target across processes (two kernels, kernel and server).

    A lock of its own, not the store's: a sync holds it across network calls, and a
    monitored cell appending evidence meanwhile must not wait for the tracker.
    """
    with store.named_lock(f"sync-{target}", timeout=timeout):
        yield


def status(
    store: EvidenceStore, records: Iterable[EvidenceRecord] | None = None
) -> dict[str, dict[str, dict[str, Any]]]:
    """record id -> target -> {run_id, url, location, synced_at} (the newest sync)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    if not os.path.exists(store.index_path):
        return out
    for entry in Ledger(store, records).entries.values():
        current = out.setdefault(entry.record_id, {}).get(entry.target)
        if current is None or current["synced_at"] <= entry.synced_at:
            out[entry.record_id][entry.target] = {
                "run_id": entry.run_id,
                "url": entry.url,
                "location": entry.location,
                "synced_at": entry.synced_at,
            }
    return out
