"""Which records an export covers: a session, a start date, a policy, or everything.

An export is a pure function of the evidence it selects: every timestamp it prints comes
from the records (never the clock), every identifier is derived from record hashes, so
the same evidence gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..evidence import EvidenceRecord, EvidenceStore, format_timestamp

#: uuid5 namespace of every identifier an export derives (OSCAL and CycloneDX want uuids)
NAMESPACE = uuid.UUID("6f1c1d0e-8f0a-5b7e-9a51-1b2d3c4e5f60")


def derived_uuid(*parts: Any) -> str:
    """A stable uuid (version 5) for ``parts``: same evidence, same uuid."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


@dataclass
class Selection:
    """The selected records (oldest first) and the chain prefix that holds them."""

    store: EvidenceStore
    records: list[EvidenceRecord]
    chain: list[EvidenceRecord]
    criteria: dict[str, Any] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[EvidenceRecord]:
        return [r for r in self.records if r.kind == kind]

    @property
    def stamp(self) -> str:
        """When the newest selected record was written: the export's own date."""
        return format_timestamp(self.records[-1].created)

    @property
    def first(self) -> str:
        return format_timestamp(self.records[0].created)

    @property
    def key(self) -> str:
        """Digest of what was selected: seeds every derived uuid."""
        return self.records[-1].hash + ":" + ",".join(str(r.seq) for r in self.records)

    def describe(self) -> str:
        if not self.criteria:
            return "all evidence records"
        return ", ".join(f"{k} {v}" for k, v in sorted(self.criteria.items()))


_DICT_KEYS = {
    "enforce": ("data", "bindings", "environment", "counts"),
    "telemetry": ("methods", "context", "code", "energy"),
    "review": ("control",),
}


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def normalise(kind: str, data: Any) -> dict[str, Any]:
    """A copy of a record's data in the shape the builders read.

    Records written by older versions or other tools vary: a policy named by its file
    (``"policy": "lending.yaml"``), results without ``status`` (then it is derived from
    ``passed``: pass, fail, or error when neither), non-dict entries (dropped). Nothing
    is invented: a missing value stays missing and prints as such.
    """
    out = dict(_as_dict(data))
    for key in _DICT_KEYS.get(kind, ()):
        out[key] = _as_dict(out.get(key))
    policy = out.get("policy")
    if not isinstance(policy, dict):
        out["policy"] = {"title": str(policy), "source": str(policy)} if policy else {}
    if kind == "enforce":
        results = []
        for r in out.get("results") or []:
            if not isinstance(r, dict):
                continue
            r = dict(r)
            if r.get("status") not in ("pass", "warn", "fail", "error", "skipped"):
                passed = r.get("passed")
                r["status"] = "pass" if passed is True else "fail" if passed is False else "error"
            r["metadata"] = _as_dict(r.get("metadata"))
            results.append(r)
        out["results"] = results
    return out


def _parse_since(since: str | dt.date | dt.datetime) -> dt.datetime:
    if isinstance(since, dt.datetime):
        when = since
    elif isinstance(since, dt.date):
        when = dt.datetime(since.year, since.month, since.day)
    else:
        text = str(since).strip().replace("Z", "+00:00")
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ExportError(
                f"--since {since!r} is not a date: use YYYY-MM-DD or an ISO-8601 date-time"
            ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _policy_names(rec: EvidenceRecord) -> set[str]:
    policy = rec.data.get("policy") or {}
    names = {str(policy.get("title") or ""), str(policy.get("sha256") or "")}
    source = policy.get("source")
    if source:
        names |= {str(source), Path(str(source)).name, Path(str(source)).stem}
    return names - {""}


def _matches_policy(rec: EvidenceRecord, wanted: list[str]) -> bool:
    names = _policy_names(rec)
    return any(w in names or any(n.startswith(w) and len(w) >= 8 for n in names) for w in wanted)


def select(
    evidence_dir: str | Path | None = None,
    *,
    session: str | None = None,
    since: str | dt.date | None = None,
    policy: str | list[str] | None = None,
) -> Selection:
    """The records to export. ``policy`` matches a policy's title, file name, stem or
    sha256 (a prefix of 8+ hex digits); it keeps the enforce and review records of that
    policy and the telemetry of their sessions. ExportError if the store is damaged
    (an export of tampered evidence would certify it), empty, or nothing matches."""
    store = EvidenceStore(evidence_dir)
    if not store.index_path.exists():
        raise ExportError(f"no evidence in {store.root}: run enforce() or monitor() first")
    check = store.verify()
    if not check.ok:
        first = check.problems[0]
        raise ExportError(
            f"the evidence in {store.root} is damaged ({len(check.problems)} problems; first: "
            f"[{first.code}] {first.message}): refusing to export it",
            file=first.file,
            hint="run vl-jupyter verify for the full report",
        )
    everything = sorted(store.records(), key=lambda r: r.seq)
    chosen = everything
    criteria: dict[str, Any] = {}
    if session:
        criteria["session"] = session
        chosen = [r for r in chosen if r.session == session]
        if not chosen:
            known = sorted({r.session for r in everything})[-5:]
            raise ExportError(
                f"no evidence record in session {session!r}",
                hint=f"recent sessions: {', '.join(known)}",
            )
    if since is not None:
        when = _parse_since(since)
        criteria["since"] = format_timestamp(when)
        chosen = [r for r in chosen if r.created >= when]
    if policy:
        wanted = [policy] if isinstance(policy, str) else list(policy)
        criteria["policy"] = ", ".join(wanted)
        judged = [r for r in chosen if r.kind in ("enforce", "review")]
        kept = [r for r in judged if r.kind == "enforce" and _matches_policy(r, wanted)]
        reports = {r.id for r in kept}
        kept += [
            r
            for r in judged
            if r.kind == "review"
            and (r.data.get("report_id") in reports or _matches_policy(r, wanted))
        ]
        if not kept:
            known = sorted({n for r in judged for n in _policy_names(r) if len(n) < 64})
            raise ExportError(
                f"no enforce or review record of policy {', '.join(wanted)}",
                hint=f"policies in the selection: {', '.join(known) or 'none'}",
            )
        sessions = {r.session for r in kept}
        kept_ids = {r.id for r in kept}
        chosen = [
            r
            for r in chosen
            if r.id in kept_ids or (r.kind == "telemetry" and r.session in sessions)
        ]
    chosen = [r for r in chosen if r.kind != "sync"] or chosen
    if not chosen:
        raise ExportError(f"nothing to export: no record matches {criteria}")
    chosen = [dataclasses.replace(r, _data=normalise(r.kind, r.data)) for r in chosen]
    newest = chosen[-1].seq
    chain = [r for r in everything if r.seq <= newest]
    return Selection(store, chosen, chain, criteria)
