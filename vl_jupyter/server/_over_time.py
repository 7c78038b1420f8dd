"""Over time, for the sidebar: a record's controls across runs (sparklines), and a record
compared with a baseline (side by side, with the policy's changes).

Both are read-only and stay inside one store: a baseline named by a request is a record
id, a tag of that store or ``previous``, never ``mlflow:<run>`` (that would make the
server connect somewhere on a request's word).
"""

from __future__ import annotations

from typing import Any

from ..enforcement import Report, compare_reports
from ..errors import EvidenceError
from ..evidence import history
from ._stores import (
    ApiError,
    Catalogue,
    _number,  # finite numbers or None: the listing's stable types
)

#: How many runs a sparkline shows at most.
SPARK_RUNS = 30


def record_history(catalogue: Catalogue, record_id: str, store: str | None) -> dict[str, Any]:
    """The newest ``SPARK_RUNS`` runs of this record's policy in its store, per control."""
    rec, where = catalogue.find(record_id, store)
    if rec.kind != "enforce":
        raise ApiError(400, "NOT_AN_ENFORCE_RECORD", f"record {record_id} is a {rec.kind} record")
    policy = rec.data.get("policy") or {}
    key = policy.get("sha256") or policy.get("title")
    frame = history(policy=key, root=where.evidence().root, limit=SPARK_RUNS)
    controls: dict[str, list[dict[str, Any]]] = {}
    for row in frame.itertuples(index=False):
        controls.setdefault(row.control_id, []).append(
            {
                "record_id": row.record_id,
                "created": row.created.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "value": _number(row.value),
                "ci_low": _number(row.ci_low),
                "ci_high": _number(row.ci_high),
                "status": row.status,
                "threshold": _number(row.threshold),
            }
        )
    return {"record_id": rec.id, "store": where.rel, "policy": key, "controls": controls}


def record_compare(
    catalogue: Catalogue, record_id: str, baseline: str | None, store: str | None
) -> dict[str, Any]:
    """``record_id`` against ``baseline`` (an id, a tag or ``previous``) of the same store."""
    from ..enforcement import resolve_baseline

    if not baseline:
        raise ApiError(
            400, "NO_BASELINE", "say what to compare with: ?baseline=<id, tag or previous>"
        )
    if baseline.startswith("mlflow:"):
        raise ApiError(
            400,
            "BASELINE_NOT_LOCAL",
            "the sidebar compares records of one store; an MLflow run is a baseline in a "
            "notebook or the CLI (vl-jupyter compare ID mlflow:<run id>)",
        )
    rec, where = catalogue.find(record_id, store)
    if rec.kind != "enforce":
        raise ApiError(400, "NOT_AN_ENFORCE_RECORD", f"record {record_id} is a {rec.kind} record")
    current = Report.from_dict(rec.data)
    current.evidence_id = rec.id
    try:
        base, info = resolve_baseline(baseline, current=current, evidence_dir=where.evidence().root)
    except EvidenceError as err:
        raise ApiError(404, "BASELINE_NOT_FOUND", err.message, err.hint) from None
    comparison = compare_reports(current, base, baseline_info=info)
    before, after = (base.policy or {}), (current.policy or {})
    return {
        "record_id": rec.id,
        "store": where.rel,
        "policy_changed": before.get("sha256") != after.get("sha256"),
        "policies": {
            "baseline": {k: before.get(k) for k in ("title", "version", "sha256")},
            "current": {k: after.get(k) for k in ("title", "version", "sha256")},
        },
        **comparison.to_dict(),
    }
