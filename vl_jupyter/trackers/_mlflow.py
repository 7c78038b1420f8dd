"""MLflow: one run per evidence session (or the user's active run), batched calls.

``import mlflow`` costs seconds, so it happens here, only when a sync runs. Every client
call goes through :class:`MlflowTarget`, with MLflow's HTTP retries switched off and a
short request timeout for the duration of the sync (the user's environment is restored
afterwards): a dead server gives an error in seconds, not after 90 s of retries.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._bundle import Bundle
from ._ledger import Ledger
from ._naming import run_name
from ._redact import redact, redact_uri
from ._result import TargetInfo
from ._settings import scoped_env
from ._target import REQUEST_TIMEOUT_S, Group, Unavailable, probe_http, run_id_of

# MLflow's limits per log_batch call
_MAX_METRICS, _MAX_PARAMS, _MAX_TAGS, _MAX_TOTAL = 1000, 100, 100, 1000


def active_run_on_main_thread() -> Any:
    """The user's active MLflow run, when called on the kernel's main thread (the active
    run is thread-local); None otherwise or when mlflow was never imported."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or threading.current_thread() is not threading.main_thread():
        return None
    try:
        return mlflow.active_run()
    except Exception:
        return None


def mode_of(uri: str) -> str:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else "file"
    if scheme in ("http", "https"):
        return "server"
    if scheme in ("sqlite", "postgresql", "mysql", "mssql"):
        return "sqlite" if scheme == "sqlite" else "database"
    return scheme if scheme in ("databricks", "file") else "other"


def probe(uri: str) -> None:
    """Raise Unavailable (fast, without importing mlflow) when ``uri`` cannot work now."""
    if importlib.util.find_spec("mlflow") is None:
        raise Unavailable("mlflow is not installed (pip install 'vl-jupyter[mlflow]')")
    mode = mode_of(uri)
    if mode == "server":
        probe_http(uri, "/health")
    elif mode == "sqlite":
        path = Path(uri[len("sqlite:///") :])
        folder = path.parent
        if not folder.is_dir():
            raise Unavailable(f"folder {folder} of the sqlite database does not exist")
        if path.exists() and not path.is_file():
            raise Unavailable(f"{path} is not a file")


def info(settings: dict[str, Any]) -> TargetInfo:
    uri = str(settings["mlflow_tracking_uri"])
    shown = redact_uri(uri)
    try:
        probe(uri)
    except Unavailable as exc:
        return TargetInfo("mlflow", shown, False, redact(str(exc)), mode_of(uri))
    return TargetInfo("mlflow", shown, True, None, mode_of(uri))


#: setting key -> the environment variable that sets it
SETTINGS = {
    "mlflow_tracking_uri": "MLFLOW_TRACKING_URI",
    "mlflow_experiment": "MLFLOW_EXPERIMENT_NAME",
}


def defaults(folder: Path, name: str, env: Any) -> dict[str, Any]:
    """A sqlite database in the project folder; the experiment named after the notebook."""
    return {
        "mlflow_tracking_uri": "sqlite:///" + str(folder / "mlflow.db"),
        "mlflow_experiment": name,
    }


def validate(settings: dict[str, Any], folder: Path) -> None:
    """A relative sqlite path means the project folder, whoever calls (kernel or server)."""
    uri = str(settings["mlflow_tracking_uri"])
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        settings["mlflow_tracking_uri"] = "sqlite:///" + str(folder / uri[len("sqlite:///") :])


def owns_run(run: Any) -> bool:
    """An MLflow ``Run``/``ActiveRun`` or a run id string (anything not from wandb)."""
    return not type(run).__module__.startswith("wandb")


def anchors(store: Any, settings: dict[str, Any]) -> Any:
    from ._anchor import check_mlflow

    return check_mlflow(store, settings)


class MlflowTarget:
    name = "mlflow"

    def __init__(self, settings: dict[str, Any], run: Any = None) -> None:
        active = None if run is not None else active_run_on_main_thread()
        self.user_run_id = run_id_of(run) or (active.info.run_id if active else None)
        self.experiment_name = str(settings["mlflow_experiment"])
        #: where to connect (may hold a password); ``location`` is what is shown and stored
        self.uri = str(settings["mlflow_tracking_uri"])
        if self.user_run_id and sys.modules.get("mlflow") is not None:
            # the user's run lives where the user's mlflow points
            self.uri = sys.modules["mlflow"].get_tracking_uri()
        self.location = redact_uri(self.uri)
        self.client: Any = None
        self._experiments: dict[str, str] = {}

    @contextmanager
    def env(self) -> Iterator[None]:
        quiet = [logging.getLogger(n) for n in ("mlflow.store.db.utils", "alembic")]
        levels = [q.level for q in quiet]
        for q in quiet:  # "Creating initial MLflow database tables..." is noise here
            q.setLevel(logging.WARNING)
        try:
            with scoped_env(
                {
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                    "MLFLOW_HTTP_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S),
                    # MLflow prints "View run ... at: <tracking URI>" itself, password and
                    # all; the sync result shows the (redacted) link instead
                    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
                }
            ):
                yield
        finally:
            for q, level in zip(quiet, levels, strict=True):
                q.setLevel(level)

    def prepare(self) -> None:
        probe(self.uri)
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=self.uri)
        if self.user_run_id:
            run = self.client.get_run(self.user_run_id)
            self._experiments[self.user_run_id] = run.info.experiment_id

    def group(self, records: list[Any], ledger: Ledger, force: bool) -> list[Group]:
        """One group per evidence session, into the run the session already went to."""
        if self.user_run_id:
            return [Group(records, self.user_run_id, None)]
        groups: dict[str, Group] = {}
        for rec in records:
            done = ledger.get(self.name, self.location, rec.id) if force else None
            run_id = (
                done.run_id
                if done
                else ledger.run_for_session(self.name, self.location, rec.session)
            )
            key = run_id or rec.session
            group = groups.setdefault(key, Group([], run_id, rec.session))
            group.records.append(rec)
            group.sessions.append(rec.session)
        return list(groups.values())

    def _experiment_id(self) -> str:
        if "" in self._experiments:
            return self._experiments[""]
        self._experiments[""] = found = self._find_or_create_experiment()
        return found

    def _find_or_create_experiment(self) -> str:
        client = self.client
        found = client.get_experiment_by_name(self.experiment_name)
        if found is not None:
            return found.experiment_id
        location = None
        if mode_of(self.uri) == "sqlite":
            db = Path(self.uri[len("sqlite:///") :])
            location = (db.parent / "mlartifacts").as_uri()
        try:
            return client.create_experiment(
                self.experiment_name,
                artifact_location=location,
                tags={"vl.source": "vl_jupyter"},
            )
        except Exception:  # created meanwhile by someone else
            found = client.get_experiment_by_name(self.experiment_name)
            if found is None:
                raise
            return found.experiment_id

    def url(self, experiment_id: str, run_id: str) -> str:
        return f"{self.location.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"

    def log(
        self, group: Group, bundle: Bundle, on_created: Callable[[str], None]
    ) -> tuple[str, str]:
        from mlflow.entities import Metric, Param, RunTag

        client = self.client
        own = group.run_id is None or group.run_id != self.user_run_id
        run_id = group.run_id
        if run_id is None:
            tags = {"vl.source": "vl_jupyter", "vl.evidence.session": group.name or ""}
            if bundle.intent:
                tags[_intent_tag(bundle.intent)] = "started"
            existing = client.create_run(
                self._experiment_id(),
                run_name=run_name(group.records, f"vl-{group.name}" if group.name else None),
                tags=tags,
            )
            run_id = existing.info.run_id
            on_created(run_id)
        else:
            existing = client.get_run(run_id)
        self._experiments[run_id] = existing.info.experiment_id
        params = dict(bundle.params)
        tags = dict(bundle.tags)
        for key, value in params.items():
            # params are immutable in MLflow: keep the first, put the newest in a tag
            tags[key] = value
        params = {k: v for k, v in params.items() if k not in existing.data.params}
        metrics = [Metric(m.key, m.value, m.timestamp_ms, m.step) for m in bundle.metrics]
        param_list = [Param(k, v) for k, v in params.items()]
        tag_list = [RunTag(k, v[:5000]) for k, v in tags.items()]
        for batch in _batches(metrics, param_list, tag_list):
            client.log_batch(run_id, *batch, synchronous=True)
        with tempfile.TemporaryDirectory(prefix="vl-sync-") as tmp:
            client.log_artifacts(run_id, str(bundle.write(Path(tmp))))
        if bundle.intent:  # last: the run now holds everything this intent announced
            client.set_tag(run_id, _intent_tag(bundle.intent), "done")
        if own and existing.info.status != "FINISHED":
            client.set_terminated(run_id, "FINISHED")
        return run_id, self.url(self._experiments[run_id], run_id)

    def intent_run(self, intent: str, run_id: str | None) -> str | None:
        """The run that holds intent ``intent`` completely logged, or None: ``run_id`` if
        known (the intent or the open-runs file named it), else searched by the tag."""
        client = self.client
        if run_id is None:
            experiments = [e.experiment_id for e in client.search_experiments()]
            found = (
                client.search_runs(experiments, f"tags.`{_intent_tag(intent)}` LIKE '%'")
                if experiments
                else []
            )
            if not found:
                return None
            run_id = found[0].info.run_id
        try:
            run = client.get_run(run_id)
        except Exception:
            return None
        return run_id if run.data.tags.get(_intent_tag(intent)) == "done" else None

    def run_url(self, run_id: str) -> str:
        return self.url(self.client.get_run(run_id).info.experiment_id, run_id)

    def close_run(self, run_id: str) -> None:
        """Finish a run of ours that a killed sync left RUNNING (never the user's run)."""
        if run_id != self.user_run_id and self.client.get_run(run_id).info.status == "RUNNING":
            self.client.set_terminated(run_id, "FINISHED")

    def messages(self) -> list[str]:
        return []


def _intent_tag(intent: str) -> str:
    return f"vl.sync.intent.{intent}"


def _batches(metrics: list[Any], params: list[Any], tags: list[Any]) -> list[tuple]:
    """Split into log_batch calls within MLflow's per-call limits."""
    out: list[tuple] = []
    while params or tags:
        p, params = params[:_MAX_PARAMS], params[_MAX_PARAMS:]
        t, tags = tags[:_MAX_TAGS], tags[_MAX_TAGS:]
        room = _MAX_TOTAL - len(p) - len(t)
        m, metrics = metrics[:room], metrics[room:]
        out.append((m, p, t))
    while metrics:
        m, metrics = metrics[:_MAX_METRICS], metrics[_MAX_METRICS:]
        out.append((m, [], []))
    return out
