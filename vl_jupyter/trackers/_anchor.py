"""``verify --against mlflow|wandb`` (any registered tracker with ``anchors``): hold the store against the head hashes the tracker
keeps.

Every sync tags its run with the store's head at that moment (``vl.evidence.head_seq``,
``vl.evidence.head_hash``). ``verify()`` alone cannot catch a store whose whole chain was
rewritten (every hash recomputed): the tracker's copy of the head can. A run is found
through the store's ledger (the runs it says it synced to) and, for a store whose ledger
was dropped, by the ``vl.evidence.store`` tag naming this folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import UnknownTargetError
from ..evidence import EvidenceStore
from ._ledger import Ledger
from ._redact import redact_uri


@dataclass
class Anchor:
    run_id: str
    seq: int
    hash: str
    ok: bool
    message: str


@dataclass
class AnchorCheck:
    """What the tracker's anchors say about the store (``ok``: at least one anchor, and
    every anchor matches the local chain)."""

    target: str
    location: str
    anchors: list[Anchor] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.anchors) and all(a.ok for a in self.anchors) and not self.problems

    def __str__(self) -> str:
        head = f"anchors in {self.target} at {self.location}: "
        if not self.anchors and not self.problems:
            return head + "none found (sync the store first)"
        lines = [head + ("OK" if self.ok else "MISMATCH")]
        lines += [
            f"  {'ok' if a.ok else 'problem'} run {a.run_id}: {a.message}" for a in self.anchors
        ]
        lines += [f"  problem {p}" for p in self.problems]
        return "\n".join(lines)

    def add(self, store: EvidenceStore, run_id: str, seq: Any, digest: Any) -> Anchor:
        """Judge one run's anchor (its ``vl.evidence.head_seq`` / ``head_hash``) against
        the local chain and keep it: what a tracker's ``anchors`` function calls per run."""
        anchor = _judge(store, run_id, seq, digest)
        self.anchors.append(anchor)
        return anchor

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "location": self.location,
            "ok": self.ok,
            "anchors": [a.__dict__ for a in self.anchors],
            "problems": list(self.problems),
        }


def _judge(store: EvidenceStore, run_id: str, seq: Any, digest: Any) -> Anchor:
    try:
        seq = int(seq)
    except (TypeError, ValueError):
        return Anchor(run_id, -1, str(digest), False, f"its head_seq {seq!r} is not a number")
    by_seq = {r.seq: r for r in store.records()}
    local = by_seq.get(seq)
    if local is None:
        top = max(by_seq, default=0)
        msg = f"it anchors seq {seq}, but the store ends at seq {top}: records were deleted"
        return Anchor(run_id, seq, str(digest), False, msg)
    if local.hash != digest:
        msg = (
            f"it anchors seq {seq} with hash {str(digest)[:16]}..., the store holds "
            f"{local.hash[:16]}... there: the chain was rewritten after that sync"
        )
        return Anchor(run_id, seq, str(digest), False, msg)
    return Anchor(run_id, seq, str(digest), True, f"seq {seq} hash {local.hash[:16]}... matches")


def check_mlflow(store: EvidenceStore, settings: dict[str, Any]) -> AnchorCheck:
    """Anchors of every MLflow run this store synced to (or that names this store)."""
    from mlflow import MlflowClient

    from ._mlflow import probe

    uri = str(settings["mlflow_tracking_uri"])
    out = AnchorCheck("mlflow", redact_uri(uri))
    probe(uri)
    client = MlflowClient(tracking_uri=uri)
    ledger = Ledger(store)
    run_ids = dict.fromkeys(e.run_id for e in ledger.entries.values() if e.target == "mlflow")
    experiments = [e.experiment_id for e in client.search_experiments()]
    if experiments:
        for run in client.search_runs(experiments, "tags.`vl.source` = 'vl_jupyter'"):
            if run.data.tags.get("vl.evidence.store") == str(store.root):
                run_ids.setdefault(run.info.run_id, None)
    for run_id in run_ids:
        try:
            tags = client.get_run(run_id).data.tags
        except Exception as exc:  # a run the ledger names is gone: that is a finding too
            out.problems.append(f"run {run_id} named by the ledger cannot be read: {exc}")
            continue
        if "vl.evidence.head_hash" in tags:
            out.add(store, run_id, tags.get("vl.evidence.head_seq"), tags["vl.evidence.head_hash"])
    return out


def check_wandb(store: EvidenceStore, settings: dict[str, Any]) -> AnchorCheck:
    """Anchors of the W&B runs the ledger names, read through the W&B API (online only:
    an offline run is not in W&B until ``wandb sync`` uploads it)."""
    entity, project = settings.get("wandb_entity"), settings["wandb_project"]
    out = AnchorCheck("wandb", f"{entity or '-'}/{project}")
    ledger = Ledger(store)
    entries = [e for e in ledger.entries.values() if e.target == "wandb"]
    if settings.get("wandb_mode") != "online":
        out.problems.append(
            "W&B is offline here: its runs are not in W&B until `wandb sync` uploads them; "
            "verify against W&B where WANDB_API_KEY is set (wandb_mode online)"
        )
        return out
    import wandb

    api = wandb.Api(timeout=10)
    for run_path in dict.fromkeys(f"{e.location}/{e.run_id}".lstrip("-/") for e in entries):
        try:
            run = api.run(run_path)
        except Exception as exc:
            out.problems.append(f"run {run_path} named by the ledger cannot be read: {exc}")
            continue
        summary = dict(run.summary)
        if "vl.evidence.head_hash" in summary:
            out.add(
                store, run.id, summary.get("vl.evidence.head_seq"), summary["vl.evidence.head_hash"]
            )
    return out


def check_anchors(target: str, evidence_dir: Any = None, settings: Any = None) -> AnchorCheck:
    """Check the store at ``evidence_dir`` against the anchors kept by ``target``."""
    from ._registry import tracker_spec
    from ._settings import credentials, find_project_dir, resolve_settings
    from ._target import Unavailable

    spec = tracker_spec(target)
    if spec.anchors is None:
        raise UnknownTargetError(
            f"tracker {target!r} keeps no anchors to verify against", target=target
        )
    store = EvidenceStore(evidence_dir)
    folder = find_project_dir()
    resolved = resolve_settings(settings, folder)
    with credentials(folder):
        try:
            return spec.anchors(store, resolved)
        except Unavailable as exc:
            key = spec.endpoint_key
            where = redact_uri(str(resolved[key])) if key else target
            out = AnchorCheck(target, where)
            out.problems.append(f"the tracker cannot be used: {exc}")
            return out
