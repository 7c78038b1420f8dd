"""Find the run a report is compared with: a Report, a record id, a tag, "previous", or
an MLflow run. Every way ends in a :class:`Report` and a description of where it came
from (id, record hash, how it was chosen) that goes into the evidence, so a comparison
can be re-checked against the chain later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import EvidenceError, close_matches, did_you_mean
from ..evidence import EvidenceStore, check_record_id, format_timestamp, record_origin, tags
from ._report import ControlResult, Report, Status


def resolve_baseline(
    baseline: Any, *, current: Report | None = None, evidence_dir: str | Path | None = None
) -> tuple[Report, dict[str, Any]]:
    """``(report, info)`` for ``baseline``; EvidenceError naming what was looked for."""
    if isinstance(baseline, Report):
        info = {"id": baseline.evidence_id, "label": baseline.evidence_id or "report"}
        info["how"] = "report"
        return baseline, info
    if not isinstance(baseline, str) or not baseline.strip():
        raise EvidenceError(
            f"baseline must be a Report, a record id, a tag, 'previous', 'latest' or "
            "'mlflow:<run id>', "
            f"got {type(baseline).__name__}"
        )
    text = baseline.strip()
    store = EvidenceStore(evidence_dir)
    if text == "previous":
        return _previous(store, current)
    if text == "latest":
        newest = next(iter(store.records(kind="enforce")), None)
        if newest is None:
            raise EvidenceError(
                f"no enforce record in {store.root}", hint="run enforce once to create one"
            )
        return _from_record(store, newest.id, how="latest", label="latest")
    if text.startswith("mlflow:"):
        return _mlflow(text.removeprefix("mlflow:"), store, current)
    known = tags(root=store.root)
    if text in known:
        return _from_record(store, known[text], how="tag", label=text)
    if _is_record_id(text):
        return _from_record(store, text, how="id", label=text)
    close = close_matches(text, list(known), n=3)
    raise EvidenceError(
        f"no baseline '{text}': not a record id, a tag of {store.root}, 'previous' or "
        "'mlflow:<run id>'",
        hint=(
            did_you_mean(close)
            if close
            else (
                f"tags here: {', '.join(sorted(known))}"
                if known
                else "tag a record first: vl.evidence.tag(report.evidence_id, 'production')"
            )
        ),
    )


def _is_record_id(text: str) -> bool:
    try:
        check_record_id(text)
    except EvidenceError:
        return False
    return True


def _from_record(store: EvidenceStore, record_id: str, *, how: str, label: str):
    rec = store.get(record_id)
    if rec.kind != "enforce":
        raise EvidenceError(f"baseline {label} is a {rec.kind} record, not an enforce run")
    report = Report.from_dict(rec.data)
    report.evidence_id, report.session = rec.id, rec.session
    return report, {
        "id": rec.id,
        "hash": rec.hash,
        "created": format_timestamp(rec.created),
        "how": how,
        "label": label,
    }


def _same_policy(data: dict[str, Any], current: Report) -> bool:
    mine, theirs = current.policy, data.get("policy") or {}
    if mine.get("title") and mine.get("title") == theirs.get("title"):
        return True
    return bool(mine.get("sha256")) and mine.get("sha256") == theirs.get("sha256")


def _previous(store: EvidenceStore, current: Report | None):
    """The newest earlier enforce record of the same policy and notebook/script."""
    if current is None:
        raise EvidenceError("baseline 'previous' needs the current report to compare with")
    mine: object = None  # a notebook or script path, compared with each record's origin
    if current.evidence_id:
        try:
            mine = record_origin(store.get(current.evidence_id).data)
        except EvidenceError:
            mine = None
    else:
        from .. import environment

        here = environment.origin()
        mine = here.get("notebook") or here.get("script")
    for rec in store.records(kind="enforce"):
        if rec.id == current.evidence_id:
            continue
        if current.started and rec.data.get("started") and rec.data["started"] > current.started:
            continue  # newer than the report: not "previous"
        if _same_policy(rec.data, current) and record_origin(rec.data) == mine:
            return _from_record(store, rec.id, how="previous", label="previous")
    raise EvidenceError(
        f"no previous run of policy '{current.policy.get('title')}' from "
        f"{mine or 'this session'} in {store.root}",
        hint="run enforce once to create a baseline, or pass a record id or tag",
    )


def _mlflow(run_id: str, store: EvidenceStore, current: Report | None):
    """An MLflow run synced by vl_jupyter: its enforce record when it is in this store,
    else the ``vl.<control>.value`` metrics logged to the run (without intervals)."""
    from mlflow import MlflowClient

    from ..trackers import resolve_settings

    uri = resolve_settings()["mlflow_tracking_uri"]  # where vl.sync() logs by default
    run = MlflowClient(uri).get_run(run_id)
    ids = [i for i in (run.data.tags.get("vl.evidence.records") or "").split(",") if i]
    for record_id in reversed(ids):
        try:
            rec = store.get(record_id)
        except EvidenceError:
            continue
        if rec.kind == "enforce":
            return _from_record(store, record_id, how="mlflow", label=f"mlflow:{run_id}")
    if current is None:
        raise EvidenceError(f"MLflow run {run_id} holds no enforce record of {store.root}")
    from ..trackers import control_key  # the key the sync logged this control under

    results = []
    for result in current:
        value = run.data.metrics.get(f"vl.{control_key(result.control_id)}.value")
        if value is None:
            continue
        results.append(
            ControlResult(
                result.control_id, result.description, result.metric_key, result.threshold,
                float(value), result.operator, True, result.severity, Status.PASS, {},
            )
        )  # fmt: skip
    if not results:
        raise EvidenceError(f"MLflow run {run_id} has no vl.<control>.value metrics to compare")
    report = Report(results, policy=dict(current.policy), data={}, bindings={})
    return report, {"id": None, "mlflow_run": run_id, "how": "mlflow", "label": f"mlflow:{run_id}"}


def baseline_tables(baseline: Report) -> dict[str, Any]:
    """control id -> the table a drift control recorded in the baseline run."""
    return {
        r.control_id: r.metadata["drift_table"]
        for r in baseline
        if isinstance(r.metadata.get("drift_table"), dict)
    }
