"""Exactly once per (record, target): a sync process killed with SIGKILL at the worst
moments, against the session's real ``mlflow server``, then synced again (from another
working directory): one run per session, FINISHED, each record ledgered once."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vl_jupyter import evidence
from vl_jupyter.trackers import sync

pytest.importorskip("mlflow")
from mlflow import MlflowClient

pytestmark = pytest.mark.slow

# The syncing child kills itself (SIGKILL: no cleanup, no finally) at a chosen point.
CHILD = """
import os, signal, sys
from vl_jupyter.trackers import _mlflow
where, root = sys.argv[1], sys.argv[2]
real_log, real_artifacts = _mlflow.MlflowTarget.log, None

def log(self, group, bundle, on_created):
    if where == "mid-log":  # the run exists and has metrics, no artifacts, no done tag
        from mlflow import MlflowClient
        def die(*a, **k):
            os.kill(os.getpid(), signal.SIGKILL)
        MlflowClient.log_artifacts = die
    out = real_log(self, group, bundle, on_created)
    if where == "after-log":  # everything is in the run; the ledger never heard of it
        os.kill(os.getpid(), signal.SIGKILL)
    return out

_mlflow.MlflowTarget.log = log
import vl_jupyter.trackers as t
t.sync("mlflow", evidence_dir=root, progress=False)
"""


def _evidence(root: Path) -> list[str]:
    for i in range(2):
        evidence.append("review", {"i": i}, root=root, session="sess-a",
                        summary={"decision": "accept_risk"})  # fmt: skip
    return [r.id for r in evidence.records(root=root)][::-1]


def _logged(root: Path) -> list:
    return [r for r in evidence.records("sync", root=root) if r.summary.get("state") != "intent"]


@pytest.mark.parametrize("where", ["after-log", "mid-log"])
def test_a_sync_killed_with_sigkill_is_finished_exactly_once(
    where, tmp_path, monkeypatch, mlflow_server
):
    project = tmp_path / "project"
    project.mkdir()
    root = project / ".venturalitica"
    ids = _evidence(root)
    experiment = f"kill-{where}-{tmp_path.name}"
    env_uri = {"MLFLOW_TRACKING_URI": mlflow_server.url, "MLFLOW_EXPERIMENT_NAME": experiment}
    for key, value in env_uri.items():
        monkeypatch.setenv(key, value)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, where, str(root)], cwd=project, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert _logged(root) == []  # killed before the ledger heard of the run
    client = MlflowClient(mlflow_server.url)
    exp = client.get_experiment_by_name(experiment)
    (orphan,) = client.search_runs([exp.experiment_id])
    # what the kill left: a run the ledger does not know (RUNNING if killed mid-log)
    assert orphan.info.status == ("RUNNING" if where == "mid-log" else "FINISHED")
    # sync again, from another working directory (its name would be the default
    # experiment): the records go to the run the killed sync made, not a new one
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME")
    result = sync("mlflow", evidence_dir=root, progress=False)
    again = sync("mlflow", evidence_dir=root, progress=False)
    assert again.synced == [] and sorted(again.skipped) == sorted(ids)
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.run_id for r in runs] == [orphan.info.run_id]
    assert runs[0].info.status == "FINISHED"
    assert client.get_experiment_by_name(elsewhere.name) is None
    ledgered = [rid for rec in _logged(root) for rid in rec.data["records"]]
    assert sorted(ledgered) == sorted(ids)  # each record exactly once
    if where == "after-log":  # confirmed from the run's intent tag: not logged again
        assert result.synced == []
        assert any("recorded as synced (not logged again)" in m for m in result.messages)
        tags = client.get_run(orphan.info.run_id).data.tags
        assert [v for k, v in tags.items() if k.startswith("vl.sync.intent.")] == ["done"]
    else:  # the run never got its artifacts: logged again, into the same run
        assert sorted(s.record_id for s in result.synced) == sorted(ids)
        assert {s.run_id for s in result.synced} == {orphan.info.run_id}
        files = [f.path for f in client.list_artifacts(orphan.info.run_id, "vl_evidence")]
        assert "vl_evidence/report.html" in files
    assert evidence.verify(root=root).ok
