"""Weights & Biases: log into ``wandb.run`` if there is one, else a run of our own.

Plain ``wandb.init()`` in a notebook finishes the user's active run, so a run of our own
is started with ``reinit="create_new"`` and only that run is finished. Without an API key
the run is written offline (``<wandb_dir>/wandb/offline-run-*``) and the result says how
to upload it with ``wandb sync``. ``import wandb`` happens here, only when a sync runs.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._bundle import Bundle
from ._ledger import Ledger
from ._naming import run_name
from ._result import TargetInfo
from ._settings import has_wandb_key, scoped_env
from ._target import Group, Unavailable, probe_tcp, run_id_of

INIT_TIMEOUT_S = 10
ARTIFACT = "compliance-bundle"


def _location(settings: dict[str, Any]) -> str:
    return f"{settings.get('wandb_entity') or '-'}/{settings['wandb_project']}"


def base_url() -> str:
    return os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai"


def probe(mode: str) -> None:
    if importlib.util.find_spec("wandb") is None:
        raise Unavailable("wandb is not installed (pip install 'vl-jupyter[wandb]')")
    if mode == "disabled":
        raise Unavailable("wandb_mode is 'disabled': nothing would be logged")
    if mode == "online":
        if not has_wandb_key(os.environ):
            raise Unavailable("no W&B API key (set WANDB_API_KEY, or use wandb_mode offline)")
        probe_tcp(base_url())


def info(settings: dict[str, Any]) -> TargetInfo:
    mode = str(settings["wandb_mode"])
    try:
        probe(mode)
    except Unavailable as exc:
        return TargetInfo("wandb", _location(settings), False, str(exc), mode)
    return TargetInfo("wandb", _location(settings), True, None, mode)


#: setting key -> the environment variable that sets it
SETTINGS = {
    "wandb_project": "WANDB_PROJECT",
    "wandb_entity": "WANDB_ENTITY",
    "wandb_mode": "WANDB_MODE",
    "wandb_dir": "WANDB_DIR",
}
MODES = ("online", "offline", "disabled")


def defaults(folder: Path, name: str, env: Any) -> dict[str, Any]:
    """The project named after the notebook, offline unless an API key is found."""
    return {
        "wandb_project": name,
        "wandb_entity": None,
        "wandb_mode": "online" if has_wandb_key(env) else "offline",
        "wandb_dir": str(folder),
    }


def validate(settings: dict[str, Any], folder: Path) -> None:
    from ..errors import TrackerSettingsError

    if settings["wandb_mode"] not in MODES:
        raise TrackerSettingsError(
            f"wandb_mode must be one of {', '.join(MODES)}, got {settings['wandb_mode']!r}"
        )


def owns_run(run: Any) -> bool:
    """A ``wandb`` run object (a plain string is an MLflow run id)."""
    return type(run).__module__.startswith("wandb")


def anchors(store: Any, settings: dict[str, Any]) -> Any:
    from ._anchor import check_wandb

    return check_wandb(store, settings)


class WandbTarget:
    name = "wandb"

    def __init__(self, settings: dict[str, Any], run: Any = None) -> None:
        wandb = sys.modules.get("wandb")
        user_run = run if run is not None and not isinstance(run, str) else None
        if user_run is None and run is None and wandb is not None:
            user_run = getattr(wandb, "run", None)
        self.user_run = user_run
        self.settings = settings
        self.mode = str(settings["wandb_mode"])
        self.location = _location(settings)
        if user_run is not None:
            self.location = f"{user_run.entity or '-'}/{user_run.project}"
            self.mode = "offline" if getattr(user_run, "offline", False) else "online"
        self.run_dirs: list[str] = []

    @contextmanager
    def env(self) -> Iterator[None]:
        with scoped_env({"WANDB_SILENT": "true"}):
            yield

    def prepare(self) -> None:
        if self.user_run is None:
            probe(self.mode)
        import wandb  # noqa: F401

    def group(self, records: list[Any], ledger: Ledger, force: bool) -> list[Group]:
        """The user's run, or one new run per sync (forced records go back to their run)."""
        if self.user_run is not None:
            return [Group(records, run_id_of(self.user_run))]
        groups: dict[str | None, Group] = {}
        for rec in records:
            done = ledger.get(self.name, self.location, rec.id) if force else None
            key = done.run_id if done else None
            groups.setdefault(key, Group([], key, None)).records.append(rec)
        return list(groups.values())

    def log(
        self, group: Group, bundle: Bundle, on_created: Callable[[str], None]
    ) -> tuple[str, str]:
        import wandb

        own = self.user_run is None
        run: Any = self.user_run if not own else self._init(wandb, group)
        try:
            if own:
                on_created(run.id)
            steps: dict[int, dict[str, float]] = {}
            for m in bundle.metrics:
                steps.setdefault(m.step, {"vl.evidence_seq": m.step})[m.key] = m.value
            for step in sorted(steps):
                run.log(steps[step])
            run.summary.update({**bundle.latest(), **bundle.tags})
            run.config.update(bundle.params, allow_val_change=True)
            if bundle.rows:
                columns = list(bundle.rows[0])
                header: list[str | int] = list(columns)  # the stub's type: names or indices
                table = wandb.Table(
                    columns=header, data=[[r[c] for c in columns] for r in bundle.rows]
                )
                run.log({"vl.controls": table})
            artifact = wandb.Artifact(
                ARTIFACT,
                type="evidence",
                description="vl_jupyter evidence records, results, traces, policy, report",
                metadata={k: v for k, v in bundle.tags.items() if k.startswith("vl.evidence.")},
            )
            with tempfile.TemporaryDirectory(prefix="vl-sync-") as tmp:
                artifact.add_dir(str(bundle.write(Path(tmp))))
                run.log_artifact(artifact)
                policy = _policy_artifact(wandb, bundle, Path(tmp))
                if policy is not None:  # the SDK's own artifact name for the policy
                    run.log_artifact(policy)
                if own:
                    run.finish()
                elif self.mode == "online":
                    artifact.wait()  # the files must be uploaded before tmp goes
        except BaseException:
            if own:
                run.finish(exit_code=1)
            raise
        url = run.url if self.mode == "online" else None
        if not url:
            url = str(Path(run.dir).parent)
            self.run_dirs.append(url)
        return run.id, url

    def _init(self, wandb: Any, group: Group) -> Any:
        """A run of our own, named after the notebook and policy (see ``_naming``)."""
        s = self.settings
        kwargs: dict[str, Any] = {
            "project": s["wandb_project"],
            "entity": s.get("wandb_entity") or None,
            "mode": self.mode,
            "dir": s.get("wandb_dir") or None,
            "job_type": "compliance",
            "name": run_name(group.records),
            "tags": ["vl_jupyter"],
            "reinit": "create_new",
            "settings": wandb.Settings(
                init_timeout=INIT_TIMEOUT_S, console="off", save_code=False, silent=True
            ),
        }
        if group.run_id:
            kwargs.update(id=group.run_id, resume="allow")
        if kwargs["dir"]:
            Path(kwargs["dir"]).mkdir(parents=True, exist_ok=True)
        return wandb.init(**kwargs)

    def intent_run(self, intent: str, run_id: str | None) -> str | None:
        """W&B cannot confirm an interrupted sync: its records are logged again."""
        return None

    def run_url(self, run_id: str) -> str:
        return f"{base_url().replace('api.', '', 1)}/{self.location.lstrip('-/')}/runs/{run_id}"

    def close_run(self, run_id: str) -> None:
        """Nothing to close: a W&B run of ours is finished inside ``log``."""

    def messages(self) -> list[str]:
        why = "wandb_mode is offline" if has_wandb_key(os.environ) else "no API key"
        return [
            f"W&B ran offline ({why}): upload later with `wandb sync {d}`" for d in self.run_dirs
        ]


def _policy_artifact(wandb: Any, bundle: Bundle, folder: Path) -> Any:
    """The enforced policy files as the artifact ``policy_snapshot`` (type ``policy``)."""
    files = [rel for rel in bundle.files if rel.startswith("policy_snapshot/")]
    if not files:
        return None
    artifact = wandb.Artifact("policy_snapshot", type="policy")
    for rel in files:
        artifact.add_file(str(folder / rel), name=rel.split("/", 1)[1])
    return artifact
