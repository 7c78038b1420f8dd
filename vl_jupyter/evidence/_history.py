"""Questions over time: tags that name a record ("production"), and a control's history.

Both read the store as it is: a tag is itself an append-only ``tag`` record (so moving a
tag is visible in the chain, and who pointed "production" where is evidence too); the
history is a scan of ``enforce`` records, newest first, reading each record file once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import EvidenceError
from ._record import EvidenceRecord, format_created
from ._store import EvidenceStore

TAG_KIND = "tag"
_TAG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

#: Columns of :func:`history`, in order.
HISTORY_COLUMNS = (
    "created",
    "record_id",
    "session",
    "control_id",
    "metric_key",
    "value",
    "ci_low",
    "ci_high",
    "status",
    "operator",
    "threshold",
    "policy_title",
    "policy_version",
    "policy_sha256",
    "notebook",
    "git_commit",
    "data_fingerprint",
    "tags",
)


def check_tag(name: object) -> str:
    """``name`` if it is a usable tag (letters, digits, ``_.-``, at most 64), else an error."""
    if not isinstance(name, str) or not _TAG_NAME.match(name):
        raise EvidenceError(
            f"{name!r} is not a tag name",
            hint="a tag is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        )
    return name


def tag(record_id: str, name: str, *, root: str | Path | None = None) -> EvidenceRecord:
    """Point tag ``name`` at record ``record_id`` (appending a ``tag`` record; the newest
    tag record of a name wins). Returns the tag record.

    >>> import tempfile, vl_jupyter.evidence as ev
    >>> root = tempfile.mkdtemp()
    >>> rec = ev.append("enforce", {"results": []}, root=root)
    >>> _ = ev.tag(rec.id, "production", root=root)
    >>> ev.tags(root=root)["production"] == rec.id
    True
    """
    store = EvidenceStore(root)
    check_tag(name)
    target = store.get(record_id)
    if target.kind == TAG_KIND:
        raise EvidenceError(f"record {record_id} is a tag; tag the record it points to")
    return store.append(
        TAG_KIND,
        {"tag": name, "record": target.id, "record_hash": target.hash, "record_kind": target.kind},
        summary={"tag": name, "record": target.id},
    )


def tags(*, root: str | Path | None = None) -> dict[str, str]:
    """Every tag of the store and the record id it points to now."""
    found: dict[str, str] = {}
    for rec in EvidenceStore(root).records(kind=TAG_KIND):  # newest first: first one wins
        name, target = rec.summary.get("tag"), rec.summary.get("record")
        if isinstance(name, str) and isinstance(target, str):
            found.setdefault(name, target)
    return found


def tagged(name: str, *, root: str | Path | None = None) -> str | None:
    """The record id tag ``name`` points to, or None."""
    return tags(root=root).get(name)


def history(
    control_id: str | Iterable[str] | None = None,
    *,
    policy: str | None = None,
    notebook: str | None = None,
    root: str | Path | None = None,
    limit: int | None = None,
):
    """A DataFrame of controls across ``enforce`` runs, oldest run first and controls in
    policy order (one row per run and control): value, CI, status, threshold, time,
    policy, notebook, git commit, data fingerprint and the tags pointing at the run.

    ``control_id`` keeps one control (or several); ``policy`` matches the policy title,
    source path or sha256; ``notebook`` the notebook or script that ran it (a suffix
    match, so ``"02_model_audit.ipynb"`` finds it in any folder); ``limit`` keeps the
    newest ``limit`` runs.
    """
    import pandas as pd

    wanted = {control_id} if isinstance(control_id, str) else set(control_id or ())
    store = EvidenceStore(root)
    by_record: dict[str, list[str]] = {}
    for name, target in tags(root=root).items():
        by_record.setdefault(target, []).append(name)
    runs: list[list[dict[str, Any]]] = []  # newest run first, controls in policy order
    for rec in store.records(kind="enforce"):
        if limit is not None and len(runs) >= limit:
            break
        data = rec.data
        pol = data.get("policy") or {}
        if policy is not None and policy not in (
            pol.get("title"),
            pol.get("source"),
            pol.get("sha256"),
        ):
            continue
        origin = record_origin(data)
        if notebook is not None and not (origin or "").endswith(notebook):
            continue
        rows: list[dict[str, Any]] = []
        runs.append(rows)
        for result in data.get("results") or []:
            if wanted and result.get("control_id") not in wanted:
                continue
            ci = (result.get("metadata") or {}).get("ci") or {}
            rows.append(
                {
                    "created": format_created(rec.created),
                    "record_id": rec.id,
                    "session": rec.session,
                    "control_id": result.get("control_id"),
                    "metric_key": result.get("metric_key"),
                    "value": result.get("actual_value"),
                    "ci_low": ci.get("low"),
                    "ci_high": ci.get("high"),
                    "status": result.get("status"),
                    "operator": result.get("operator"),
                    "threshold": result.get("threshold"),
                    "policy_title": pol.get("title"),
                    "policy_version": pol.get("version"),
                    "policy_sha256": pol.get("sha256"),
                    "notebook": origin,
                    "git_commit": (data.get("git") or {}).get("commit"),
                    "data_fingerprint": (data.get("data") or {}).get("content_hash"),
                    "tags": ",".join(sorted(by_record.get(rec.id, []))),
                }
            )
    ordered = [row for rows in reversed(runs) for row in rows]
    frame = pd.DataFrame(ordered, columns=list(HISTORY_COLUMNS))
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601")
    return frame


def record_origin(data: dict[str, Any]) -> str | None:
    """The notebook or script an ``enforce`` record came from (None when unknown)."""
    origin = data.get("origin") or {}
    return origin.get("notebook") or origin.get("script") or None
